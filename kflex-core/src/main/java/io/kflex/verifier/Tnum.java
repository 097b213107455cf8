package io.kflex.verifier;

/**
 * A tristate number ("tnum", as in Linux's {@code kernel/bpf/tnum.c}): every bit is known 0, known
 * 1 or unknown. {@code mask} has the unknown bits set; {@code value} holds the known bits and is 0
 * wherever {@code mask} is 1. The set it describes is every {@code x} with
 * {@code (x & ~mask) == value}.
 */
public record Tnum(long value, long mask) {
    public static final Tnum UNKNOWN = new Tnum(0, -1L);
    public static final Tnum ZERO = new Tnum(0, 0);

    public Tnum {
        value &= ~mask;
    }

    public static Tnum constant(long v) { return new Tnum(v, 0); }

    /** The smallest tnum containing every value in the unsigned range {@code [min, max]}. */
    public static Tnum range(long min, long max) {
        long chi = min ^ max;
        int bits = 64 - Long.numberOfLeadingZeros(chi);
        if (bits > 63) return UNKNOWN;
        long delta = (1L << bits) - 1;
        return new Tnum(min & ~delta, delta);
    }

    public boolean isConstant() { return mask == 0; }

    public boolean isUnknown() { return mask == -1L; }

    /** Whether the concrete value {@code x} is described by this tnum. */
    public boolean contains(long x) { return (x & ~mask) == value; }

    /** Whether every value of {@code other} is a value of this tnum ({@code tnum_in}). */
    public boolean in(Tnum other) {
        if ((other.mask & ~mask) != 0) return false;
        return value == (other.value & ~mask);
    }

    /** Bits strictly above position {@code i}. */
    private static long above(int i) { return i >= 63 ? 0 : -1L << (i + 1); }

    /**
     * The largest member not above {@code u} (unsigned), or {@code null} if none: keep the longest
     * prefix of {@code u} the tnum allows, drop one 1-bit of {@code u} to 0, then take every
     * bit that may be 1 below it.
     */
    public Long maxAtMost(long u) {
        if (contains(u)) return u;
        for (int i = 0; i < 64; i++) {
            boolean uHasOne = ((u >>> i) & 1) != 0;
            boolean mayBeZero = ((value >>> i) & 1) == 0;
            if (!uHasOne || !mayBeZero) continue;
            long high = u & above(i);
            if (((high ^ value) & ~mask & above(i)) != 0) continue;
            long low = i == 0 ? 0 : (value | mask) & (-1L >>> (64 - i));
            return high | low;
        }
        return null;
    }

    /** The smallest member not below {@code l} (unsigned), or {@code null} if none. */
    public Long minAtLeast(long l) {
        if (contains(l)) return l;
        for (int i = 0; i < 64; i++) {
            boolean lHasZero = ((l >>> i) & 1) == 0;
            boolean mayBeOne = (((value | mask) >>> i) & 1) != 0;
            if (!lHasZero || !mayBeOne) continue;
            long high = l & above(i);
            if (((high ^ value) & ~mask & above(i)) != 0) continue;
            long low = i == 0 ? 0 : value & (-1L >>> (64 - i));
            return high | (1L << i) | low;
        }
        return null;
    }

    public long min() { return value; }

    public long max() { return value | mask; }

    public Tnum shiftLeft(int shift) { return new Tnum(value << shift, mask << shift); }

    public Tnum shiftRight(int shift) { return new Tnum(value >>> shift, mask >>> shift); }

    /** Arithmetic right shift of the 64-bit value. */
    public Tnum arithmeticShiftRight(int shift) { return new Tnum(value >> shift, mask >> shift); }

    public Tnum add(Tnum b) {
        long sm = mask + b.mask;
        long sv = value + b.value;
        long sigma = sm + sv;
        long chi = sigma ^ sv;
        long mu = chi | mask | b.mask;
        return new Tnum(sv & ~mu, mu);
    }

    public Tnum sub(Tnum b) {
        long dv = value - b.value;
        long alpha = dv + mask;
        long beta = dv - b.mask;
        long chi = alpha ^ beta;
        long mu = chi | mask | b.mask;
        return new Tnum(dv & ~mu, mu);
    }

    public Tnum and(Tnum b) {
        long alpha = value | mask;
        long beta = b.value | b.mask;
        long v = value & b.value;
        return new Tnum(v, alpha & beta & ~v);
    }

    public Tnum or(Tnum b) {
        long v = value | b.value;
        long mu = mask | b.mask;
        return new Tnum(v, mu & ~v);
    }

    public Tnum xor(Tnum b) {
        long v = value ^ b.value;
        long mu = mask | b.mask;
        return new Tnum(v & ~mu, mu);
    }

    /** Multiplication by long multiplication over known and unknown bits ({@code tnum_mul}). */
    public Tnum mul(Tnum b) {
        Tnum a = this;
        long accValue = value * b.value;
        Tnum accMask = ZERO;
        while (a.value != 0 || a.mask != 0) {
            if ((a.value & 1) != 0) {
                accMask = accMask.add(new Tnum(0, b.mask));
            } else if ((a.mask & 1) != 0) {
                accMask = accMask.add(new Tnum(0, b.value | b.mask));
            }
            a = a.shiftRight(1);
            b = b.shiftLeft(1);
        }
        return new Tnum(accValue, 0).add(accMask);
    }

    /** The values described by both tnums (may describe no value if known bits disagree; see {@link #compatible}). */
    public Tnum intersect(Tnum b) {
        long v = value | b.value;
        long mu = mask & b.mask;
        return new Tnum(v & ~mu, mu);
    }

    /** Whether the two tnums share at least one value (their known bits agree). */
    public boolean compatible(Tnum b) {
        return ((value ^ b.value) & ~mask & ~b.mask) == 0;
    }

    /** The smallest tnum containing both ({@code tnum_union}). */
    public Tnum union(Tnum b) {
        long v = value & b.value;
        long mu = (value ^ b.value) | mask | b.mask;
        return new Tnum(v & ~mu, mu);
    }

    /** Keeps the low {@code bytes} bytes, the rest known zero. */
    public Tnum cast(int bytes) {
        if (bytes >= 8) return this;
        long keep = (1L << (bytes * 8)) - 1;
        return new Tnum(value & keep, mask & keep);
    }

    /** The low 32 bits (zero-extended). */
    public Tnum subreg() { return cast(4); }

    /** Replaces the low 32 bits with those of {@code low}. */
    public Tnum withSubreg(Tnum low) {
        Tnum high = shiftRight(32).shiftLeft(32);
        return high.or(low.subreg());
    }

    /** Sign-extends from bit {@code bits - 1}: exact, since it only copies one (possibly unknown) bit. */
    public Tnum signExtend(int bits) {
        if (bits >= 64) return this;
        int s = 64 - bits;
        return new Tnum((value << s) >> s, (mask << s) >> s);
    }

    /** Reverses the order of the low {@code bits / 8} bytes and zero-extends: a bit permutation, so exact. */
    public Tnum byteSwap(int bits) {
        return switch (bits) {
            case 16 -> new Tnum(Short.reverseBytes((short) value) & 0xffffL, Short.reverseBytes((short) mask) & 0xffffL);
            case 32 -> new Tnum(Integer.reverseBytes((int) value) & 0xffffffffL, Integer.reverseBytes((int) mask) & 0xffffffffL);
            default -> new Tnum(Long.reverseBytes(value), Long.reverseBytes(mask));
        };
    }

    @Override
    public String toString() {
        if (isConstant()) return "0x" + Long.toHexString(value);
        return "(0x" + Long.toHexString(value) + "; 0x" + Long.toHexString(mask) + ")";
    }
}
