package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.JumpOp;
import org.junit.jupiter.api.Test;

class TnumAndBoundsTest {

    @Test
    void tnumArithmeticFollowsLinuxExamples() {
        Tnum x = new Tnum(0b1000, 0b0011); // 10xx: 8..11
        assertThat(x.add(Tnum.constant(1))).isEqualTo(new Tnum(0b1000, 0b0111)); // 9..12 needs a wider mask
        assertThat(x.and(Tnum.constant(0b0001))).isEqualTo(new Tnum(0, 1));
        assertThat(x.or(Tnum.constant(0b0100))).isEqualTo(new Tnum(0b1100, 0b0011));
        assertThat(x.shiftLeft(2)).isEqualTo(new Tnum(0b100000, 0b1100));
        assertThat(Tnum.constant(6).mul(Tnum.constant(7))).isEqualTo(Tnum.constant(42));
        assertThat(Tnum.range(0, 7)).isEqualTo(new Tnum(0, 7));
        assertThat(Tnum.range(8, 11)).isEqualTo(new Tnum(8, 3));
        assertThat(Tnum.range(0, -1L)).isEqualTo(Tnum.UNKNOWN);
    }

    @Test
    void tnumContainmentAndIntersection() {
        Tnum x = new Tnum(0b1000, 0b0011);
        assertThat(x.in(Tnum.constant(9))).isTrue();
        assertThat(x.in(Tnum.constant(12))).isFalse();
        assertThat(Tnum.UNKNOWN.in(x)).isTrue();
        assertThat(x.in(Tnum.UNKNOWN)).isFalse();
        assertThat(x.intersect(new Tnum(0b0001, ~0b0001L))).isEqualTo(new Tnum(0b1001, 0b0010));
        assertThat(Tnum.constant(1).compatible(Tnum.constant(2))).isFalse();
        assertThat(Tnum.constant(1).union(Tnum.constant(2))).isEqualTo(new Tnum(0, 3));
    }

    @Test
    void tnumNearestMembers() {
        Tnum even = new Tnum(0, 0x7e);
        assertThat(even.maxAtMost(99)).isEqualTo(98);
        assertThat(even.maxAtMost(200)).isEqualTo(126);
        assertThat(even.minAtLeast(3)).isEqualTo(4);
        assertThat(even.minAtLeast(127)).isNull();
        assertThat(Tnum.constant(5).maxAtMost(4)).isNull();
        assertThat(Tnum.UNKNOWN.maxAtMost(-1L)).isEqualTo(-1L);
        assertThat(new Tnum(0x8000000000000000L, 1).minAtLeast(0)).isEqualTo(0x8000000000000000L);
        // Brute force on 8-bit tnums.
        for (int v = 0; v < 256; v += 5) {
            for (int m = 0; m < 256; m += 3) {
                Tnum t = new Tnum(v & ~m, m);
                for (int u = 0; u < 256; u += 7) {
                    Long best = null, least = null;
                    for (int x = 0; x < 256; x++) {
                        if (t.contains(x) && x <= u) best = (long) x;
                        if (t.contains(x) && x >= u && least == null) least = (long) x;
                    }
                    assertThat(t.maxAtMost(u)).as("max of %s <= %d", t, u).isEqualTo(best);
                    assertThat(t.minAtLeast(u)).as("min of %s >= %d", t, u).isEqualTo(least);
                }
            }
        }
    }

    @Test
    void tnumByteSwapAndSignExtensionAreExact() {
        Tnum t = new Tnum(0x1200, 0x00ff);
        assertThat(t.byteSwap(16)).isEqualTo(new Tnum(0x0012, 0xff00));
        assertThat(new Tnum(0x80, 0).signExtend(8)).isEqualTo(Tnum.constant(-128));
        assertThat(new Tnum(0, 0x80).signExtend(8).mask()).isEqualTo(0xffffffffffffff80L);
    }

    @Test
    void syncDeducesRangesFromTnumAndBack() {
        ScalarValue masked = ScalarAlu.alu64(AluOp.AND, ScalarValue.UNKNOWN, ScalarValue.constant(0xff));
        assertThat(masked.umin()).isZero();
        assertThat(masked.umax()).isEqualTo(255);
        assertThat(masked.smax()).isEqualTo(255);
        assertThat(masked.u32max()).isEqualTo(255);
        assertThat(masked.s32min()).isZero();

        ScalarValue small = ScalarValue.unsignedRange(0, 15);
        assertThat(small.tnum()).isEqualTo(new Tnum(0, 15));
        assertThat(small.smin()).isZero();
        assertThat(small.s32max()).isEqualTo(15);
    }

    @Test
    void subregisterBoundsPropagateTo64BitsWhenUpperBitsAreZero() {
        ScalarValue u32 = ScalarValue.ofWidth(4);
        ScalarBranch.Refined r = ScalarBranch.assume(JumpOp.JGT, false, u32, ScalarValue.constant(7), false);
        assertThat(r.dst().umax()).isEqualTo(7);
        assertThat(r.dst().smax()).isEqualTo(7);

        ScalarBranch.Refined wide = ScalarBranch.assume(JumpOp.JGT, false, ScalarValue.UNKNOWN, ScalarValue.constant(7), false);
        assertThat(wide.dst().u32max()).isEqualTo(7);
        assertThat(wide.dst().umax()).isEqualTo(0xffffffff00000007L);
    }

    @Test
    void thirtyTwoBitOperationsZeroExtend() {
        ScalarValue minusOne = ScalarAlu.alu32(AluOp.MOV, ScalarValue.UNKNOWN, ScalarValue.constant(-1));
        assertThat(minusOne.constantValue()).isEqualTo(0xffffffffL);
        ScalarValue sum = ScalarAlu.alu32(AluOp.ADD, ScalarValue.constant(0xffffffffL), ScalarValue.constant(2));
        assertThat(sum.constantValue()).isEqualTo(1);
        ScalarValue range = ScalarAlu.alu32(AluOp.ADD, ScalarValue.unsignedRange(0, 10), ScalarValue.constant(5));
        assertThat(range.umin()).isEqualTo(5);
        assertThat(range.umax()).isEqualTo(15);
    }

    @Test
    void constantsFollowIsaSemantics() {
        assertThat(ScalarAlu.alu64(AluOp.DIV, ScalarValue.constant(7), ScalarValue.constant(0)).constantValue()).isZero();
        assertThat(ScalarAlu.alu64(AluOp.MOD, ScalarValue.constant(7), ScalarValue.constant(0)).constantValue()).isEqualTo(7);
        assertThat(ScalarAlu.alu64(AluOp.SDIV, ScalarValue.constant(Long.MIN_VALUE), ScalarValue.constant(-1)).constantValue()).isEqualTo(Long.MIN_VALUE);
        assertThat(ScalarAlu.alu64(AluOp.LSH, ScalarValue.constant(1), ScalarValue.constant(65)).constantValue()).isEqualTo(2);
        assertThat(ScalarAlu.alu32(AluOp.ARSH, ScalarValue.constant(0x80000000L), ScalarValue.constant(31)).constantValue()).isEqualTo(0xffffffffL);
    }

    @Test
    void nonConstantOperationsStayBounded() {
        ScalarValue idx = ScalarValue.unsignedRange(0, 7);
        ScalarValue scaled = ScalarAlu.alu64(AluOp.LSH, idx, ScalarValue.constant(3));
        assertThat(scaled.umax()).isEqualTo(56);
        assertThat(scaled.tnum()).isEqualTo(new Tnum(0, 0x38));
        assertThat(ScalarAlu.alu64(AluOp.MUL, idx, ScalarValue.constant(10)).umax()).isEqualTo(70);
        assertThat(ScalarAlu.alu64(AluOp.MOD, ScalarValue.UNKNOWN, ScalarValue.constant(10)).umax()).isEqualTo(9);
        assertThat(ScalarAlu.alu64(AluOp.DIV, ScalarValue.unsignedRange(0, 100), ScalarValue.unsignedRange(0, 3)).umax()).isEqualTo(100);
        assertThat(ScalarAlu.alu64(AluOp.SUB, idx, ScalarValue.constant(1)).isUnknown() || ScalarAlu.alu64(AluOp.SUB, idx, ScalarValue.constant(1)).smin() == -1).isTrue();
    }

    @Test
    void branchesWithKnownOutcomeHaveAnInfeasibleSide() {
        ScalarValue five = ScalarValue.constant(5);
        assertThat(ScalarBranch.assume(JumpOp.JEQ, true, five, ScalarValue.constant(5), false)).isNull();
        assertThat(ScalarBranch.assume(JumpOp.JGT, true, ScalarValue.unsignedRange(10, 20), five, false)).isNull();
        assertThat(ScalarBranch.assume(JumpOp.JSET, true, ScalarValue.unsignedRange(0, 7), ScalarValue.constant(8), true)).isNull();
        ScalarBranch.Refined notSet = ScalarBranch.assume(JumpOp.JSET, true, ScalarValue.UNKNOWN, ScalarValue.constant(1), false);
        assertThat(notSet.dst().tnum().value() & 1).isZero();
        assertThat(notSet.dst().tnum().mask() & 1).isZero();
        ScalarBranch.Refined ne = ScalarBranch.assume(JumpOp.JNE, true, ScalarValue.unsignedRange(0, 10), ScalarValue.constant(0), true);
        assertThat(ne.dst().umin()).isEqualTo(1);
    }

    @Test
    void wideningJumpsToThresholdsAndKeepsStrides() {
        var thresholds = new java.util.TreeSet<>(java.util.List.of(0L, 63L, 64L, 65L));
        ScalarValue a = ScalarValue.constant(0), b = ScalarValue.constant(8);
        ScalarValue w = a.widen(b, thresholds);
        assertThat(w.umax()).isLessThanOrEqualTo(63);
        assertThat(w.tnum().mask() & 7).isZero();
        assertThat(w.covers(a)).isTrue();
        assertThat(w.covers(b)).isTrue();
        ScalarValue again = w.widen(ScalarAlu.alu64(AluOp.ADD, w, ScalarValue.constant(8)), thresholds);
        assertThat(again.umax()).isEqualTo(64);
    }
}
