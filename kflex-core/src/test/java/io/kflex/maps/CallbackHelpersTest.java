package io.kflex.maps;

import static io.kflex.engine.Asm.*;
import static io.kflex.maps.MapHarness.r0;
import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code bpf_loop} and {@code bpf_for_each_map_elem}: helpers that call back into the program. */
class CallbackHelpersTest {
    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final int LOOP = 181, FOR_EACH = 164;

    /** r1 = n, r2 = stop index: returns (sum of the indexes the callback saw) * 1000 + bpf_loop's result. */
    private static Code sumLoop() {
        return code(
                /* 0 */ st(Size.DW, 10, -16, 0),              // sum
                /* 1 */ stx(Size.DW, 10, 2, -8),              // stop index
                /* 2 */ lddwFunc(2, 9),                        // -> 2 + 1 + 9 = 12
                /* 4 */ movr(3, 10),
                /* 5 */ add(3, -16),
                /* 6 */ mov(4, 0),
                /* 7 */ call(LOOP),
                /* 8 */ ldx(Size.DW, 1, 10, -16),
                /* 9 */ alu64(AluOp.MUL, 1, 1000),
                /* 10 */ addr(0, 1),
                /* 11 */ exit(),
                // callback(index r1, ctx r2): sum += index; return index == stop
                /* 12 */ ldx(Size.DW, 3, 2, 0),
                /* 13 */ addr(3, 1),
                /* 14 */ stx(Size.DW, 2, 3, 0),
                /* 15 */ ldx(Size.DW, 4, 2, 8),
                /* 16 */ mov(0, 0),
                /* 17 */ jmpr(JumpOp.JNE, 1, 4, 1),
                /* 18 */ mov(0, 1),
                /* 19 */ exit());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bpfLoopRunsTheCallbackAndStopsEarly(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        Executable p = h.load(e, sumLoop(), h.maps());
        assertThat(r0(h.run(p, 10, 99))).isEqualTo(45 * 1000 + 10);
        assertThat(r0(h.run(p, 10, 3))).as("stops after index 3").isEqualTo(6 * 1000 + 4);
        assertThat(r0(h.run(p, 0, 99))).isZero();
        assertThat(r0(h.run(p, (1 << 23) + 1, 0))).isEqualTo(-Errno.E2BIG);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aFaultInACallbackFaultsTheProgramAtTheCallbacksInstruction(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        Code code = code(
                /* 0 */ lddwFunc(2, 7),   // -> 8
                /* 2 */ mov(1, 3),
                /* 3 */ mov(3, 0),
                /* 4 */ mov(4, 0),
                /* 5 */ call(LOOP),
                /* 6 */ mov(0, 7),
                /* 7 */ exit(),
                /* 8 */ jmp(JumpOp.JNE, 1, 2, 2),   // index 2 reads NULL
                /* 9 */ ldx(Size.DW, 0, 2, 0),
                /* 10 */ exit(),
                /* 11 */ mov(0, 0),
                /* 12 */ exit());
        Executable p = h.load(e, code, h.maps());
        assertThat(h.run(p)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(9));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void callbacksCountTowardsTheFrameLimit(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        // The callback calls bpf_loop on itself: frames pile up until the 9th is refused.
        Code code = code(
                /* 0 */ mov(1, 1),
                /* 1 */ lddwFunc(2, 7),   // -> 9
                /* 3 */ mov(3, 0),
                /* 4 */ mov(4, 0),
                /* 5 */ call(LOOP),
                /* 6 */ exit(),
                /* 7 */ exit(),
                /* 8 */ exit(),
                /* 9 */ mov(1, 1),
                /* 10 */ lddwFunc(2, -2), // -> 9
                /* 12 */ mov(3, 0),
                /* 13 */ mov(4, 0),
                /* 14 */ call(LOOP),
                /* 15 */ exit());
        Executable p = h.load(e, code, h.maps());
        assertThat(h.run(p)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.reason()).contains("call depth exceeds 8");
            assertThat(f.pc()).isEqualTo(14);
        });
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aCallbackThatSpinsIsCancelled(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        Code spin = code(
                /* 0 */ mov(1, 1),
                /* 1 */ lddwFunc(2, 6),   // -> 8
                /* 3 */ mov(3, 0),
                /* 4 */ mov(4, 0),
                /* 5 */ call(LOOP),
                /* 6 */ mov(0, 0),
                /* 7 */ exit(),
                /* 8 */ ja(-1));
        Executable p = h.load(e, spin, h.maps());
        Invocation inv = new Invocation(new AddressSpace(h.regions));
        Thread canceller = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException ignored) {
                return;
            }
            inv.requestCancel("budget exceeded");
        });
        Outcome outcome = p.run(inv);
        canceller.join();
        assertThat(outcome).isInstanceOfSatisfying(Outcome.Cancelled.class, c -> {
            assertThat(c.pc()).isEqualTo(8);
            assertThat(c.reason()).isEqualTo("budget exceeded");
        });

        // A callback without loops: bpf_loop itself observes the request between iterations.
        Executable quiet = h.load(e, code(mov(1, 1 << 23), lddwFunc(2, 6), mov(3, 0), mov(4, 0), call(LOOP), exit(), exit(),
                /* 8 */ mov(0, 0), exit()), h.maps());
        Invocation cancelled = new Invocation(new AddressSpace(h.regions));
        cancelled.requestCancel("stop");
        assertThat(quiet.run(cancelled)).isInstanceOfSatisfying(Outcome.Cancelled.class, c -> assertThat(c.pc()).isEqualTo(5));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void forEachMapElemVisitsKeysAndLiveValues(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("h", MapSpec.HASH, 4, 8, 8, 0), MapSpec.of("a", MapSpec.ARRAY, 4, 8, 3, 0));
        BpfMap hash = maps.get(0);
        for (int k = 1; k <= 3; k++) hash.update(u32(k), u64(10L * k), BpfMap.BPF_ANY);
        // ctx = sum of key * 1000 + value; each value += 1; returns sum * 100 + visited.
        Code code = code(
                /* 0 */ st(Size.DW, 10, -8, 0),
                /* 1 */ lddwPseudo(1, io.kflex.isa.Instruction.LoadImm64.MAP_IDX, 0),
                /* 3 */ lddwFunc(2, 9),   // -> 3 + 1 + 9 = 13
                /* 5 */ movr(3, 10),
                /* 6 */ add(3, -8),
                /* 7 */ mov(4, 0),
                /* 8 */ call(FOR_EACH),
                /* 9 */ ldx(Size.DW, 1, 10, -8),
                /* 10 */ alu64(AluOp.MUL, 1, 100),
                /* 11 */ addr(0, 1),
                /* 12 */ exit(),
                // callback(map r1, key r2, value r3, ctx r4)
                /* 13 */ ldx(Size.W, 5, 2, 0),
                /* 14 */ alu64(AluOp.MUL, 5, 1000),
                /* 15 */ ldx(Size.DW, 6, 3, 0),
                /* 16 */ addr(5, 6),
                /* 17 */ add(6, 1),
                /* 18 */ stx(Size.DW, 3, 6, 0),
                /* 19 */ ldx(Size.DW, 6, 4, 0),
                /* 20 */ addr(6, 5),
                /* 21 */ stx(Size.DW, 4, 6, 0),
                /* 22 */ mov(0, 0),
                /* 23 */ exit());
        Executable p = h.load(e, code, maps);
        assertThat(r0(h.run(p))).isEqualTo((6000 + 60) * 100 + 3);
        assertThat(hash.entries()).extracting(en -> u64(en.value())).containsExactlyInAnyOrder(11L, 21L, 31L);
    }
}
