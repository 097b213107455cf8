package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.BoundedRuns;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Loops a verified program can spin in for a long time must reach a cancellation check: their
 * back-edges are not reported terminating, and a cancel request stops them on every engine. Each
 * program here once got a termination proof it did not deserve — its back-edge went unpolled and
 * a run ignored its cancel request (found by {@link VerifiedProgramsNeverFaultTest}, see
 * {@link RunawayProgramSearch}, for the first).
 */
class VerifiedLoopsStayCancellableTest {

    /** ktime_get_ns: a large clock, as on a host up for a while; get_prandom_u32: 0, the worst case for the bypass below. */
    private static final HelperTable HELPERS = HelperTable.builder()
            .add(5, "ktime_get_ns", (inv, a, b, c, d, e) -> 1L << 50)
            .add(7, "get_prandom_u32", (inv, a, b, c, d, e) -> 0)
            .build();

    static Iterable<Engine> engines() { return TestEngines.all(); }

    /**
     * The program the property hung on, minimised: an inner cycle 2 -> 3 -> 2 closed by a
     * {@code may_goto} sits in the body of the outer loop 1 -> 2 -> 1, but the outer cycle never
     * reaches it. A may_goto in the body was taken as the outer loop's proof.
     */
    static Code mayGotoOnAnInnerCycleOnly() {
        return new Asm().mov(0, 0)
                .label("outer").movr(9, 10)
                .label("inner").jmp32(JLE, 0, 8, "outer") // always taken
                .mayGoto("inner")
                .exit().build();
    }

    /** A may_goto the loop can branch around: with r0 == 0 every iteration skips it. */
    static Code mayGotoABranchBypasses() {
        return new Asm().call(7)
                .label("head").jmp(JEQ, 0, 0, "latch")
                .mayGoto("out")
                .label("latch").ja("head")
                .label("out").ret(0).build();
    }

    /** while (t) t--; from ktime_get_ns(): it does end, after 2^50 iterations here — days. */
    static Code countdownFromTheClock() {
        return new Asm().call(5).movr(1, 0)
                .label("head").jmp(JEQ, 1, 0, "out").sub(1, 1).ja("head")
                .label("out").ret(0).build();
    }

    /** Two nested 100,000-iteration loops: each short, together 10^10 iterations. */
    static Code nestedCountedLoops() {
        return new Asm().mov(6, 0).mov(0, 0)
                .label("outer").mov(7, 0)
                .label("inner").add(0, 1).add(7, 1).jmp(JLT, 7, 100_000, "inner")
                .add(6, 1).jmp(JLT, 6, 100_000, "outer").exit().build();
    }

    /** A 100,000-iteration loop calling a subprogram with a 100,000-iteration loop. */
    static Code countedLoopCallingACountedLoop() {
        return new Asm().mov(6, 0)
                .label("outer").callLocal("sub").add(6, 1).jmp(JLT, 6, 100_000, "outer").ret(0)
                .label("sub").mov(0, 0).mov(7, 0)
                .label("inner").add(0, 1).add(7, 1).jmp(JLT, 7, 100_000, "inner").exit().build();
    }

    private static VerifiedProgram verify(Code code) throws VerificationException {
        return Verifier.verify(code, ProgramType.SYSCALL, List.of(), VerifierOptions.defaults());
    }

    private static BackEdgeFact edgeTo(VerifiedProgram p, int head) {
        return p.backEdges().stream().filter(b -> b.to() == head).findFirst().orElseThrow(() -> new AssertionError(p.backEdges().toString()));
    }

    @Test
    void aMayGotoOnAnInnerCycleDoesNotProveTheOuterLoop() throws Exception {
        VerifiedProgram p = verify(mayGotoOnAnInnerCycleOnly());
        BackEdgeFact outer = edgeTo(p, 1);
        assertThat(outer.terminating()).as(outer.reason()).isFalse();
        assertThat(p.cancellationPoints()).contains(outer.from());
        // The inner loop is closed by the may_goto itself: that one is a check of its own.
        assertThat(edgeTo(p, 2).reason()).contains("may_goto");
    }

    @Test
    void aMayGotoABranchBypassesProvesNothing() throws Exception {
        VerifiedProgram p = verify(mayGotoABranchBypasses());
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).as(b.reason()).isFalse());
    }

    @Test
    void aMayGotoOnEveryPathStillProvesTheLoop() throws Exception {
        // The same loop without the bypass: every iteration passes the may_goto, which checks.
        VerifiedProgram p = verify(new Asm().call(7).label("head").jmp(JEQ, 0, 0, "step").label("step")
                .mayGoto("out").ja("head").label("out").ret(0).build());
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("may_goto on every path");
        });
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void aCountdownFromAnUnknownValueIsNotShortEnoughToGoUnchecked() throws Exception {
        VerifiedProgram p = verify(countdownFromTheClock());
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isFalse();
            assertThat(b.reason()).contains("R1 decreases").contains("too many");
        });
    }

    @Test
    void nestedCountedLoopsMultiplyTheirBounds() throws Exception {
        VerifiedProgram p = verify(nestedCountedLoops());
        // The outer loop alone is short (10^5 iterations); the inner one, inside it, is not.
        BackEdgeFact outer = edgeTo(p, 2), inner = edgeTo(p, 3);
        assertThat(outer.terminating()).as(outer.reason()).isTrue();
        assertThat(outer.reason()).contains("at most 99999 iterations");
        assertThat(inner.terminating()).isFalse();
        assertThat(inner.reason()).contains("R7 increases").contains("loops around it");
        assertThat(p.cancellationPoints()).containsExactly(inner.from());
    }

    @Test
    void aCountedLoopCallingOneMultipliesItsBound() throws Exception {
        VerifiedProgram p = verify(countedLoopCallingACountedLoop());
        BackEdgeFact caller = edgeTo(p, 1), callee = p.backEdges().stream().filter(b -> b != caller).findFirst().orElseThrow();
        assertThat(callee.terminating()).as(callee.reason()).isTrue();
        assertThat(caller.terminating()).isFalse();
        assertThat(caller.reason()).contains("calls in it");
    }

    @Test
    void shortCountedLoopsKeepTheirProof() throws Exception {
        // 1000 x 1000 iterations in all, and a countdown from a 16-bit value: under the limit.
        VerifiedProgram nested = verify(new Asm().mov(6, 0).mov(0, 0).label("outer").mov(7, 0).label("inner")
                .add(0, 1).add(7, 1).jmp(JLT, 7, 1000, "inner").add(6, 1).jmp(JLT, 6, 1000, "outer").exit().build());
        assertThat(nested.cancellationPoints()).isEmpty();
        VerifiedProgram countdown = verify(new Asm().call(5).movr(1, 0).and(1, 0xffff)
                .label("head").jmp(JEQ, 1, 0, "out").sub(1, 1).ja("head").label("out").ret(0).build());
        assertThat(countdown.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("R1 decreases").contains("at most 65535 iterations");
        });
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aShortCountedLoopStillRunsWithoutAPoll(Engine engine) throws VerificationException, EngineException {
        // 1000 iterations: proven, so its back-edge does not poll and a pending request never stops it.
        Code code = new Asm().mov(0, 0).mov(1, 0).label("loop").add(0, 3).add(1, 1).jmp(JLT, 1, 1000, "loop").exit().build();
        VerifiedProgram verified = verify(code);
        assertThat(verified.cancellationPoints()).isEmpty();
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.requestCancel("requested before the start");
        assertThat(engine.load(code, Bindings.of(HELPERS).withVerified(verified)).run(invocation)).isEqualTo(new Outcome.Returned(3000));
    }

    static List<Code> runaways() {
        return List.of(mayGotoOnAnInnerCycleOnly(), mayGotoABranchBypasses(), countdownFromTheClock(), nestedCountedLoops(),
                countedLoopCallingACountedLoop());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aCancelRequestStopsEveryLongLoop(Engine engine) throws VerificationException, EngineException {
        for (Code code : runaways()) {
            VerifiedProgram verified = verify(code);
            Invocation invocation = new Invocation(new AddressSpace());
            Outcome outcome = BoundedRuns.run(engine.load(code, Bindings.of(HELPERS).withVerified(verified)), invocation,
                    Duration.ofMillis(20), Duration.ofSeconds(10), () -> VerifiedProgramsNeverFaultTest.describe(code, verified));
            assertThat(outcome).as(() -> engine.name() + ":\n" + VerifiedProgramsNeverFaultTest.describe(code, verified))
                    .isInstanceOfSatisfying(Outcome.Cancelled.class, c -> assertThat(c.reason()).isEqualTo("test time limit"));
        }
    }
}
