package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static io.kflex.verifier.VerifierCorpusTest.MAPS;
import static io.kflex.verifier.VerifierCorpusTest.kfunc;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.Kfuncs;
import io.kflex.loader.ProgramType;
import org.junit.jupiter.api.Test;

/** Facts the verifier derives from kfunc calls: iterator termination, held heap locks, typed results. */
class KfuncVerifierTest {

    private static VerifiedProgram verify(Asm a) throws VerificationException {
        return Verifier.verify(a.build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults().withLogLevel(1));
    }

    @Test
    void bpfForLoopTerminatesByItsIterator() throws Exception {
        VerifiedProgram p = verify(VerifierCorpusTest.iterLoop(VerifierCorpusTest.iterNew(new Asm().mov(6, 0), -8, 0, 100_000)).label("out")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).movr(0, 6).exit());
        assertThat(p.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("numeric iterator at fp-8");
        });
        assertThat(p.cancellationPoints()).isEmpty();
        assertThat(p.processedInstructions()).as("converges instead of unrolling").isLessThan(200);
        assertThat(p.accessAt(10).region()).as("*p reads the iterator's slot").isEqualTo(MemoryRegion.STACK);
        assertThat(p.accessAt(10).minOffset()).isEqualTo(-8);
    }

    @Test
    void loopThatGoesOnAfterTheIteratorIsExhaustedGetsACancellationPoint() throws Exception {
        // loop: next(it); if (prandom()) continue; — also when next returned NULL.
        VerifiedProgram p = verify(VerifierCorpusTest.iterNew(new Asm(), -8, 0, 10).label("loop")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT))
                .call(VerifierCorpusTest.PRANDOM).jmp(JNE, 0, 0, "loop")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).ret(0));
        assertThat(p.cancellationPoints()).hasSize(1);
    }

    @Test
    void heapLockHeldAcrossAnUnboundedLoopIsInTheObjectTable() throws Exception {
        Asm a = new Asm().mov(1, 16).insn(kfunc(Kfuncs.KFLEX_MALLOC)).movr(7, 0).movr(1, 7);
        int lockPc = 4;
        a.insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).movr(8, 7)
                .label("walk").ldxdw(8, 8, 0).castKern(8, 8).jmp(JNE, 8, 0, "walk")
                .movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0);
        VerifiedProgram p = verify(a);
        assertThat(p.cancellationPoints()).hasSize(1);
        int point = p.cancellationPoints().first();
        assertThat(p.heldAtCancellation().get(point)).containsExactly(new HeldResource(HeldResource.Kind.HEAP_LOCK, lockPc, -1, 0));
        assertThat(p.heapAccesses()).isEqualTo(1);
    }

    @Test
    void rejectionsNameTheKfunc() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> verify(new Asm().movr(1, 10).insn(kfunc(Kfuncs.KFLEX_FREE)).ret(0)))
                .isInstanceOfSatisfying(VerificationException.class, e -> assertThat(e.getMessage()).contains("kflex_free arg1"));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> verify(new Asm().insn(kfunc(77)).ret(0)))
                .isInstanceOfSatisfying(VerificationException.class, e -> assertThat(e.getMessage()).contains("unknown kfunc id 77")
                        .contains("bpf_iter_num_new"));
    }
}
