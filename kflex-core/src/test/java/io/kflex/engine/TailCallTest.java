package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class TailCallTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final int TAIL_CALL = 12; // Linux's bpf_tail_call
    private static final int COUNT = 100;

    /** bpf_tail_call(ctx, prog_array, index) over a list of programs; -1 when the index or the limit fails. */
    private static HelperTable helpers(List<Executable> programs, AtomicInteger entries) {
        return HelperTable.builder()
                .add(TAIL_CALL, "bpf_tail_call", (inv, ctx, map, index, unused4, unused5) -> {
                    if (index < 0 || index >= programs.size()) return -1;
                    return inv.requestTailCall((TailCallable) programs.get((int) index), ctx) ? 0 : -1;
                })
                .add(COUNT, "count", (inv, a, b, c, d, f) -> entries.incrementAndGet())
                .build();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aTailCallContinuesInTheTargetWithTheSameContext(Engine e) {
        List<Executable> programs = new ArrayList<>();
        AtomicInteger entries = new AtomicInteger();
        HelperTable helpers = helpers(programs, entries);
        // target: r0 = *(u64 *)(ctx + 0) + stack slot (which must be zero: fresh stack) + 1000
        Code target = code(ldx(Size.DW, 0, 1, 0), ldx(Size.DW, 2, 10, -8), addr(0, 2), add(0, 1000), exit());
        // caller: dirties its stack, calls a subprogram which tail-calls; returning means failure.
        Code caller = code(
                /* 0 */ st(Size.DW, 10, -8, 55),
                /* 1 */ callLocal(2),          // -> 4
                /* 2 */ mov(0, -7),
                /* 3 */ exit(),
                /* 4 */ mov(2, 0),
                /* 5 */ mov(3, 1),
                /* 6 */ call(TAIL_CALL),
                /* 7 */ mov(0, -8),
                /* 8 */ exit());
        programs.add(Runs.load(e, caller, helpers));
        programs.add(Runs.load(e, target, helpers));

        AddressSpace memory = new AddressSpace();
        MemorySegment ctx = MemorySegment.ofArray(new long[] {42});
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, false, "ctx"));
        Invocation invocation = new Invocation(memory, ctxAddress);
        assertThat(programs.get(0).run(invocation)).isEqualTo(new Outcome.Returned(1042));
        assertThat(invocation.tailCallCount()).isEqualTo(1);
        // Only the context is still mapped: both stacks were released.
        long probe = memory.map(new Region(Region.Kind.MEMORY, MemorySegment.ofArray(new byte[1]), false, "probe"));
        assertThat(probe >>> 32).isEqualTo(2);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aTailCallInAnAddressSpaceMadeForOneRunLeavesTheThreadItsStack(Engine e) {
        List<Executable> programs = new ArrayList<>();
        HelperTable helpers = helpers(programs, new AtomicInteger());
        programs.add(Runs.load(e, code(mov(3, 1), call(TAIL_CALL), mov(0, -8), exit()), helpers));
        programs.add(Runs.load(e, code(st(Size.DW, 10, -8, 1), mov(0, 7), exit()), helpers));
        Region spare;
        try (Stack.Mapped probe = Stack.mapInto(new AddressSpace())) {
            spare = probe.region();
        }
        for (int i = 0; i < 3; i++) {
            // Two stacks mapped in one run (the caller's, the target's): still the thread's region.
            assertThat(programs.get(0).run(new Invocation(new AddressSpace()))).isEqualTo(new Outcome.Returned(7));
            try (Stack.Mapped probe = Stack.mapInto(new AddressSpace())) {
                assertThat(probe.region()).as("run %d", i).isSameAs(spare);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aFailedTailCallReturnsToTheProgram(Engine e) {
        List<Executable> programs = new ArrayList<>();
        HelperTable helpers = helpers(programs, new AtomicInteger());
        Code code = code(mov(3, 9), call(TAIL_CALL), alu64(io.kflex.isa.AluOp.MUL, 0, 3), exit());
        programs.add(Runs.load(e, code, helpers));
        assertThat(programs.get(0).run(new Invocation(new AddressSpace()))).isEqualTo(new Outcome.Returned(-3));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void atMost33TailCallsPerInvocation(Engine e) {
        List<Executable> programs = new ArrayList<>();
        AtomicInteger entries = new AtomicInteger();
        HelperTable helpers = helpers(programs, entries);
        // Counts its entries, then tail-calls itself; once that fails it returns the helper's result.
        Code self = code(
                /* 0 */ movr(6, 1),
                /* 1 */ call(COUNT),
                /* 2 */ movr(1, 6),
                /* 3 */ mov(2, 0),
                /* 4 */ mov(3, 0),
                /* 5 */ call(TAIL_CALL),
                /* 6 */ exit());
        programs.add(Runs.load(e, self, helpers));
        Invocation invocation = new Invocation(new AddressSpace(), 5);
        assertThat(programs.get(0).run(invocation)).isEqualTo(new Outcome.Returned(-1));
        assertThat(entries.get()).isEqualTo(1 + RuntimeLimits.MAX_TAIL_CALLS);
        assertThat(invocation.tailCallCount()).isEqualTo(RuntimeLimits.MAX_TAIL_CALLS);

        // The count starts afresh for the next run, which is a new invocation: an invocation runs once.
        assertThatThrownBy(() -> programs.get(0).run(invocation)).isInstanceOf(IllegalStateException.class);
        entries.set(0);
        Invocation next = invocation.forNextRun();
        assertThat(programs.get(0).run(next)).isEqualTo(new Outcome.Returned(-1));
        assertThat(entries.get()).isEqualTo(1 + RuntimeLimits.MAX_TAIL_CALLS);
        assertThat(next.tailCallCount()).isEqualTo(RuntimeLimits.MAX_TAIL_CALLS);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aTailCallTargetThatFaultsReportsTheFault(Engine e) {
        List<Executable> programs = new ArrayList<>();
        HelperTable helpers = helpers(programs, new AtomicInteger());
        Code caller = code(mov(3, 1), call(TAIL_CALL), exit());
        Code target = code(mov(1, 0), jmp(JumpOp.JEQ, 1, 0, 0), ldx(Size.B, 0, 1, 0), exit());
        programs.add(Runs.load(e, caller, helpers));
        programs.add(Runs.load(e, target, helpers));
        assertThat(programs.get(0).run(new Invocation(new AddressSpace())))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(2));
    }
}
