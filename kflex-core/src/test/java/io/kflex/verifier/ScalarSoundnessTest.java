package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.Instruction.ByteSwap;
import io.kflex.isa.JumpOp;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Soundness of the abstract domain: for random concrete values inside random abstract values,
 * every abstract operation's result contains the concrete result.
 */
class ScalarSoundnessTest {

    /** A concrete value together with an abstract value that contains it. */
    record Sample(long concrete, ScalarValue abstractValue) {}

    @Provide
    Arbitrary<Sample> samples() {
        Arbitrary<Long> values = Arbitraries.oneOf(
                Arbitraries.longs(),
                Arbitraries.longs().between(-300, 300),
                Arbitraries.longs().between(0, 0xffffffffL),
                Arbitraries.of(0L, 1L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 0x7fffffffL, 0x80000000L, 0xffffffffL, 0x100000000L));
        Arbitrary<Long> masks = Arbitraries.oneOf(
                Arbitraries.of(0L, -1L, 0xffL, 0xffffffffL, 0xffffffff00000000L, 7L, 0x38L),
                Arbitraries.longs(),
                Combinators.combine(Arbitraries.longs(), Arbitraries.longs()).as((x, y) -> x & y));
        Arbitrary<Long> slack = Arbitraries.oneOf(Arbitraries.of(0L, 1L, 5L, 1000L), Arbitraries.longs().between(0, Long.MAX_VALUE));
        return Combinators.combine(values, masks, slack, slack, slack, slack).as(ScalarSoundnessTest::around);
    }

    /** An abstract value containing {@code x}: a tnum hiding the mask bits, ranges extended by the slacks. */
    static Sample around(long x, long mask, long below, long above, long sbelow, long sabove) {
        long umin = Long.compareUnsigned(x, below) >= 0 ? x - below : 0;
        long umax = Long.compareUnsigned(-1L - x, above) >= 0 ? x + above : -1L;
        long smin = x >= Long.MIN_VALUE + sbelow ? x - sbelow : Long.MIN_VALUE;
        long smax = x <= Long.MAX_VALUE - sabove ? x + sabove : Long.MAX_VALUE;
        int lo = (int) x;
        long s32min = Math.max(Integer.MIN_VALUE, (long) lo - (below & 0xffff));
        long s32max = Math.min(Integer.MAX_VALUE, (long) lo + (above & 0xffff));
        long u32 = x & 0xffffffffL;
        long u32min = Math.max(0, u32 - (sbelow & 0xffff));
        long u32max = Math.min(0xffffffffL, u32 + (sabove & 0xffff));
        ScalarValue v = new ScalarValue(new Tnum(x & ~mask, mask), smin, smax, umin, umax, s32min, s32max, u32min, u32max).sync();
        return new Sample(x, v);
    }

    @Property(tries = 3000, edgeCases = EdgeCasesMode.MIXIN)
    void syncKeepsEveryValue(@ForAll("samples") Sample a) {
        assertThat(a.abstractValue().contains(a.concrete())).as("%s in %s", a.concrete(), a.abstractValue()).isTrue();
        assertThat(a.abstractValue().isEmpty()).isFalse();
    }

    @Property(tries = 4000, edgeCases = EdgeCasesMode.MIXIN)
    void alu64IsSound(@ForAll("samples") Sample a, @ForAll("samples") Sample b, @ForAll AluOp op) {
        ScalarValue r = ScalarAlu.alu64(op, a.abstractValue(), b.abstractValue());
        long c = ScalarAlu.concrete64(op, a.concrete(), b.concrete());
        assertThat(r.contains(c)).as("%s %s %s = %s not in %s (from %s, %s)", a.concrete(), op, b.concrete(), c, r,
                a.abstractValue(), b.abstractValue()).isTrue();
    }

    @Property(tries = 4000, edgeCases = EdgeCasesMode.MIXIN)
    void alu32IsSound(@ForAll("samples") Sample a, @ForAll("samples") Sample b, @ForAll AluOp op) {
        ScalarValue r = ScalarAlu.alu32(op, a.abstractValue(), b.abstractValue());
        long c = ScalarAlu.concrete32(op, a.concrete(), b.concrete());
        assertThat(r.contains(c)).as("w: %s %s %s = %s not in %s (from %s, %s)", a.concrete(), op, b.concrete(), c, r,
                a.abstractValue(), b.abstractValue()).isTrue();
    }

    @Property(tries = 2000, edgeCases = EdgeCasesMode.MIXIN)
    void byteSwapsAreSound(@ForAll("samples") Sample a, @ForAll ByteSwap kind, @ForAll("swapWidths") int bits) {
        long x = a.concrete();
        long c = switch (kind) {
            case TO_LE -> bits == 64 ? x : x & ((1L << bits) - 1);
            case TO_BE, BSWAP -> switch (bits) {
                case 16 -> Short.reverseBytes((short) x) & 0xffffL;
                case 32 -> Integer.reverseBytes((int) x) & 0xffffffffL;
                default -> Long.reverseBytes(x);
            };
        };
        assertThat(ScalarAlu.endian(kind, bits, a.abstractValue()).contains(c)).isTrue();
    }

    @Provide
    Arbitrary<Integer> swapWidths() { return Arbitraries.of(16, 32, 64); }

    @Property(tries = 4000, edgeCases = EdgeCasesMode.MIXIN)
    void branchRefinementKeepsTheConcreteOutcome(@ForAll("samples") Sample a, @ForAll("samples") Sample b, @ForAll JumpOp op,
                                                 @ForAll boolean wide) {
        boolean taken = wide ? op.test(a.concrete(), b.concrete()) : op.test32(a.concrete(), b.concrete());
        ScalarBranch.Refined r = ScalarBranch.assume(op, wide, a.abstractValue(), b.abstractValue(), taken);
        assertThat(r).as("%s %s %s (%s) judged impossible from %s, %s", a.concrete(), op, b.concrete(), taken,
                a.abstractValue(), b.abstractValue()).isNotNull();
        assertThat(r.dst().contains(a.concrete())).as("dst %s not in %s", a.concrete(), r.dst()).isTrue();
        assertThat(r.src().contains(b.concrete())).as("src %s not in %s", b.concrete(), r.src()).isTrue();
    }

    @Property(tries = 2000, edgeCases = EdgeCasesMode.MIXIN)
    void joinAndWideningContainBothSides(@ForAll("samples") Sample a, @ForAll("samples") Sample b) {
        TreeSet<Long> thresholds = new TreeSet<>(java.util.List.of(0L, 7L, 64L, 100_000L, -5L));
        ScalarValue join = a.abstractValue().join(b.abstractValue());
        ScalarValue widened = a.abstractValue().widen(b.abstractValue(), thresholds);
        for (ScalarValue v : new ScalarValue[] {join, widened}) {
            assertThat(v.contains(a.concrete())).isTrue();
            assertThat(v.contains(b.concrete())).isTrue();
        }
    }

    @Property(tries = 2000, edgeCases = EdgeCasesMode.MIXIN)
    void signExtensionIsSound(@ForAll("samples") Sample a, @ForAll("swapWidths") int width) {
        int bits = width == 64 ? 8 : width;
        long c = bits == 8 ? (byte) a.concrete() : bits == 16 ? (short) a.concrete() : (int) a.concrete();
        assertThat(ScalarAlu.signExtend(a.abstractValue(), bits).contains(c)).isTrue();
    }
}
