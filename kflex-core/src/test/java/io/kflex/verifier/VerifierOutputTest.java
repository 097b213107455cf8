package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static io.kflex.verifier.VerifierCorpusTest.MAPS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.loader.ProgramType;
import org.junit.jupiter.api.Test;

/** The facts and logs a verified program carries, and the helper registry. */
class VerifierOutputTest {

    // r1 = cast_kern(r0) + r0: a heap pointer plus an unknown number, so nothing is known of it.

    @Test
    void heapGuardIsElidedForASecondAccessThroughTheSameBase() throws Exception {
        VerifiedProgram p = Verifier.verify(new Asm().call(5).castKern(1, 0).addr(1, 0)
                .ldxdw(2, 1, 0)      // 3: first access, guarded (confines r1)
                .ldxdw(3, 1, 8)      // 4: same base, small offset: elided
                .mov(1, 0).castKern(1, 3).addr(1, 3)
                .ldxdw(4, 1, 16)     // 8: base redefined: guarded again
                .ret(0).build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
        assertThat(p.accessAt(3).region()).isEqualTo(MemoryRegion.HEAP);
        assertThat(p.accessAt(3).guardNeeded()).isTrue();
        assertThat(p.accessAt(4).guardNeeded()).isFalse();
        assertThat(p.accessAt(8).guardNeeded()).isTrue();
        assertThat(p.guardsNeeded()).isEqualTo(2);
        assertThat(p.guardsElided()).isEqualTo(1);
    }

    @Test
    void guardCarriesAcrossBranchesWhenEveryPathGuarded() throws Exception {
        VerifiedProgram p = Verifier.verify(new Asm().call(5).castKern(1, 0).addr(1, 0).ldxdw(2, 1, 0)   // 3: guarded
                .jmp(JEQ, 2, 0, "join").ldxdw(3, 1, 8)                                                          // 5: elided
                .label("join").ldxdw(4, 1, 16)                                                                  // 6: elided
                .ret(0).build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
        assertThat(p.accessAt(3).guardNeeded()).isTrue();
        assertThat(p.accessAt(5).guardNeeded()).isFalse();
        assertThat(p.accessAt(6).guardNeeded()).isFalse();
    }

    @Test
    void guardIsNeededWhenOnePathRedefinedTheBase() throws Exception {
        VerifiedProgram p = Verifier.verify(new Asm().call(5).castKern(1, 0).addr(1, 0).ldxdw(2, 1, 0)
                .jmp(JEQ, 2, 0, "join").castKern(1, 2).addr(1, 2)
                .label("join").ldxdw(4, 1, 16).ret(0).build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
        assertThat(p.accessAt(7).guardNeeded()).isTrue();
    }

    @Test
    void guardInsideALoopNeedsTheFirstIterationToo() throws Exception {
        // The access at the loop head is reached first from the entry, where nothing is known of r1.
        VerifiedProgram p = Verifier.verify(new Asm().call(5).castKern(1, 0).addr(1, 0).mov(6, 0)
                .label("head").ldxdw(2, 1, 0).add(6, 1).jmp(JLT, 6, 10, "head").ret(0).build(),
                ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
        assertThat(p.accessAt(4).guardNeeded()).isTrue();
    }

    @Test
    void accessFactsRecordRegionAndBounds() throws Exception {
        VerifiedProgram p = Verifier.verify(VerifierCorpusTest.lookup(new Asm(), VerifierCorpusTest.ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(7).and(0, 7).lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults());
        AccessFact key = p.accessAt(0);
        assertThat(key.region()).isEqualTo(MemoryRegion.STACK);
        assertThat(key.minOffset()).isEqualTo(-4);
        assertThat(key.write()).isTrue();
        AccessFact value = p.accesses().values().stream().filter(a -> a.region() == MemoryRegion.MAP_VALUE).findFirst().orElseThrow();
        assertThat(value.minOffset()).isZero();
        assertThat(value.maxOffset()).isEqualTo(56);
        assertThat(value.map()).isEqualTo(VerifierCorpusTest.ARRAY);
        assertThat(p.stackDepths()).containsEntry(0, 4);
    }

    @Test
    void levelTwoLogShowsStatesLikeLinux() throws Exception {
        VerifiedProgram p = Verifier.verify(new Asm().movr(6, 1).ret(2).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults().withLogLevel(2));
        assertThat(p.log()).contains("R1=ctx() R10=fp0").contains("R1=ctx() R6=ctx() R10=fp0").contains("processed 3 insns")
                .contains("0: (r6 = r1) ; R1=ctx() R10=fp0");
        VerifiedProgram quiet = Verifier.verify(new Asm().ret(2).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults().withLogLevel(0));
        assertThat(quiet.log()).isEmpty();
    }

    @Test
    void rejectionCarriesPcRuleAndState() {
        assertThatThrownBy(() -> Verifier.verify(new Asm().mov(0, 0).stdw(10, -8, 1).ldxdw(2, 10, -16).exit().build(),
                ProgramType.XDP, MAPS, VerifierOptions.defaults()))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.pc()).isEqualTo(2);
                    assertThat(e.rule()).isEqualTo(Rule.UNINIT_STACK);
                    assertThat(e.state()).contains("R0=0").contains("fp-8=1");
                    assertThat(e.getMessage()).startsWith("insn 2: ").contains("UNINIT_STACK");
                    assertThat(e.log()).contains("insn");
                });
    }

    @Test
    void messagesQuoteTheSourceLine() {
        VerifierOptions options = VerifierOptions.defaults().withLogLevel(2)
                .withSourceLines(java.util.Map.of(0, "prog.c:3: int x = 0;", 2, "prog.c:4: return *p;"));
        assertThatThrownBy(() -> Verifier.verify(new Asm().mov(0, 0).mov(1, 0).ldxdw(0, 1, 0).exit().build(), ProgramType.XDP, MAPS, options))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.detail()).contains("prog.c:4: return *p;");
                    assertThat(e.log()).contains("; prog.c:3: int x = 0;");
                });
    }

    @Test
    void unknownHelperIsNamedByNumber() {
        assertThatThrownBy(() -> Verifier.verify(new Asm().call(4242).ret(0).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults()))
                .isInstanceOfSatisfying(VerificationException.class, e -> assertThat(e.detail()).contains("4242"));
        assertThatThrownBy(() -> Verifier.verify(new Asm().call(25).ret(0).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults()))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.rule()).isEqualTo(Rule.UNKNOWN_HELPER);
                    assertThat(e.detail()).contains("bpf_perf_event_output");
                });
    }

    @Test
    void helperRegistryUsesLinuxNumbers() {
        assertThat(HelperPrototypes.nameOf(1)).isEqualTo("bpf_map_lookup_elem");
        assertThat(HelperPrototypes.nameOf(44)).isEqualTo("bpf_xdp_adjust_head");
        assertThat(HelperPrototypes.nameOf(84)).isEqualTo("bpf_sk_lookup_tcp");
        assertThat(HelperPrototypes.nameOf(85)).isEqualTo("bpf_sk_lookup_udp");
        assertThat(HelperPrototypes.nameOf(131)).isEqualTo("bpf_ringbuf_reserve");
        assertThat(HelperPrototypes.nameOf(181)).isEqualTo("bpf_loop");
        assertThat(HelperPrototypes.all().keySet()).contains(1, 2, 3, 5, 6, 7, 8, 12, 23, 44, 84, 85, 86, 93, 94, 130, 131, 132, 133, 181);
        assertThat(HelperPrototypes.find(131).orElseThrow().returns()).isEqualTo(HelperPrototypes.ReturnType.PTR_TO_ALLOC_MEM_OR_NULL);
    }

    @Test
    void cfgErrorsComeWithTheirRule() {
        assertThatThrownBy(() -> Verifier.verify(new Asm().ja("x").label("x").mov(0, 0).build(), ProgramType.XDP, MAPS, VerifierOptions.defaults()))
                .isInstanceOfSatisfying(VerificationException.class, e -> {
                    assertThat(e.rule()).isEqualTo(Rule.FALL_OFF_END);
                    assertThat(e.pc()).isEqualTo(1);
                });
    }
}
