package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.verifier.GuardAnalysis.Val;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The guard analysis's arithmetic contains every concrete result: for numbers in their abstract
 * ranges, the operation's concrete value lies in the abstract result; for a sanitised pointer
 * plus a displacement, the result's displacement from the same sanitised offset does.
 */
class GuardArithmeticPropertiesTest {

    @Provide
    Arbitrary<AluOp> ops() {
        return Arbitraries.of(AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.AND, AluOp.LSH, AluOp.RSH, AluOp.MOV, AluOp.OR, AluOp.XOR,
                AluOp.MOVSX8, AluOp.MOVSX16, AluOp.MOVSX32, AluOp.ARSH, AluOp.NEG);
    }

    @Provide
    Arbitrary<Long> values() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(-70_000, 70_000), Arbitraries.longs().between(0, 70),
                Arbitraries.of(0L, 1L, 31L, 32L, 63L, 64L, 255L, 0xffff_ffffL, 0x1_0000_0000L, -1L, Long.MIN_VALUE, Long.MAX_VALUE));
    }

    /** A range around {@code v}: the value itself, or widened by up to {@code spread} on each side. */
    private static Val around(long v, long spreadLo, long spreadHi) {
        long lo = v - Math.abs(spreadLo % 5000), hi = v + Math.abs(spreadHi % 5000);
        if (lo > v || hi < v) return Val.num(v, v); // the spread overflowed: keep the point
        return Val.num(lo, hi);
    }

    @Property(tries = 3000)
    void numbersStayInTheirRanges(@ForAll("ops") AluOp op, @ForAll boolean wide, @ForAll("values") long a, @ForAll("values") long b,
                                  @ForAll long sa, @ForAll long sb, @ForAll boolean pointA, @ForAll boolean pointB) {
        Val d = pointA ? Val.num(a, a) : around(a, sa, sa >>> 7);
        Val s = pointB ? Val.num(b, b) : around(b, sb, sb >>> 7);
        // Instructions give 32-bit operations their operands zero-extended from the immediate or register.
        Val r = wide ? GuardAnalysis.alu64(op, d, s) : GuardAnalysis.alu32(op, d, s);
        Assume.that(r != null);
        long concrete = wide ? ScalarAlu.concrete64(op, a, b) : ScalarAlu.concrete32(op, a, b);
        assertThat(r.ptr()).isFalse();
        assertThat(concrete).as("%s %s %s (wide %s) = %s", d, op, s, wide, r).isBetween(r.lo(), r.hi());
    }

    @Property(tries = 2000)
    void displacementsFollowAddedNumbers(@ForAll boolean subtract, @ForAll boolean numberFirst, @ForAll("values") long x,
                                         @ForAll long spread, @ForAll("displacements") long d, @ForAll long offset) {
        long s = offset & 0xffff_ffffL; // a sanitised offset of a 4 GiB heap
        Val ptr = Val.ptr(d, d);
        Val num = around(x, spread, spread >>> 9);
        Val r = subtract ? GuardAnalysis.alu64(AluOp.SUB, ptr, num)
                : numberFirst ? GuardAnalysis.alu64(AluOp.ADD, num, ptr) : GuardAnalysis.alu64(AluOp.ADD, ptr, num);
        Assume.that(r != null);
        long concrete = subtract ? s + d - x : s + d + x;
        assertThat(r.ptr()).isTrue();
        assertThat(r.lo()).isGreaterThanOrEqualTo(-GuardAnalysis.GUARD);
        assertThat(r.hi()).isLessThanOrEqualTo(GuardAnalysis.GUARD);
        assertThat(concrete - s).isBetween(r.lo(), r.hi());
    }

    @Provide
    Arbitrary<Long> displacements() { return Arbitraries.longs().between(-GuardAnalysis.GUARD, GuardAnalysis.GUARD); }

    @Provide
    Arbitrary<io.kflex.isa.JumpOp> jumpOps() { return Arbitraries.of(io.kflex.isa.JumpOp.class); }

    /**
     * On the edge a comparison takes for concrete values, the refined range of the register
     * contains its value — whether the bound is a constant, a register holding one value, or a
     * register known only to lie in a range.
     */
    @Property(tries = 5000)
    void comparisonsRefineOnlyToRangesHoldingTheValue(@ForAll("jumpOps") io.kflex.isa.JumpOp op, @ForAll boolean wide, @ForAll("values") long v,
                                                      @ForAll("values") long k, @ForAll long spread, @ForAll boolean known, @ForAll boolean immediate,
                                                      @ForAll boolean nearBound, @ForAll @net.jqwik.api.constraints.IntRange(min = -2, max = 2) int near,
                                                      @ForAll boolean rangedBound, @ForAll long boundSpread) {
        if (nearBound) v = (immediate ? (wide ? (long) (int) k : (int) k & 0xffff_ffffL) : k) + near; // the edges of the comparison
        Val[] st = new Val[2 * (11 + 64)];
        st[3] = known ? around(v, spread, spread >>> 7) : null;
        st[4] = rangedBound ? around(k, boundSpread, boundSpread >>> 9) : Val.num(k, k);
        int imm = (int) k;
        var jump = new io.kflex.isa.Instruction.Jump(wide, op, 3, immediate ? io.kflex.isa.Operand.imm(imm) : io.kflex.isa.Operand.reg(4), (short) 1);
        long operand = immediate ? (wide ? imm : imm & 0xffff_ffffL) : k;
        boolean taken = wide ? op.test(v, operand) : op.test32(v, operand);
        Val r = GuardAnalysis.refine(jump, st, taken)[3];
        if (r != null) assertThat(v).as("%s %s %d (wide %s, taken %s): %s", st[3], op, operand, wide, taken, r).isBetween(r.lo(), r.hi());
    }
}
