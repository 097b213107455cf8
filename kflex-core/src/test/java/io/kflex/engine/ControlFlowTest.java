package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static io.kflex.engine.Runs.r0;
import static io.kflex.engine.Runs.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ControlFlowTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    /** 1 when {@code if r1 op r2} is taken (64-bit, register form), else 0. */
    private static long taken(Engine e, boolean wide, JumpOp op, long a, long b) {
        Code code = code(mov(0, 1), wide ? jmpr(op, 1, 2, 1) : jmp32r(op, 1, 2, 1), mov(0, 0), exit());
        return r0(e, code, a, b);
    }

    private static long takenImm(Engine e, boolean wide, JumpOp op, long a, int imm) {
        Code code = code(mov(0, 1), wide ? jmp(op, 1, imm, 1) : jmp32(op, 1, imm, 1), mov(0, 0), exit());
        return r0(e, code, a);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void conditionalJumps(Engine e) {
        assertThat(taken(e, true, JumpOp.JEQ, 5, 5)).isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JNE, 5, 5)).isZero();
        assertThat(taken(e, true, JumpOp.JGT, -1L, 1)).as("unsigned").isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JSGT, -1L, 1)).as("signed").isZero();
        assertThat(taken(e, true, JumpOp.JGE, 3, 3)).isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JLT, 1, -1L)).isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JLE, 4, 3)).isZero();
        assertThat(taken(e, true, JumpOp.JSLT, Long.MIN_VALUE, Long.MAX_VALUE)).isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JSLE, -2, -2)).isEqualTo(1);
        assertThat(taken(e, true, JumpOp.JSGE, -3, -2)).isZero();
        assertThat(taken(e, true, JumpOp.JSET, 0b1010, 0b0101)).isZero();
        assertThat(taken(e, true, JumpOp.JSET, 0x1_0000_0000L, 0x1_0000_0000L)).isEqualTo(1);
        // The immediate is sign-extended to 64 bits.
        assertThat(takenImm(e, true, JumpOp.JEQ, -1L, -1)).isEqualTo(1);
        assertThat(takenImm(e, true, JumpOp.JEQ, 0xffff_ffffL, -1)).isZero();
        assertThat(takenImm(e, true, JumpOp.JGT, 0xffff_ffffL, -1)).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void jmp32ComparesOnlyTheLowWords(Engine e) {
        assertThat(taken(e, false, JumpOp.JEQ, 0x1_0000_0005L, 0x2_0000_0005L)).isEqualTo(1);
        assertThat(taken(e, false, JumpOp.JSLT, 0x0_8000_0000L, 0)).as("low word is INT_MIN").isEqualTo(1);
        assertThat(taken(e, false, JumpOp.JGT, 0x0_8000_0000L, 0x7fff_ffffL)).isEqualTo(1);
        assertThat(taken(e, false, JumpOp.JSET, 0xffff_ffff_0000_0000L, -1L)).isZero();
        assertThat(takenImm(e, false, JumpOp.JEQ, 0xffff_ffffL, -1)).isEqualTo(1);
        assertThat(takenImm(e, false, JumpOp.JSGE, 0x7fff_ffff_ffff_ffffL, 0)).as("low word is -1").isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void unconditionalJumpsForwardAndBackward(Engine e) {
        Code ja = code(mov(0, 1), ja(1), mov(0, 2), exit());
        assertThat(r0(e, ja)).isEqualTo(1);
        Code ja32 = code(mov(0, 1), ja32(2), mov(0, 2), mov(0, 3), exit());
        assertThat(r0(e, ja32)).isEqualTo(1);
        // sum = 10 + 9 + ... + 1 with a backward conditional branch
        Code loop = code(mov(0, 0), mov(1, 10), addr(0, 1), add(1, -1), jmp(JumpOp.JNE, 1, 0, -3), exit());
        assertThat(r0(e, loop)).isEqualTo(55);
        Code backwardJa32 = code(mov(0, 0), ja(2), exit(), exit(), add(0, 7), ja32(-4));
        assertThat(r0(e, backwardJa32)).isEqualTo(7);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void fallingOffTheEndFaults(Engine e) {
        assertThat(run(e, code(mov(0, 1), mov(0, 2)))).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(1);
            assertThat(f.reason()).contains("fell off");
        });
        assertThat(run(e, code(mov(0, 0), jmp(JumpOp.JEQ, 0, 0, 1), exit(), mov(0, 3))))
                .isInstanceOf(Outcome.Faulted.class);
    }

    /** f(n) = n == 0 ? 0 : f(n - 1) + 1, called from main with n = r1. */
    private static Code recursion() {
        return code(
                /* 0 */ callLocal(1),
                /* 1 */ exit(),
                /* 2 */ jmp(JumpOp.JEQ, 1, 0, 4),
                /* 3 */ add(1, -1),
                /* 4 */ callLocal(-3),
                /* 5 */ add(0, 1),
                /* 6 */ exit(),
                /* 7 */ mov(0, 0),
                /* 8 */ exit());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void callDepthIsLimitedToEightFrames(Engine e) {
        assertThat(r0(e, recursion(), 6)).as("main + 7 frames of f").isEqualTo(6);
        assertThat(run(e, recursion(), 7)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(4);
            assertThat(f.reason()).isEqualTo("call depth exceeds 8");
        });
    }

    @ParameterizedTest
    @MethodSource("engines")
    void callsPassR1ToR5AndPreserveR6ToR10(Engine e) {
        Code code = code(
                /* 0 */ mov(6, 6), mov(7, 7), mov(8, 8), mov(9, 9),
                /* 4 */ st(Size.DW, 10, -8, 1000),
                /* 5 */ mov(1, 1), mov(2, 2), mov(3, 3), mov(4, 4), mov(5, 5),
                /* 10 */ callLocal(10),                 // -> 21
                /* 11 */ movr(1, 0),                    // sum of arguments seen by the callee
                /* 12 */ addr(1, 6), addr(1, 7), addr(1, 8), addr(1, 9),
                /* 16 */ ldx(Size.DW, 2, 10, -8),       // still the caller's slot
                /* 17 */ addr(1, 2),
                /* 18 */ movr(0, 1),
                /* 19 */ exit(),
                /* 20 */ exit(),
                /* 21 */ mov(6, 100), mov(7, 100), mov(8, 100), mov(9, 100),
                /* 25 */ st(Size.DW, 10, -8, 5000),     // the callee's own frame
                /* 26 */ movr(0, 1), addr(0, 2), addr(0, 3), addr(0, 4), addr(0, 5),
                /* 31 */ exit());
        assertThat(r0(e, code)).isEqualTo(15 + 30 + 1000);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void eachFrameHasItsOwnFramePointer(Engine e) {
        Code code = code(
                /* 0 */ movr(6, 10),
                /* 1 */ callLocal(3),       // -> 5
                /* 2 */ alu64r(AluOp.SUB, 6, 0),
                /* 3 */ movr(0, 6),
                /* 4 */ exit(),
                /* 5 */ movr(0, 10),
                /* 6 */ exit());
        assertThat(r0(e, code)).isEqualTo(RuntimeLimits.STACK_FRAME_SIZE);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void helpersReceiveArgumentsAndReturnR0(Engine e) {
        HelperTable helpers = HelperTable.builder()
                .add(7, "weigh", (inv, a, b, c, d, f) -> a + 2 * b + 3 * c + 4 * d + 5 * f)
                .build();
        Code code = code(mov(1, 1), mov(2, 1), mov(3, 1), mov(4, 1), mov(5, 1), call(7), exit());
        assertThat(r0(e, code, helpers)).isEqualTo(15);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void helperFailuresBecomeFaults(Engine e) {
        HelperTable helpers = HelperTable.builder()
                .add(1, "refuse", (inv, a, b, c, d, f) -> { throw new ExtensionFault("no such key"); })
                .add(2, "broken", (inv, a, b, c, d, f) -> { throw new IllegalStateException("host bug"); })
                .add(3, "deep", (inv, a, b, c, d, f) -> { throw new StackOverflowError(); })
                .build();
        assertThat(run(e, code(mov(0, 0), call(1), exit()), helpers)).isEqualTo(new Outcome.Faulted(1, "no such key"));
        assertThat(run(e, code(call(2), exit()), helpers)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isZero();
            assertThat(f.reason()).contains("host bug");
        });
        assertThat(run(e, code(call(3), exit()), helpers)).isInstanceOf(Outcome.Faulted.class);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void unresolvedCallsAndPseudoLoadsFaultWhenExecuted(Engine e) {
        assertThat(run(e, code(mov(0, 0), call(4242), exit()))).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(1);
            assertThat(f.reason()).contains("4242");
        });
        assertThat(run(e, code(callKfunc(77), exit()))).isInstanceOfSatisfying(Outcome.Faulted.class,
                f -> assertThat(f.reason()).contains("kfunc").contains("77").contains("not bound"));
        assertThat(run(e, code(mov(0, 0), lddwPseudo(1, LoadImm64.MAP_FD, 3), exit()))).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(1);
            assertThat(f.reason()).contains("map_fd");
        });
        // Not executed: no fault.
        assertThat(r0(e, code(mov(0, 9), exit(), call(4242), callKfunc(1), exit()))).isEqualTo(9);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void callxCallsAFunctionPointer(Engine e) {
        Code code = code(
                /* 0 */ lddwFunc(2, 5), // -> slot 0 + 1 + 5 = 6
                /* 2 */ mov(1, 5),
                /* 3 */ mov(6, 1),
                /* 4 */ callx(2),
                /* 5 */ exit(),
                /* 6 */ movr(0, 1), add(0, 1), mov(6, 0), exit());
        assertThat(r0(e, code)).isEqualTo(6);
        Code pointer = code(lddwFunc(0, 1), exit(), exit());
        assertThat(r0(e, pointer)).isEqualTo(FunctionPointers.of(2));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void callxOnAnythingElseCallsTheHelperWithThatNumber(Engine e) {
        HelperTable helpers = HelperTable.builder().add(5, "twice", (inv, a, b, c, d, f) -> 2 * a).build();
        assertThat(r0(e, code(mov(1, 21), mov(2, 5), callx(2), exit()), helpers)).isEqualTo(42);
        assertThat(run(e, code(mov(2, 6), callx(2), exit()), helpers)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(1);
            assertThat(f.reason()).contains("0x6");
        });
        assertThat(run(e, code(mov(2, -1), callx(2), exit()), helpers)).isInstanceOf(Outcome.Faulted.class);
        // A code-window value naming no subprogram entry.
        Code bogus = code(lddw(2, FunctionPointers.of(1)), callx(2), exit());
        assertThat(run(e, bogus, helpers)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(2));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void functionPointersCannotBeDereferenced(Engine e) {
        Code code = code(lddwFunc(1, 2), ldx(Size.B, 0, 1, 0), exit(), exit());
        assertThat(run(e, code)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(2));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void lddwFuncOutsideTheProgramIsRefusedAtLoad(Engine e) {
        Code code = code(lddwFunc(1, 40), exit());
        assertThatThrownBy(() -> e.load(code, Bindings.of(HelperTable.empty())))
                .isInstanceOf(EngineException.class)
                .hasMessageContaining("lddw");
    }

    /** Counts may_goto fall-throughs: r0 = iterations before the budget ran out. */
    private static Code mayGotoLoop() {
        return code(
                /* 0 */ mov(0, 0),
                /* 1 */ mayGoto(2),   // -> 4 when exhausted
                /* 2 */ add(0, 1),
                /* 3 */ ja(-3),       // -> 1
                /* 4 */ exit());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void mayGotoJumpsOnceTheBudgetIsExhausted(Engine e) {
        Executable program = Runs.load(e, mayGotoLoop(), HelperTable.empty());
        assertThat(program.run(new Invocation(new AddressSpace()).withLoopBudget(10))).isEqualTo(new Outcome.Returned(10));
        assertThat(program.run(new Invocation(new AddressSpace()).withLoopBudget(0))).isEqualTo(new Outcome.Returned(0));
        assertThat(program.run(new Invocation(new AddressSpace()))).isEqualTo(new Outcome.Returned(RuntimeLimits.DEFAULT_LOOP_BUDGET));
    }

    /**
     * The may_goto budget is the run's, shared by every frame: a loop whose iterations each call a
     * subprogram that spends one more unit runs half as many times, and a subprogram called after
     * the loop finds the budget gone.
     */
    @ParameterizedTest
    @MethodSource("engines")
    @org.junit.jupiter.api.Timeout(value = 30, threadMode = org.junit.jupiter.api.Timeout.ThreadMode.SEPARATE_THREAD) // a budget lost between frames never runs out
    void theMayGotoBudgetIsSharedByEveryFrame(Engine e) {
        Code code = code(
                /* 0 */ mov(6, 0),
                /* 1 */ mayGoto(3),     // -> 5 when exhausted
                /* 2 */ add(6, 1),
                /* 3 */ callLocal(6),   // -> 10: spends one unit if any is left
                /* 4 */ ja(-4),         // -> 1
                /* 5 */ callLocal(4),   // -> 10 again, after the loop
                /* 6 */ movr(7, 0),
                /* 7 */ movr(0, 6),
                /* 8 */ addr(0, 7),
                /* 9 */ exit(),
                /* 10 */ mayGoto(2),    // -> 13 when exhausted
                /* 11 */ mov(0, 0),
                /* 12 */ exit(),
                /* 13 */ mov(0, 1000),
                /* 14 */ exit());
        for (long budget : new long[] {0, 1, 2, 9, 10, 11}) {
            // Each iteration spends one unit, its call another; the last call finds none left.
            long expected = (budget + 1) / 2 + 1000;
            Outcome outcome = Runs.load(e, code, HelperTable.empty()).run(new Invocation(new AddressSpace()).withLoopBudget(budget));
            assertThat(outcome).as("budget %d", budget).isEqualTo(new Outcome.Returned(expected));
        }
    }
}
