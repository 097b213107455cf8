package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the engines keep from one run to the next (the stack an address space keeps mapped, the
 * shared outcomes of small return values) never leaks between runs: each run in a reused
 * address space (each with its own invocation, as an invocation runs once) starts on a zeroed stack, runs on two threads or nested in one another never share
 * a stack, and a cancelled or faulted run leaves nothing in use behind it.
 */
class RunStateReuseTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final int YIELD = 100, NESTED = 101, CANCEL = 102;

    /** r0 = old *(r10 - 8) (must be 0: a fresh stack), then *(r10 - 8) = r1, a helper call, r0 += *(r10 - 8). */
    private static final Code READ_WRITE_READ = code(
            /* 0 */ ldx(Size.DW, 6, 10, -8),
            /* 1 */ stx(Size.DW, 10, 1, -8),
            /* 2 */ call(YIELD),
            /* 3 */ ldx(Size.DW, 0, 10, -8),
            /* 4 */ addr(0, 6),
            /* 5 */ exit());

    /** r0 = r10 (where the run's stack is). */
    private static final Code FRAME_POINTER = code(st(Size.DW, 10, -8, 99), movr(0, 10), exit());

    private static HelperTable helpers(AtomicReference<Runnable> nested) {
        return HelperTable.builder()
                .add(YIELD, "yield", (inv, a, b, c, d, f) -> {
                    Thread.yield();
                    return 0;
                })
                .add(NESTED, "nested", (inv, a, b, c, d, f) -> {
                    nested.get().run();
                    return 0;
                })
                .add(CANCEL, "cancel_me", (inv, a, b, c, d, f) -> {
                    inv.requestCancel("test");
                    return 0;
                })
                .build();
    }

    private static long r0(Outcome outcome) {
        assertThat(outcome).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void everyRunInAReusedAddressSpaceStartsOnAZeroedStackAtTheSameAddress(Engine e) {
        Executable program = Runs.load(e, READ_WRITE_READ, helpers(new AtomicReference<>()));
        Executable where = Runs.load(e, FRAME_POINTER, HelperTable.empty());
        Invocation invocation = new Invocation(new AddressSpace(), 55);
        for (int i = 0; i < 5; i++) assertThat(r0(program.run(invocation.forNextRun()))).as("run %d", i).isEqualTo(55);
        long fp = r0(where.run(invocation.forNextRun()));
        for (int i = 0; i < 3; i++) assertThat(r0(where.run(invocation.forNextRun()))).isEqualTo(fp);
        assertThat(r0(program.run(invocation.forNextRun()))).isEqualTo(55);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void fromItsSecondRunAnAddressSpaceKeepsTheStackRegionMappedAndTheThreadGetsAnother(Engine e) {
        Executable where = Runs.load(e, FRAME_POINTER, HelperTable.empty());
        AddressSpace memory = new AddressSpace();
        long first = r0(where.run(new Invocation(memory)));
        assertThat(memory.ownStackMapped).as("one run: the thread's region, given back").isNull();
        assertThat(memory.regionOf(first - 8)).as("unmapped after the run").isNull();
        long second = r0(where.run(new Invocation(memory)));
        Stack.Mapped kept = memory.ownStackMapped;
        assertThat(kept).isNotNull();
        assertThat(memory.ownStackInUse).isFalse();
        assertThat(memory.regionOf(second - 8)).as("the own stack stays mapped").isSameAs(kept.region());
        assertThat(r0(where.run(new Invocation(memory)))).as("at the same address").isEqualTo(second);
        assertThat(memory.ownStackMapped).isSameAs(kept);
        try (Stack.Mapped other = Stack.mapInto(new AddressSpace())) {
            assertThat(other.region()).as("the thread's new region").isNotSameAs(kept.region());
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(60)
    void runsOnTwoThreadsEachWithAReusedAddressSpaceNeverShareAStack(Engine e) throws Exception {
        Executable program = Runs.load(e, READ_WRITE_READ, helpers(new AtomicReference<>()));
        CyclicBarrier start = new CyclicBarrier(2);
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            List<Future<Long>> mismatches = new ArrayList<>();
            for (long t = 1; t <= 2; t++) {
                long mine = t * 1_000_003;
                mismatches.add(pool.submit(() -> {
                    Invocation invocation = new Invocation(new AddressSpace(), mine);
                    start.await();
                    long bad = 0;
                    for (int i = 0; i < 5_000; i++) {
                        Outcome outcome = program.run(invocation.forNextRun());
                        if (!(outcome instanceof Outcome.Returned r) || r.r0() != mine) bad++;
                    }
                    return bad;
                }));
            }
            for (Future<Long> bad : mismatches) assertThat(bad.get()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRunNestedInTheSameAddressSpaceGetsItsOwnStackAndTheOuterOneIsIntact(Engine e) {
        AtomicReference<Runnable> nested = new AtomicReference<>();
        HelperTable helpers = helpers(nested);
        // *(r10 - 8) = 77; nested(); r0 = *(r10 - 8)
        Executable outer = Runs.load(e, code(st(Size.DW, 10, -8, 77), call(NESTED), ldx(Size.DW, 0, 10, -8), exit()), helpers);
        Executable where = Runs.load(e, FRAME_POINTER, HelperTable.empty());
        Invocation invocation = new Invocation(new AddressSpace());
        long fp = r0(where.run(invocation.forNextRun()));
        assertThat(r0(where.run(invocation.forNextRun()))).as("the address space keeps its stack").isEqualTo(fp);

        List<Long> innerFramePointers = new ArrayList<>();
        // The same invocation, and another one on the same thread, while the outer run holds the stack.
        nested.set(() -> {
            innerFramePointers.add(r0(where.run(invocation.forNextRun())));
            innerFramePointers.add(r0(where.run(new Invocation(invocation.memory()))));
            innerFramePointers.add(r0(where.run(new Invocation(new AddressSpace()))));
        });
        assertThat(r0(outer.run(invocation.forNextRun()))).as("the nested runs wrote to stacks of their own").isEqualTo(77);
        assertThat(innerFramePointers.subList(0, 2)).doesNotContain(fp);
        // After the nesting, the outer stack is free again and still where it was.
        assertThat(r0(where.run(invocation.forNextRun()))).isEqualTo(fp);
        nested.set(() -> { });
        assertThat(r0(outer.run(invocation.forNextRun()))).isEqualTo(77);
        assertThat(r0(Runs.load(e, READ_WRITE_READ, helpers).run(new Invocation(invocation.memory(), 5)))).isEqualTo(5);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aCancelledOrFaultedRunLeavesTheStackFreeAndZeroedForTheNext(Engine e) {
        HelperTable helpers = helpers(new AtomicReference<>());
        // *(r10 - 8) = 1234; cancel_me(); for (;;) {}
        Executable spinner = Runs.load(e, code(st(Size.DW, 10, -8, 1234), call(CANCEL), mov(1, 0),
                jmp(JumpOp.JEQ, 1, 0, -2), mov(0, 0), exit()), helpers);
        // *(r10 - 8) = 4321; r0 = *(u64 *)(0): a fault
        Executable faulting = Runs.load(e, code(st(Size.DW, 10, -8, 4321), mov(1, 0), ldx(Size.DW, 0, 1, 0), exit()), helpers);
        Executable program = Runs.load(e, READ_WRITE_READ, helpers);
        Executable where = Runs.load(e, FRAME_POINTER, HelperTable.empty());
        AddressSpace memory = new AddressSpace();
        long fp = r0(where.run(new Invocation(memory)));
        assertThat(r0(where.run(new Invocation(memory)))).isEqualTo(fp);

        assertThat(spinner.run(new Invocation(memory))).isInstanceOf(Outcome.Cancelled.class);
        assertThat(r0(program.run(new Invocation(memory, 9)))).as("zeroed after a cancellation").isEqualTo(9);
        assertThat(faulting.run(new Invocation(memory))).isInstanceOf(Outcome.Faulted.class);
        assertThat(r0(program.run(new Invocation(memory, 8)))).as("zeroed after a fault").isEqualTo(8);
        assertThat(r0(where.run(new Invocation(memory)))).as("and still the same stack").isEqualTo(fp);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void twoAddressSpacesOnOneThreadNeverShareAStack(Engine e) {
        HelperTable helpers = helpers(new AtomicReference<>());
        // *(r10 - 16) += r1; r0 = *(r10 - 16): with a fresh stack, r1
        Executable program = Runs.load(e, code(ldx(Size.DW, 0, 10, -16), addr(0, 1), stx(Size.DW, 10, 0, -16), exit()), helpers);
        Invocation a = new Invocation(new AddressSpace(), 3), b = new Invocation(new AddressSpace(), 4);
        for (int i = 0; i < 4; i++) {
            assertThat(r0(program.run(a.forNextRun()))).isEqualTo(3);
            assertThat(r0(program.run(b.forNextRun()))).isEqualTo(4);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void smallAndLargeReturnValuesAreReportedExactly(Engine e) {
        for (long v : new long[] {-2, -1, 0, 1, 3, 255, 256, Long.MIN_VALUE, Long.MAX_VALUE}) {
            Outcome outcome = Runs.run(e, code(lddw(0, v), exit()));
            assertThat(outcome).isEqualTo(new Outcome.Returned(v));
        }
    }
}
