package io.kflex.verifier;

import java.util.NavigableSet;

/**
 * The abstract value of a scalar register: a {@link Tnum} plus signed and unsigned bounds on the
 * full 64 bits and on the low 32-bit subregister, exactly the facts Linux keeps in
 * {@code struct bpf_reg_state}. All bounds are stored as {@code long}: the unsigned ones compare
 * with {@link Long#compareUnsigned}, the 32-bit ones hold {@code int} and {@code u32} values.
 *
 * <p>Instances are normalised by {@link #sync()} (Linux's {@code reg_bounds_sync}) so that every
 * representation is as tight as the others allow. A value whose facts contradict each other
 * describes no concrete value; {@link #isEmpty()} detects it and branch refinement uses that to
 * find dead branches.
 */
public record ScalarValue(Tnum tnum, long smin, long smax, long umin, long umax,
                          long s32min, long s32max, long u32min, long u32max) {

    static final long U32_MAX = 0xffffffffL;
    static final long S32_MIN = Integer.MIN_VALUE;
    static final long S32_MAX = Integer.MAX_VALUE;

    public static final ScalarValue UNKNOWN = new ScalarValue(Tnum.UNKNOWN, Long.MIN_VALUE, Long.MAX_VALUE, 0, -1L,
            S32_MIN, S32_MAX, 0, U32_MAX);

    public static ScalarValue constant(long v) {
        return new ScalarValue(Tnum.constant(v), v, v, v, v, (int) v, (int) v, v & U32_MAX, v & U32_MAX);
    }

    /** An unknown value in the unsigned range {@code [min, max]}. */
    public static ScalarValue unsignedRange(long min, long max) {
        return new ScalarValue(Tnum.UNKNOWN, Long.MIN_VALUE, Long.MAX_VALUE, min, max, S32_MIN, S32_MAX, 0, U32_MAX).sync();
    }

    /** An unknown value of the given width in bytes, zero-extended (a load of that size). */
    public static ScalarValue ofWidth(int bytes) {
        if (bytes >= 8) return UNKNOWN;
        return fromTnum(Tnum.UNKNOWN.cast(bytes));
    }

    public static ScalarValue fromTnum(Tnum t) {
        return new ScalarValue(t, Long.MIN_VALUE, Long.MAX_VALUE, 0, -1L, S32_MIN, S32_MAX, 0, U32_MAX).sync();
    }

    public boolean isConstant() { return tnum.isConstant(); }

    public long constantValue() { return tnum.value(); }

    public boolean isConstant32() { return tnum.subreg().isConstant(); }

    public boolean isUnknown() { return equals(UNKNOWN); }

    /** Whether the facts are contradictory, i.e. no concrete value satisfies them all. */
    public boolean isEmpty() {
        return smin > smax || Long.compareUnsigned(umin, umax) > 0 || s32min > s32max || u32min > u32max
                || !tnum.contains(tnum.value()) // cannot happen by construction, kept for clarity
                || Long.compareUnsigned(tnum.min(), umax) > 0 || Long.compareUnsigned(tnum.max(), umin) < 0;
    }

    /** Whether the concrete value {@code x} satisfies every fact. */
    public boolean contains(long x) {
        int lo = (int) x;
        long ulo = x & U32_MAX;
        return tnum.contains(x) && x >= smin && x <= smax
                && Long.compareUnsigned(x, umin) >= 0 && Long.compareUnsigned(x, umax) <= 0
                && lo >= s32min && lo <= s32max && ulo >= u32min && ulo <= u32max;
    }

    /** Whether every value of {@code other} is a value of this one (Linux's {@code range_within} + {@code tnum_in}). */
    public boolean covers(ScalarValue other) {
        return smin <= other.smin && smax >= other.smax
                && Long.compareUnsigned(umin, other.umin) <= 0 && Long.compareUnsigned(umax, other.umax) >= 0
                && s32min <= other.s32min && s32max >= other.s32max
                && u32min <= other.u32min && u32max >= other.u32max
                && tnum.in(other.tnum);
    }

    // ---------------------------------------------------------------------------------------
    // Bound synchronisation (reg_bounds_sync)

    /** Deduces every representation from the others until they agree, like Linux's {@code reg_bounds_sync}. */
    public ScalarValue sync() {
        Mutable m = new Mutable(this);
        m.updateBounds();
        m.deduceBounds();
        m.deduceBounds();
        m.boundOffset();
        m.updateBounds();
        return m.freeze();
    }

    /** A mutable copy used while deducing bounds; keeps the deduction steps readable. */
    private static final class Mutable {
        Tnum t;
        long smin, smax, umin, umax, s32min, s32max, u32min, u32max;

        Mutable(ScalarValue v) {
            t = v.tnum; smin = v.smin; smax = v.smax; umin = v.umin; umax = v.umax;
            s32min = v.s32min; s32max = v.s32max; u32min = v.u32min; u32max = v.u32max;
        }

        ScalarValue freeze() { return new ScalarValue(t, smin, smax, umin, umax, s32min, s32max, u32min, u32max); }

        static long umaxOf(long a, long b) { return Long.compareUnsigned(a, b) >= 0 ? a : b; }

        static long uminOf(long a, long b) { return Long.compareUnsigned(a, b) <= 0 ? a : b; }

        void updateBounds() {
            Tnum t32 = t.subreg();
            s32min = Math.max(s32min, (int) (t32.value() | (t32.mask() & 0x80000000L)));
            s32max = Math.min(s32max, (int) (t32.value() | (t32.mask() & 0x7fffffffL)));
            u32min = Math.max(u32min, t32.value());
            u32max = Math.min(u32max, t32.value() | t32.mask());
            smin = Math.max(smin, t.value() | (t.mask() & Long.MIN_VALUE));
            smax = Math.min(smax, t.value() | (t.mask() & Long.MAX_VALUE));
            umin = umaxOf(umin, t.value());
            umax = uminOf(umax, t.value() | t.mask());
        }

        void deduceBounds() {
            deduce32();
            deduce64();
            deduceMixed();
        }

        private void deduce32() {
            // When the upper 32 bits of a 64-bit range are fixed, the low halves bound the subregister.
            if ((umin >>> 32) == (umax >>> 32)) {
                u32min = Math.max(u32min, umin & U32_MAX);
                u32max = Math.min(u32max, umax & U32_MAX);
                if ((int) umin <= (int) umax) {
                    s32min = Math.max(s32min, (int) umin);
                    s32max = Math.min(s32max, (int) umax);
                }
            }
            if ((smin >> 32) == (smax >> 32)) {
                u32min = Math.max(u32min, smin & U32_MAX);
                u32max = Math.min(u32max, smax & U32_MAX);
                if ((int) smin <= (int) smax) {
                    s32min = Math.max(s32min, (int) smin);
                    s32max = Math.min(s32max, (int) smax);
                }
            }
            // A u32 range that does not cross the sign bit is also an s32 range, and vice versa.
            if ((int) u32min <= (int) u32max) {
                s32min = Math.max(s32min, (int) u32min);
                s32max = Math.min(s32max, (int) u32max);
            }
            if ((s32min & U32_MAX) <= (s32max & U32_MAX)) {
                u32min = Math.max(u32min, s32min & U32_MAX);
                u32max = Math.min(u32max, s32max & U32_MAX);
            }
        }

        private void deduce64() {
            if (umin <= umax) { // as signed: the unsigned range does not cross the sign bit
                smin = Math.max(smin, umin);
                smax = Math.min(smax, umax);
            }
            if (Long.compareUnsigned(smin, smax) <= 0) {
                umin = umaxOf(umin, smin);
                umax = uminOf(umax, smax);
            } else {
                // The signed range crosses the sign boundary: it is split across both ends of the
                // unsigned domain, and the unsigned range may lie entirely within one part.
                if (Long.compareUnsigned(umax, smin) < 0) {
                    smin = umin;
                    umax = uminOf(umax, smax);
                } else if (Long.compareUnsigned(smax, umin) < 0) {
                    smax = umax;
                    umin = umaxOf(umin, smin);
                }
            }
        }

        private void deduceMixed() {
            long newUmin = (umin & ~U32_MAX) | u32min;
            long newUmax = (umax & ~U32_MAX) | u32max;
            umin = umaxOf(umin, newUmin);
            umax = uminOf(umax, newUmax);
            long newSmin = (smin & ~U32_MAX) | u32min;
            long newSmax = (smax & ~U32_MAX) | u32max;
            smin = Math.max(smin, newSmin);
            smax = Math.min(smax, newSmax);
            if ((s32min & U32_MAX) <= (s32max & U32_MAX)) {
                newUmin = (umin & ~U32_MAX) | (s32min & U32_MAX);
                newUmax = (umax & ~U32_MAX) | (s32max & U32_MAX);
                umin = umaxOf(umin, newUmin);
                umax = uminOf(umax, newUmax);
                newSmin = (smin & ~U32_MAX) | (s32min & U32_MAX);
                newSmax = (smax & ~U32_MAX) | (s32max & U32_MAX);
                smin = Math.max(smin, newSmin);
                smax = Math.min(smax, newSmax);
            }
            // A non-negative subregister and a 64-bit value within s32: the value is the subregister.
            if (s32min >= 0 && smin >= S32_MIN && smax <= S32_MAX) {
                smin = Math.max(smin, s32min);
                smax = Math.min(smax, s32max);
                umin = umaxOf(umin, s32min);
                umax = uminOf(umax, s32max);
                if (smin <= smax) t = t.intersect(Tnum.range(smin, smax));
            }
        }

        void boundOffset() {
            if (Long.compareUnsigned(umin, umax) <= 0) {
                Tnum r = Tnum.range(umin, umax);
                if (t.compatible(r)) t = t.intersect(r);
                // Move the unsigned bounds onto values the tnum allows (e.g. even values only).
                Long lo = t.minAtLeast(umin), hi = t.maxAtMost(umax);
                if (lo == null || hi == null) {
                    umin = -1L;
                    umax = 0; // no member: contradictory, isEmpty() reports it
                } else {
                    umin = lo;
                    umax = hi;
                }
            }
            if (u32min <= u32max) {
                Tnum r32 = Tnum.range(u32min, u32max);
                Tnum low = t.subreg();
                if (low.compatible(r32)) t = t.withSubreg(low.intersect(r32));
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Lattice operations

    /** The least value describing both (used where two paths meet in a widened state). */
    public ScalarValue join(ScalarValue o) {
        return new ScalarValue(tnum.union(o.tnum), Math.min(smin, o.smin), Math.max(smax, o.smax),
                Mutable.uminOf(umin, o.umin), Mutable.umaxOf(umax, o.umax),
                Math.min(s32min, o.s32min), Math.max(s32max, o.s32max),
                Math.min(u32min, o.u32min), Math.max(u32max, o.u32max)).sync();
    }

    /**
     * Widening for loop heads: the join, except that each bound that moved outward jumps to the
     * next threshold (a constant the program compares against) or to the type's extreme. Finite
     * thresholds and a finite-height tnum lattice make every chain of widenings finite.
     */
    public ScalarValue widen(ScalarValue next, NavigableSet<Long> thresholds) {
        long nsmin = next.smin < smin ? below(next.smin, thresholds, Long.MIN_VALUE) : smin;
        long nsmax = next.smax > smax ? above(next.smax, thresholds, Long.MAX_VALUE) : smax;
        long numin = Long.compareUnsigned(next.umin, umin) < 0 ? unsignedBelow(next.umin, thresholds) : umin;
        long numax = Long.compareUnsigned(next.umax, umax) > 0 ? unsignedAbove(next.umax, thresholds) : umax;
        long ns32min = next.s32min < s32min ? Math.max(S32_MIN, below(next.s32min, thresholds, S32_MIN)) : s32min;
        long ns32max = next.s32max > s32max ? Math.min(S32_MAX, above(next.s32max, thresholds, S32_MAX)) : s32max;
        long nu32min = next.u32min < u32min ? Math.max(0, below(next.u32min, thresholds, 0)) : u32min;
        long nu32max = next.u32max > u32max ? Math.min(U32_MAX, above(next.u32max, thresholds, U32_MAX)) : u32max;
        // The tnum must not pull the widened bounds back in, yet should keep what every value
        // shares (e.g. the low zero bits of a stride): every bit from the lowest unknown one up
        // to the widest bound becomes unknown.
        Tnum t = tnum.union(next.tnum);
        boolean moved = nsmin != smin || nsmax != smax || numin != umin || numax != umax
                || ns32min != s32min || ns32max != s32max || nu32min != u32min || nu32max != u32max;
        if (moved && t.mask() != 0) {
            long upTo = nsmin >= 0 && numax >= 0 ? (numax == 0 ? 0 : -1L >>> Long.numberOfLeadingZeros(numax)) : -1L;
            t = new Tnum(t.value(), t.mask() | (upTo & (-1L << Long.numberOfTrailingZeros(t.mask()))));
        }
        return new ScalarValue(t, nsmin, nsmax, numin, numax, ns32min, ns32max, nu32min, nu32max).sync();
    }

    private static long below(long v, NavigableSet<Long> thresholds, long extreme) {
        Long t = thresholds.floor(v);
        return t == null ? extreme : Math.max(t, extreme);
    }

    private static long above(long v, NavigableSet<Long> thresholds, long extreme) {
        Long t = thresholds.ceiling(v);
        return t == null ? extreme : Math.min(t, extreme);
    }

    /** The largest threshold not above {@code v} in unsigned order, or 0. */
    private static long unsignedBelow(long v, NavigableSet<Long> thresholds) {
        if (v < 0) {
            Long t = thresholds.floor(v); // negative thresholds are the large unsigned values
            if (t != null && t < 0) return t;
            Long top = thresholds.floor(Long.MAX_VALUE);
            return top == null || top < 0 ? 0 : top;
        }
        Long t = thresholds.floor(v);
        return t == null || t < 0 ? 0 : t;
    }

    /** The smallest threshold not below {@code v} in unsigned order, or the unsigned maximum. */
    private static long unsignedAbove(long v, NavigableSet<Long> thresholds) {
        if (v >= 0) {
            Long t = thresholds.ceiling(v);
            if (t != null) return t;
            return thresholds.isEmpty() || thresholds.first() >= 0 ? -1L : thresholds.first();
        }
        Long t = thresholds.ceiling(v);
        return t == null || t >= 0 ? -1L : t;
    }

    @Override
    public String toString() {
        if (isConstant()) return Long.toString(tnum.value());
        StringBuilder b = new StringBuilder();
        if (smin != Long.MIN_VALUE) b.append("smin=").append(smin).append(',');
        if (smax != Long.MAX_VALUE) b.append("smax=").append(smax).append(',');
        if (umin != 0) b.append("umin=").append(Long.toUnsignedString(umin)).append(',');
        if (umax != -1L) b.append("umax=").append(Long.toUnsignedString(umax)).append(',');
        if (s32min != S32_MIN) b.append("smin32=").append(s32min).append(',');
        if (s32max != S32_MAX) b.append("smax32=").append(s32max).append(',');
        if (u32min != 0) b.append("umin32=").append(u32min).append(',');
        if (u32max != U32_MAX) b.append("umax32=").append(u32max).append(',');
        if (!tnum.isUnknown()) b.append("var_off=").append(tnum).append(',');
        if (b.isEmpty()) return "";
        b.setLength(b.length() - 1);
        return b.toString();
    }
}
