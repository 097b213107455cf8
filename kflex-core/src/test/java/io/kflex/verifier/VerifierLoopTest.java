package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static io.kflex.verifier.VerifierCorpusTest.MAPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Loops: convergence by widening, termination proofs, cancellation points, and the complexity limits. */
class VerifierLoopTest {

    private static VerifiedProgram verify(Asm a, ProgramType type) throws VerificationException {
        return Verifier.verify(a.build(), type, MAPS, VerifierOptions.defaults());
    }

    @Test
    void hundredThousandIterationCountedLoopConvergesQuickly() throws Exception {
        VerifiedProgram p = verify(new Asm().mov(0, 0).mov(1, 0).label("loop")
                .add(0, 3).add(1, 1).jmp(JLT, 1, 100_000, "loop").exit(), ProgramType.SYSCALL);
        assertThat(p.processedInstructions()).isLessThan(10_000).isLessThan(100);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("R1 increases");
        });
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void loopCounterKeptOnTheStackIsStillProvenTerminating() throws Exception {
        // What clang -O0 emits: the induction variable lives in a stack slot.
        VerifiedProgram p = verify(new Asm().stdw(10, -8, 0).label("loop")
                .ldxdw(1, 10, -8).add(1, 1).stxdw(10, -8, 1).ldxdw(2, 10, -8).jmp(JLT, 2, 100_000, "loop")
                .ret(0), ProgramType.SYSCALL);
        assertThat(p.processedInstructions()).isLessThan(10_000);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.reason()).contains("fp-8"));
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void loopUpToAnUnknownBoundEndsButKeepsItsCancellationPoint() throws Exception {
        // i < n for a 64-bit n: finite, but up to 2^64 iterations — far too long to go unchecked.
        VerifiedProgram p = verify(new Asm().call(5).movr(6, 0).mov(7, 0).label("head")
                .jmpr(JGE, 7, 6, "out").add(7, 1).ja("head").label("out").ret(0), ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isFalse();
            assertThat(b.reason()).contains("R7 increases").contains("too many");
        });
        assertThat(p.cancellationPoints()).hasSize(1);
    }

    @Test
    void loopUpToABoundedUnknownTerminates() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).movr(6, 0).and(6, 4095).mov(7, 0).label("head")
                .jmpr(JGE, 7, 6, "out").add(7, 1).ja("head").label("out").ret(0), ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("R7 increases").contains("at most 4095 iterations");
        });
    }

    @Test
    void countdownFromAnUnknownValueIsProvenButNotShort() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).movr(1, 0).label("head")
                .jmp(JEQ, 1, 0, "out").sub(1, 1).ja("head").label("out").ret(0), ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isFalse();
            assertThat(b.reason()).contains("decreases").contains("too many");
        });
    }

    @Test
    void wrappingCounterIsNotATerminationProof() throws Exception {
        // r1 += 1 until it equals 0 again: terminates only through unsigned wrap-around, which is no proof.
        VerifiedProgram p = verify(new Asm().call(5).movr(1, 0).label("head")
                .add(1, 1).jmp(JNE, 1, 0, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.cancellationPoints()).hasSize(1);
    }

    @Test
    void counterStartingPastItsExitValueIsNoProof() throws Exception {
        // i = 200; do i++ while (i != 100): only ends after wrapping around 2^64.
        VerifiedProgram p = verify(new Asm().mov(1, 200).label("head").add(1, 1).jmp(JNE, 1, 100, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.cancellationPoints()).hasSize(1);
    }

    @Test
    void strideThatSkipsTheExitValueIsNoProof() throws Exception {
        // i += 2 never equals 101.
        VerifiedProgram p = verify(new Asm().mov(1, 0).label("head").add(1, 2).jmp(JNE, 1, 101, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.cancellationPoints()).hasSize(1);
    }

    @Test
    void counterReachingItsExitValueIsAProof() throws Exception {
        VerifiedProgram p = verify(new Asm().mov(1, 0).label("head").add(1, 2).jmp(JNE, 1, 100, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void loopWithoutInductionVariableBecomesACancellationPoint() throws Exception {
        VerifiedProgram p = verify(new Asm().label("head").call(7).jmp(JNE, 0, 0, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isFalse());
        assertThat(p.cancellationPoints()).containsExactly(p.backEdges().getFirst().from());
    }

    @Test
    void counterMovingBothWaysOnDifferentPathsIsNoProof() throws Exception {
        VerifiedProgram p = verify(new Asm().mov(6, 0).label("head").call(7).jmp(JEQ, 0, 0, "down")
                .add(6, 1).ja("latch").label("down").sub(6, 1).label("latch").jmp(JNE, 6, 100, "head").ret(0), ProgramType.SYSCALL);
        assertThat(p.cancellationPoints()).isNotEmpty();
    }

    @Test
    void linkedListWalkOverTheHeapConvergesInHundredsOfInstructions() throws Exception {
        // while (n) n = n->next, with heap pointers as clang emits them for __arena.
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).mov(6, 0).label("head")
                .jmp(JEQ, 1, 0, "out").ldxdw(2, 1, 8).addr(6, 2).ldxdw(1, 1, 0).castKern(1, 1).ja("head")
                .label("out").movr(0, 6).exit(), ProgramType.SYSCALL);
        assertThat(p.processedInstructions()).isLessThan(500);
        assertThat(p.cancellationPoints()).hasSize(1);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isFalse());
    }

    @Test
    void cancellationPointListsTheResourcesHeldThere() throws Exception {
        // A socket is looked up before an unbounded loop and released after it.
        VerifiedProgram p = verify(VerifierCorpusTest.skLookup(new Asm()).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .label("head").call(7).jmp(JNE, 0, 0, "head")
                .movr(1, 6).call(86).label("out").ret(0), ProgramType.XDP);
        assertThat(p.cancellationPoints()).hasSize(1);
        int point = p.cancellationPoints().first();
        assertThat(p.heldAtCancellation().get(point)).singleElement().satisfies(r -> {
            assertThat(r.kind()).isEqualTo(HeldResource.Kind.SOCKET);
            assertThat(r.acquiredAt()).isEqualTo(7);
        });
    }

    @Test
    void loopWithTwoEntriesGetsNoTerminationProof() throws Exception {
        // Both A and B can be entered from outside: the cycle has no single head to count at.
        VerifiedProgram p = verify(new Asm().mov(6, 0).call(7).jmp(JEQ, 0, 0, "b")
                .label("a").add(6, 1).ja("b")
                .label("b").add(6, 1).jmp(JLT, 6, 100, "a").ret(0), ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isFalse();
            assertThat(b.reason()).contains("irreducible");
        });
    }

    @Test
    void registerThatBecomesAPointerInTheLoopIsNotLost() throws Exception {
        // r6 = 0 before the loop, a map value (or NULL) after the first lookup in it; used after the loop.
        Asm a = new Asm().mov(6, 0).mov(7, 0).label("head")
                .stw(10, -4, 0).movr(2, 10).add(2, -4).ldMap(1, VerifierCorpusTest.HASH).call(1).movr(6, 0)
                .add(7, 1).jmp(JLT, 7, 1000, "head")
                .jmp(JEQ, 6, 0, "out").ldxdw(0, 6, 0).label("out").ret(0);
        VerifiedProgram p = verify(a, ProgramType.XDP);
        assertThat(p.cancellationPoints()).isEmpty();
        assertThat(p.processedInstructions()).isLessThan(1_000);
    }

    @Test
    void mayGotoLoopIsTerminating() throws Exception {
        VerifiedProgram p = verify(new Asm().call(7).label("loop").mayGoto("out").add(0, 3).ja("loop").label("out").exit(),
                ProgramType.SYSCALL);
        assertThat(p.backEdges()).singleElement().satisfies(b -> assertThat(b.reason()).contains("may_goto"));
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void nestedCountedLoopsAreBothProven() throws Exception {
        VerifiedProgram p = verify(new Asm().mov(6, 0).mov(0, 0).label("outer").mov(7, 0).label("inner")
                .add(0, 1).add(7, 1).jmp(JLT, 7, 1000, "inner").add(6, 1).jmp(JLT, 6, 1000, "outer").exit(), ProgramType.SYSCALL);
        assertThat(p.backEdges()).hasSize(2).allSatisfy(b -> assertThat(b.terminating()).isTrue());
        assertThat(p.processedInstructions()).isLessThan(1_000);
    }

    @Test
    void boundsAfterTheLoopAreExact() throws Exception {
        // After "for (i = 0; i < 8; i++)", i == 8: using it as an index of a 64-byte value at i*8 - 8 is in bounds.
        VerifiedProgram p = verify(VerifierCorpusTest.lookup(new Asm(), VerifierCorpusTest.ARRAY).jmp(JEQ, 0, 0, "out")
                .mov(7, 0).label("loop").add(7, 1).jmp(JLT, 7, 8, "loop")
                .lsh(7, 3).add(7, -8).addr(0, 7).ldxdw(1, 0, 0).label("out").ret(0), ProgramType.XDP);
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void instructionLimitGivesTooComplex() {
        Asm a = new Asm().mov(0, 0).mov(1, 0).label("loop").add(0, 3).add(1, 1).jmp(JLT, 1, 100, "loop").exit();
        assertThatThrownBy(() -> Verifier.verify(a.build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults().withMaxProcessed(5)))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.rule()).isEqualTo(Rule.TOO_COMPLEX);
                    assertThat(e.detail()).contains("more than 5 instructions");
                });
    }

    @Test
    void timeBudgetGivesTooComplex() {
        Asm a = new Asm();
        for (int i = 0; i < 3000; i++) a.mov(i % 9, i);
        a.ret(0);
        Code code = a.build();
        assertThatThrownBy(() -> Verifier.verify(code, ProgramType.SYSCALL, MAPS, VerifierOptions.defaults().withTimeBudget(Duration.ofNanos(1))))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.rule()).isEqualTo(Rule.TOO_COMPLEX);
                    assertThat(e.detail()).contains("time budget");
                });
    }

    @Test
    void manyIndependentBranchesArePrunedNotEnumerated() throws Exception {
        // 30 diamonds in a row: 2^30 paths, but states at each join cover each other.
        Asm a = new Asm().mov(6, 0);
        for (int i = 0; i < 30; i++) {
            a.call(7).jmp(JEQ, 0, 0, "l" + i).mov(6, 1).label("l" + i);
        }
        a.mov(0, 0).exit();
        VerifiedProgram p = Verifier.verify(a.build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
        assertThat(p.processedInstructions()).isLessThan(1_000);
    }

    @Test
    void arithmeticInsideLoopIsStillBoundsChecked() {
        // The index grows by 8 per iteration up to 72: the last store would be past the 64-byte value.
        Asm a = VerifierCorpusTest.lookup(new Asm(), VerifierCorpusTest.ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).mov(7, 0).label("loop")
                .movr(1, 6).addr(1, 7).stdw(1, 0, 0).alu(AluOp.ADD, 7, 8).jmp(JLT, 7, 72, "loop").label("out").ret(0);
        assertThatThrownBy(() -> verify(a, ProgramType.XDP))
                .isInstanceOfSatisfying(VerificationException.class, e -> assertThat(e.rule()).isEqualTo(Rule.OUT_OF_BOUNDS));
    }
}
