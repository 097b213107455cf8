package io.kflex.verifier;

import io.kflex.isa.AluOp;
import io.kflex.isa.Instruction.ByteSwap;

/**
 * Transfer functions of the ALU on {@link ScalarValue}s. Constants are computed exactly with the
 * ISA's semantics (division by zero yields 0, modulo by zero keeps the dividend, shift amounts are
 * masked); everything else is sound and falls back to "unknown" where precision is not worth it.
 *
 * <p>32-bit operations are computed by evaluating the 64-bit operation on zero- and/or
 * sign-extended operands — exact in 64 bits for every operation whose low 32 result bits only
 * depend on the low 32 operand bits — and truncating: one code path to keep correct instead of two.
 */
public final class ScalarAlu {
    private static final long U32 = ScalarValue.U32_MAX;

    private ScalarAlu() {}

    /** {@code a op b} on 64 bits. MOV returns {@code b}. */
    public static ScalarValue alu64(AluOp op, ScalarValue a, ScalarValue b) {
        if (a.isConstant() && b.isConstant()) return ScalarValue.constant(concrete64(op, a.constantValue(), b.constantValue()));
        return switch (op) {
            case ADD -> add(a, b);
            case SUB -> sub(a, b);
            case MUL -> mul(a, b);
            case DIV -> div(a, b);
            case MOD -> mod(a, b);
            // On non-negative operands signed and unsigned division agree (x/0 and x%0 included).
            case SDIV -> a.smin() >= 0 && b.smin() >= 0 ? div(a, b) : ScalarValue.UNKNOWN;
            case SMOD -> a.smin() >= 0 && b.smin() >= 0 ? mod(a, b) : ScalarValue.UNKNOWN;
            case AND -> and(a, b);
            case OR -> or(a, b);
            case XOR -> xor(a, b);
            case LSH -> b.isConstant() ? lsh(a, (int) (b.constantValue() & 63)) : ScalarValue.UNKNOWN;
            case RSH -> b.isConstant() ? rsh(a, (int) (b.constantValue() & 63)) : ScalarValue.UNKNOWN;
            case ARSH -> b.isConstant() ? arsh(a, (int) (b.constantValue() & 63)) : ScalarValue.UNKNOWN;
            case NEG -> sub(ScalarValue.constant(0), a);
            case MOV -> b;
            case MOVSX8 -> signExtend(b, 8);
            case MOVSX16 -> signExtend(b, 16);
            case MOVSX32 -> signExtend(b, 32);
        };
    }

    /** {@code a op b} on the low 32 bits, zero-extended to 64 like the ISA does. */
    public static ScalarValue alu32(AluOp op, ScalarValue a, ScalarValue b) {
        if (a.isConstant32() && b.isConstant32()) {
            return ScalarValue.constant(concrete32(op, a.tnum().value(), b.tnum().value()));
        }
        ScalarValue za = zeroExtend32(a), zb = zeroExtend32(b);
        ScalarValue sa = signExtend32(a), sb = signExtend32(b);
        return switch (op) {
            // Low bits of these depend only on low bits: both extensions are valid; keep the tighter facts.
            case ADD, SUB, MUL, AND, OR, XOR, NEG ->
                    intersect(truncate32(alu64(op, za, zb)), truncate32(alu64(op, sa, sb)));
            case LSH -> b.isConstant32() ? truncate32(lsh(za, (int) (b.tnum().value() & 31))) : ScalarValue.ofWidth(4);
            case RSH -> b.isConstant32() ? truncate32(rsh(za, (int) (b.tnum().value() & 31))) : ScalarValue.ofWidth(4);
            case ARSH -> b.isConstant32() ? truncate32(arsh(sa, (int) (b.tnum().value() & 31))) : ScalarValue.ofWidth(4);
            case DIV, MOD -> truncate32(alu64(op, za, zb));
            case SDIV, SMOD -> truncate32(alu64(op, sa, sb));
            case MOV -> zeroExtend32(b);
            case MOVSX8 -> truncate32(signExtend(b, 8));
            case MOVSX16 -> truncate32(signExtend(b, 16));
            case MOVSX32 -> zeroExtend32(b);
        };
    }

    /** Byte-order conversion on a little-endian machine: {@code le} truncates, {@code be} and {@code bswap} swap. */
    public static ScalarValue endian(ByteSwap kind, int bits, ScalarValue a) {
        Tnum t = a.tnum();
        Tnum result = kind == ByteSwap.TO_LE ? t.cast(bits / 8) : t.byteSwap(bits);
        if (kind == ByteSwap.TO_LE && bits == 64) return a;
        return ScalarValue.fromTnum(result);
    }

    // ---------------------------------------------------------------------------------------
    // Concrete semantics (shared with tests as the reference)

    public static long concrete64(AluOp op, long a, long b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> b == 0 ? 0 : Long.divideUnsigned(a, b);
            case SDIV -> b == 0 ? 0 : (a == Long.MIN_VALUE && b == -1 ? Long.MIN_VALUE : a / b);
            case MOD -> b == 0 ? a : Long.remainderUnsigned(a, b);
            case SMOD -> b == 0 ? a : (b == -1 ? 0 : a % b);
            case OR -> a | b;
            case AND -> a & b;
            case LSH -> a << (b & 63);
            case RSH -> a >>> (b & 63);
            case ARSH -> a >> (b & 63);
            case NEG -> -a;
            case XOR -> a ^ b;
            case MOV -> b;
            case MOVSX8 -> (byte) b;
            case MOVSX16 -> (short) b;
            case MOVSX32 -> (int) b;
        };
    }

    public static long concrete32(AluOp op, long a64, long b64) {
        int a = (int) a64, b = (int) b64;
        int r = switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> b == 0 ? 0 : Integer.divideUnsigned(a, b);
            case SDIV -> b == 0 ? 0 : (a == Integer.MIN_VALUE && b == -1 ? Integer.MIN_VALUE : a / b);
            case MOD -> b == 0 ? a : Integer.remainderUnsigned(a, b);
            case SMOD -> b == 0 ? a : (b == -1 ? 0 : a % b);
            case OR -> a | b;
            case AND -> a & b;
            case LSH -> a << (b & 31);
            case RSH -> a >>> (b & 31);
            case ARSH -> a >> (b & 31);
            case NEG -> -a;
            case XOR -> a ^ b;
            case MOV -> b;
            case MOVSX8 -> (byte) b;
            case MOVSX16 -> (short) b;
            case MOVSX32 -> b;
        };
        return r & U32;
    }

    // ---------------------------------------------------------------------------------------
    // 64-bit abstract operations

    static ScalarValue add(ScalarValue a, ScalarValue b) {
        long smin, smax, umin, umax;
        try {
            smin = Math.addExact(a.smin(), b.smin());
            smax = Math.addExact(a.smax(), b.smax());
        } catch (ArithmeticException overflow) {
            smin = Long.MIN_VALUE;
            smax = Long.MAX_VALUE;
        }
        umin = a.umin() + b.umin();
        umax = a.umax() + b.umax();
        // Either both ends wrap or neither does; otherwise the range is split and we give up.
        boolean minWraps = Long.compareUnsigned(umin, a.umin()) < 0;
        boolean maxWraps = Long.compareUnsigned(umax, a.umax()) < 0;
        if (minWraps != maxWraps) {
            umin = 0;
            umax = -1L;
        }
        return bounded(a.tnum().add(b.tnum()), smin, smax, umin, umax);
    }

    static ScalarValue sub(ScalarValue a, ScalarValue b) {
        long smin, smax, umin, umax;
        try {
            smin = Math.subtractExact(a.smin(), b.smax());
            smax = Math.subtractExact(a.smax(), b.smin());
        } catch (ArithmeticException overflow) {
            smin = Long.MIN_VALUE;
            smax = Long.MAX_VALUE;
        }
        if (Long.compareUnsigned(a.umin(), b.umax()) < 0) {
            umin = 0;
            umax = -1L;
        } else {
            umin = a.umin() - b.umax();
            umax = a.umax() - b.umin();
        }
        return bounded(a.tnum().sub(b.tnum()), smin, smax, umin, umax);
    }

    static ScalarValue mul(ScalarValue a, ScalarValue b) {
        long umin = 0, umax = -1L, smin = Long.MIN_VALUE, smax = Long.MAX_VALUE;
        if (Math.unsignedMultiplyHigh(a.umax(), b.umax()) == 0) {
            umin = a.umin() * b.umin();
            umax = a.umax() * b.umax();
        }
        try {
            long p1 = Math.multiplyExact(a.smin(), b.smin());
            long p2 = Math.multiplyExact(a.smin(), b.smax());
            long p3 = Math.multiplyExact(a.smax(), b.smin());
            long p4 = Math.multiplyExact(a.smax(), b.smax());
            smin = Math.min(Math.min(p1, p2), Math.min(p3, p4));
            smax = Math.max(Math.max(p1, p2), Math.max(p3, p4));
        } catch (ArithmeticException overflow) {
            // keep the signed range unbounded
        }
        return bounded(a.tnum().mul(b.tnum()), smin, smax, umin, umax);
    }

    static ScalarValue div(ScalarValue a, ScalarValue b) {
        // x / 0 == 0 and x / y <= x, so [0, a.umax] always holds; a divisor known non-zero gives more.
        if (b.umin() != 0) {
            return ScalarValue.unsignedRange(Long.divideUnsigned(a.umin(), b.umax()), Long.divideUnsigned(a.umax(), b.umin()));
        }
        return ScalarValue.unsignedRange(0, a.umax());
    }

    static ScalarValue mod(ScalarValue a, ScalarValue b) {
        // x % 0 == x, and otherwise x % y < y and x % y <= x.
        if (b.umin() != 0) {
            long bound = Long.compareUnsigned(a.umax(), b.umax() - 1) < 0 ? a.umax() : b.umax() - 1;
            if (Long.compareUnsigned(a.umax(), b.umin()) < 0) return a; // dividend always smaller
            return ScalarValue.unsignedRange(0, bound);
        }
        return ScalarValue.unsignedRange(0, a.umax());
    }

    static ScalarValue and(ScalarValue a, ScalarValue b) {
        Tnum t = a.tnum().and(b.tnum());
        long umax = Long.compareUnsigned(a.umax(), b.umax()) <= 0 ? a.umax() : b.umax();
        return bounded(t, Long.MIN_VALUE, Long.MAX_VALUE, t.value(), umax);
    }

    static ScalarValue or(ScalarValue a, ScalarValue b) {
        Tnum t = a.tnum().or(b.tnum());
        long umin = Long.compareUnsigned(a.umin(), b.umin()) >= 0 ? a.umin() : b.umin();
        return bounded(t, Long.MIN_VALUE, Long.MAX_VALUE, umin, t.max());
    }

    static ScalarValue xor(ScalarValue a, ScalarValue b) {
        Tnum t = a.tnum().xor(b.tnum());
        return bounded(t, Long.MIN_VALUE, Long.MAX_VALUE, t.value(), t.max());
    }

    static ScalarValue lsh(ScalarValue a, int shift) {
        long umin = 0, umax = -1L;
        if (shift == 0 || Long.compareUnsigned(a.umax(), -1L >>> shift) <= 0) {
            umin = a.umin() << shift;
            umax = a.umax() << shift;
        }
        return bounded(a.tnum().shiftLeft(shift), Long.MIN_VALUE, Long.MAX_VALUE, umin, umax);
    }

    static ScalarValue rsh(ScalarValue a, int shift) {
        return bounded(a.tnum().shiftRight(shift), Long.MIN_VALUE, Long.MAX_VALUE, a.umin() >>> shift, a.umax() >>> shift);
    }

    static ScalarValue arsh(ScalarValue a, int shift) {
        return bounded(a.tnum().arithmeticShiftRight(shift), a.smin() >> shift, a.smax() >> shift, 0, -1L);
    }

    /** {@code (sN) a} sign-extended to 64 bits. */
    static ScalarValue signExtend(ScalarValue a, int bits) {
        long lo = -(1L << (bits - 1)), hi = (1L << (bits - 1)) - 1;
        if (a.smin() >= lo && a.smax() <= hi) return a;
        return new ScalarValue(a.tnum().signExtend(bits), lo, hi, 0, -1L,
                ScalarValue.S32_MIN, ScalarValue.S32_MAX, 0, U32).sync();
    }

    // ---------------------------------------------------------------------------------------
    // 32-bit helpers

    /** The subregister zero-extended: what a 32-bit ALU operation reads. */
    static ScalarValue zeroExtend32(ScalarValue a) {
        return new ScalarValue(a.tnum().subreg(), 0, U32, a.u32min(), a.u32max(),
                ScalarValue.S32_MIN, ScalarValue.S32_MAX, a.u32min(), a.u32max()).sync();
    }

    /** The subregister sign-extended to 64 bits. */
    static ScalarValue signExtend32(ScalarValue a) {
        return new ScalarValue(a.tnum().signExtend(32), a.s32min(), a.s32max(), 0, -1L,
                a.s32min(), a.s32max(), a.u32min(), a.u32max()).sync();
    }

    /**
     * The low 32 bits of a 64-bit abstract value, zero-extended: a value is kept only where the
     * 64-bit facts pin down the low half (the range does not straddle a 2^32 boundary).
     */
    static ScalarValue truncate32(ScalarValue r) {
        long u32min = 0, u32max = U32, s32min = ScalarValue.S32_MIN, s32max = ScalarValue.S32_MAX;
        if ((r.umin() >>> 32) == (r.umax() >>> 32)) {
            u32min = r.umin() & U32;
            u32max = r.umax() & U32;
        }
        if ((r.smin() >> 32) == (r.smax() >> 32)) {
            u32min = Math.max(u32min, r.smin() & U32);
            u32max = Math.min(u32max, r.smax() & U32);
        }
        if (r.smin() >= ScalarValue.S32_MIN && r.smax() <= ScalarValue.S32_MAX) {
            s32min = r.smin();
            s32max = r.smax();
        }
        s32min = Math.max(s32min, r.s32min());
        s32max = Math.min(s32max, r.s32max());
        u32min = Math.max(u32min, r.u32min());
        u32max = Math.min(u32max, r.u32max());
        return new ScalarValue(r.tnum().subreg(), 0, U32, 0, U32, s32min, s32max, u32min, u32max).sync();
    }

    /** Facts that both hold of the same value. */
    static ScalarValue intersect(ScalarValue a, ScalarValue b) {
        Tnum t = a.tnum().compatible(b.tnum()) ? a.tnum().intersect(b.tnum()) : a.tnum();
        return new ScalarValue(t, Math.max(a.smin(), b.smin()), Math.min(a.smax(), b.smax()),
                Long.compareUnsigned(a.umin(), b.umin()) >= 0 ? a.umin() : b.umin(),
                Long.compareUnsigned(a.umax(), b.umax()) <= 0 ? a.umax() : b.umax(),
                Math.max(a.s32min(), b.s32min()), Math.min(a.s32max(), b.s32max()),
                Math.max(a.u32min(), b.u32min()), Math.min(a.u32max(), b.u32max())).sync();
    }

    private static ScalarValue bounded(Tnum t, long smin, long smax, long umin, long umax) {
        return new ScalarValue(t, smin, smax, umin, umax, ScalarValue.S32_MIN, ScalarValue.S32_MAX, 0, U32).sync();
    }
}
