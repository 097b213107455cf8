package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static io.kflex.verifier.VerifierCorpusTest.MAPS;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import org.junit.jupiter.api.Test;

/** Which heap accesses the guard analysis proves confined, one elision form at a time. */
class GuardAnalysisTest {

    private static VerifiedProgram verify(Asm asm) throws VerificationException {
        return Verifier.verify(asm.build(), ProgramType.SYSCALL, MAPS, VerifierOptions.defaults());
    }

    private static boolean elided(VerifiedProgram p, int pc) {
        assertThat(p.accessAt(pc).region()).as("access at %d", pc).isEqualTo(MemoryRegion.HEAP);
        return !p.accessAt(pc).guardNeeded();
    }

    @Test
    void aFreshlyCastPointerNeedsNoGuardWithinTheGuardDistance() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0)
                .ldxdw(2, 1, 0)                     // 2
                .ldxdw(2, 1, 32_760)                // 3: 32760 + 8 = the guard distance
                .ldxdw(2, 1, -32_768)               // 4
                .ret(0));
        assertThat(elided(p, 2)).isTrue();
        assertThat(elided(p, 3)).isTrue();
        assertThat(elided(p, 4)).isTrue();
        VerifiedProgram beyond = verify(new Asm().call(5).castKern(1, 0).ldxdw(2, 1, 32_761).ret(0));
        assertThat(elided(beyond, 2)).as("one byte beyond the guard distance").isFalse();
    }

    @Test
    void constantDisplacementsAccumulateUntilTheyLeaveTheGuardZone() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0)
                .add(1, 16_000).ldxdw(2, 1, 0)      // 3: displacement 16000
                .add(1, 16_000).ldxdw(2, 1, 0)      // 5: 32000
                .add(1, 16_000).ldxdw(2, 1, 0)      // 7: 48000: guarded, confines r1
                .ldxdw(2, 1, 8)                     // 8: elided again
                .sub(1, 100).ldxdw(2, 1, 0)         // 10: displacement -100
                .ret(0));
        assertThat(elided(p, 3)).isTrue();
        assertThat(elided(p, 5)).isTrue();
        assertThat(elided(p, 7)).isFalse();
        assertThat(elided(p, 8)).isTrue();
        assertThat(elided(p, 10)).isTrue();
    }

    @Test
    void aBoundedIndexKeepsTheBaseConfined() throws Exception {
        // r3 = (r0 & 255) << 4; r4 = base + r3: at most 4080 past the base.
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).movr(3, 0).and(3, 255).lsh(3, 4).movr(4, 1).addr(4, 3)
                .ldxdw(2, 4, 8)                     // 7
                .movr(3, 0).and(3, 0xffff).lsh(3, 4).movr(4, 1).addr(4, 3)
                .ldxdw(2, 4, 8)                     // 13: up to 1 MiB away: guarded
                .ret(0));
        assertThat(elided(p, 7)).isTrue();
        assertThat(elided(p, 13)).isFalse();
    }

    @Test
    void aNarrowLoadBoundsAnIndexAndThirtyTwoBitMasksToo() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0)
                .ldx(Size.B, 3, 1, 0)               // 2: a byte, 0..255
                .lsh(3, 3).addr(3, 1)               // r3 = base + 8 * byte (number + pointer)
                .ldxdw(2, 3, 0)                     // 5
                .movr(4, 0).alu32(AluOp.AND, 4, 1023).mov32r(5, 4).addr(5, 1)
                .ldxw(2, 5, 0)                      // 10
                .ret(0));
        assertThat(elided(p, 5)).isTrue();
        assertThat(elided(p, 10)).isTrue();
    }

    @Test
    void sanitisationSurvivesSpillsAndFillsButNotAnOverwrite() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(6, 0).movr(9, 6).addr(9, 0) // r9: nothing known
                .stxdw(10, -8, 6).stxdw(10, -16, 6)
                .ldxdw(7, 10, -8).ldxdw(2, 7, 0)    // 7: filled from a sanitised spill
                .stxdw(10, -16, 9)                  // 8: the other slot overwritten
                .ldxdw(8, 10, -16).ldxdw(2, 8, 0)   // 10: guarded
                .ret(0));
        assertThat(elided(p, 7)).isTrue();
        assertThat(elided(p, 10)).isFalse();
    }

    @Test
    void aCallForgetsTheSpillsOnlyWhenItMayReachTheFrame() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(6, 0).stxdw(10, -8, 6)
                .call(5)                            // 3: no argument points into the frame
                .ldxdw(7, 10, -8).ldxdw(2, 7, 0)    // 5: elided
                .movr(1, 10).add(1, -32)            // r1 = fp - 32
                .call(5)                            // 8: may write the frame through r1
                .ldxdw(7, 10, -8).ldxdw(2, 7, 0)    // 10: guarded
                .ret(0));
        assertThat(elided(p, 5)).isTrue();
        assertThat(elided(p, 10)).isFalse();
        // A frame pointer kept in a slot and filled back before the call counts too.
        VerifiedProgram viaSlot = verify(new Asm().call(5).castKern(6, 0).stxdw(10, -8, 6)
                .movr(3, 10).add(3, -32).stxdw(10, -16, 3).mov(3, 0).ldxdw(2, 10, -16)
                .call(5)                            // 8: r2 = fp - 32 again
                .ldxdw(7, 10, -8).ldxdw(2, 7, 0)    // 10: guarded
                .ret(0));
        assertThat(elided(viaSlot, 10)).isFalse();
    }

    @Test
    void joinsKeepWhatEveryPathKnowsWithTheWidestDisplacement() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).movr(6, 0)
                .jmp(JEQ, 6, 0, "other").add(1, 30_000).ja("join")
                .label("other").add(1, -100)
                .label("join").ldxdw(2, 1, 0)       // 7: displacement -100..30000
                .ldxdw(2, 1, 2_800)                 // 8: 30000 + 2800 + 8 > the guard distance
                .ret(0));
        assertThat(elided(p, 7)).isTrue();
        assertThat(elided(p, 8)).isFalse();
        VerifiedProgram oneSide = verify(new Asm().call(5).castKern(1, 0).movr(6, 0)
                .jmp(JEQ, 6, 0, "join").movr(1, 6).castKern(1, 1).addr(1, 6)
                .label("join").ldxdw(2, 1, 0).ret(0));
        assertThat(elided(oneSide, 7)).as("one path knows nothing of r1").isFalse();
    }

    @Test
    void aLoopInvariantBaseSanitisedBeforeTheLoopStaysSanitised() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).mov(6, 0)
                .label("head").ldxdw(2, 1, 8).add(6, 1).jmp(JLT, 6, 100, "head").ret(0));
        assertThat(elided(p, 3)).isTrue();
    }

    @Test
    void aPointerWalkingThroughALoopIsGuardedOncePerIteration() throws Exception {
        // for (;;) { *(p + 0); p += 64; }: the confinement at the first access bounds the second.
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).addr(1, 0).mov(6, 0)
                .label("head").ldxdw(2, 1, 0).ldxdw(2, 1, 56).add(1, 64).add(6, 1).jmp(JLT, 6, 100, "head").ret(0));
        assertThat(elided(p, 4)).as("reached with r1 + 64 * k").isFalse();
        assertThat(elided(p, 5)).isTrue();
    }

    @Test
    void aPointerLoadedFromTheHeapIsNotSanitisedUntilCast() throws Exception {
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0)
                .ldxdw(3, 1, 0)                     // 2: next = p->next (a number)
                .castKern(3, 3).ldxdw(2, 3, 8)      // 4: cast: sanitised
                .ret(0));
        assertThat(elided(p, 2)).isTrue();
        assertThat(elided(p, 4)).isTrue();
    }

    @Test
    void aComparisonBoundsAnIndexOnTheEdgeWhereItHolds() throws Exception {
        // if (r3 < 512) r4 = base + r3 * 8 else r4 = base + r3 * 8 (unbounded)
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).movr(3, 0)
                .jmp(JGE, 3, 512, "big")
                .lsh(3, 3).movr(4, 1).addr(4, 3).ldxdw(2, 4, 0)   // 7: r3 in [0, 511]
                .ret(0)
                .label("big").lsh(3, 3).movr(4, 1).addr(4, 3).ldxdw(2, 4, 0) // 13: nothing known of r3
                .ret(0));
        assertThat(elided(p, 7)).isTrue();
        assertThat(elided(p, 13)).isFalse();
        VerifiedProgram tooFar = verify(new Asm().call(5).castKern(1, 0).movr(3, 0)
                .jmp(JGE, 3, 8192, "out").lsh(3, 3).movr(4, 1).addr(4, 3).ldxdw(2, 4, 0).label("out").ret(0));
        assertThat(elided(tooFar, 7)).as("8191 * 8 is beyond the guard distance").isFalse();
    }

    @Test
    void aLoopIndexComparedWithACheckedLengthIsBoundedInTheBody() throws Exception {
        // len = r0 & 1023; for (i = 0; i < len; i++) *(u8 *)(base + i): i is widened at the loop
        // head, and the comparison with len (a register known to be at most 1023) bounds it again.
        VerifiedProgram p = verify(new Asm().call(5).castKern(1, 0).movr(7, 0).and(7, 1023).mov(6, 0)
                .label("head").jmpr(JGE, 6, 7, "out")
                .movr(4, 1).addr(4, 6).ldx(Size.B, 2, 4, 0)     // 8
                .add(6, 1).ja("head")
                .label("out").ret(0));
        assertThat(elided(p, 8)).isTrue();
        VerifiedProgram unchecked = verify(new Asm().call(5).castKern(1, 0).movr(7, 0).mov(6, 0)
                .label("head").jmpr(JGE, 6, 7, "out")
                .movr(4, 1).addr(4, 6).ldx(Size.B, 2, 4, 0)     // 7
                .add(6, 1).ja("head")
                .label("out").ret(0));
        assertThat(elided(unchecked, 7)).as("len unknown: so is i").isFalse();
    }
}
