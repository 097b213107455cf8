package io.kflex.verifier;

import static io.kflex.isa.JumpOp.JEQ;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Stack-slot liveness: dead scratch slots stop blocking pruning, live ones are still compared. */
class StackLivenessTest {

    private static VerifiedProgram verify(Code code, boolean slotLiveness) throws VerificationException {
        return Verifier.verify(code, ProgramType.SYSCALL, VerifierCorpusTest.MAPS,
                VerifierOptions.defaults().withStackLiveness(slotLiveness));
    }

    /**
     * Diamonds in a row; in diamond {@code i} each side leaves a different constant in its own
     * scratch slot, read right after the join and never again. Without slot liveness the stale
     * slots make the states at every later join differ, so paths double at each diamond.
     */
    private static Code scratchDiamonds(int count) {
        Asm a = new Asm();
        for (int i = 0; i < count; i++) {
            int slot = -8 * (i + 1);
            a.call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "else" + i).stdw(10, slot, 1).ja("join" + i)
                    .label("else" + i).stdw(10, slot, 2).label("join" + i).ldxdw(7, 10, slot);
        }
        return a.ret(0).build();
    }

    @Test
    void deadScratchSlotsNoLongerBlockPruning() throws Exception {
        Code code = scratchDiamonds(10);
        long with = verify(code, true).processedInstructions();
        long without = verify(code, false).processedInstructions();
        assertThat(with).isLessThan(200);
        assertThat(without).isGreaterThan(10 * with);
    }

    @Test
    void slotLiveAcrossTheJoinIsStillCompared() {
        // One side initialises fp-8, the other does not; the slot is read after the join.
        Code code = new Asm().call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "skip").stdw(10, -8, 1).label("skip")
                .mov(1, 0).ldxdw(0, 10, -8).exit().build();
        assertThatThrownBy(() -> verify(code, true)).isInstanceOf(VerificationException.class)
                .extracting(e -> ((VerificationException) e).rule()).isEqualTo(Rule.UNINIT_STACK);
    }

    @Test
    void slotReadByAHelperThroughAPointerIsLive() {
        // The key at fp-8 is initialised on one path only; the lookup reads it through r2.
        Code code = new Asm().call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "skip").stdw(10, -8, 1).label("skip")
                .movr(2, 10).add(2, -8).ldMap(1, VerifierCorpusTest.HASH).call(VerifierCorpusTest.LOOKUP).ret(0).build();
        assertThatThrownBy(() -> verify(code, true)).extracting(e -> ((VerificationException) e).rule()).isEqualTo(Rule.UNINIT_STACK);
    }

    @Test
    void callerSlotReachedByTheCalleeThroughPointerArithmeticIsLive() {
        // The callee gets fp-8 and reads 16 bytes below it: fp-24, initialised on one path only.
        Code code = new Asm().call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "skip").stdw(10, -24, 1).label("skip")
                .stdw(10, -8, 0).movr(1, 10).add(1, -8).callLocal("f").exit()
                .label("f").add(1, -16).ldxdw(0, 1, 0).exit().build();
        assertThatThrownBy(() -> verify(code, true)).extracting(e -> ((VerificationException) e).rule()).isEqualTo(Rule.UNINIT_STACK);
    }

    @Test
    void slotReadThroughASpilledFramePointerIsLive() {
        // fp-16 is initialised on one path; its address is spilled to fp-8, reloaded and read through.
        Code code = new Asm().call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "skip").stdw(10, -16, 1).label("skip")
                .movr(2, 10).add(2, -16).stxdw(10, -8, 2).mov(2, 0).ldxdw(3, 10, -8).ldxdw(0, 3, 0).exit().build();
        assertThatThrownBy(() -> verify(code, true)).extracting(e -> ((VerificationException) e).rule()).isEqualTo(Rule.UNINIT_STACK);
    }

    @Test
    void slotHoldingASpilledPointerOnOnePathIsComparedWhenRead() {
        // fp-8 holds the context on one path and a number on the other; dereferencing the fill must fail.
        Code code = new Asm().movr(6, 1).call(VerifierCorpusTest.PRANDOM).jmp(JEQ, 0, 0, "num").stxdw(10, -8, 6).ja("join")
                .label("num").stdw(10, -8, 0).label("join").ldxdw(1, 10, -8).ldxw(0, 1, 0).exit().build();
        assertThatThrownBy(() -> verify(code, true)).extracting(e -> ((VerificationException) e).rule()).isEqualTo(Rule.INVALID_ACCESS);
    }

    @Test
    void liveSlotMasksFollowDirectAccessesAndKills() throws Exception {
        Code code = new Asm().stdw(10, -8, 1).stdw(10, -16, 2).ldxdw(0, 10, -16).stdw(10, -16, 3).ldxw(0, 10, -8).exit().build();
        StackLiveness live = StackLiveness.compute(code, ControlFlowGraph.build(code));
        int slot8 = 63, slot16 = 62;
        assertThat(bits(live.liveAt(0))).isEmpty();                       // both written before read
        assertThat(bits(live.liveAt(2))).containsExactly(slot16, slot8);  // fp-16 read next, fp-8 later
        assertThat(bits(live.liveAt(3))).containsExactly(slot8);          // fp-16 overwritten before its next read
        assertThat(bits(live.liveAt(5))).isEmpty();
    }

    private static List<Integer> bits(long mask) {
        return java.util.stream.IntStream.range(0, 64).filter(i -> (mask & (1L << i)) != 0).boxed().toList();
    }
}
