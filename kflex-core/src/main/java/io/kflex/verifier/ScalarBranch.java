package io.kflex.verifier;

import io.kflex.isa.JumpOp;

/**
 * Branch refinement on scalars (Linux's {@code reg_set_min_max}): what a comparison between two
 * scalars teaches about both on each side of the branch. A side whose facts become contradictory
 * is infeasible — that is how the verifier decides branches whose outcome is known.
 */
public final class ScalarBranch {
    private ScalarBranch() {}

    /** The operands after assuming the comparison came out {@code taken}; null when that cannot happen. */
    public record Refined(ScalarValue dst, ScalarValue src) {}

    public static Refined assume(JumpOp op, boolean wide, ScalarValue a, ScalarValue b, boolean taken) {
        if (op == JumpOp.JSET) return taken ? jsetTaken(wide, a, b) : jsetNotTaken(wide, a, b);
        JumpOp cond = taken ? op : negate(op);
        View x = new View(a, wide), y = new View(b, wide);
        boolean feasible = switch (cond) {
            case JEQ -> equal(x, y);
            case JNE -> notEqual(x, y) && notEqual(y, x);
            case JLT -> lessUnsigned(x, y, true);
            case JLE -> lessUnsigned(x, y, false);
            case JGT -> lessUnsigned(y, x, true);
            case JGE -> lessUnsigned(y, x, false);
            case JSLT -> lessSigned(x, y, true);
            case JSLE -> lessSigned(x, y, false);
            case JSGT -> lessSigned(y, x, true);
            case JSGE -> lessSigned(y, x, false);
            case JSET -> throw new AssertionError();
        };
        if (!feasible) return null;
        ScalarValue ra = x.freeze(), rb = y.freeze();
        if (ra == null || rb == null || ra.isEmpty() || rb.isEmpty()) return null;
        return new Refined(ra, rb);
    }

    /** The condition that holds when {@code op} does not (JSET has no such opcode and is handled apart). */
    public static JumpOp negate(JumpOp op) {
        return switch (op) {
            case JEQ -> JumpOp.JNE;
            case JNE -> JumpOp.JEQ;
            case JGT -> JumpOp.JLE;
            case JLE -> JumpOp.JGT;
            case JGE -> JumpOp.JLT;
            case JLT -> JumpOp.JGE;
            case JSGT -> JumpOp.JSLE;
            case JSLE -> JumpOp.JSGT;
            case JSGE -> JumpOp.JSLT;
            case JSLT -> JumpOp.JSGE;
            case JSET -> JumpOp.JSET;
        };
    }

    /** The bounds of one width (64 bits or the subregister) of a value, edited in place. */
    private static final class View {
        final ScalarValue base;
        final boolean wide;
        long umin, umax, smin, smax;
        Tnum tnum; // the tnum of this width (whole or subregister)
        boolean contradictory;

        View(ScalarValue v, boolean wide) {
            this.base = v;
            this.wide = wide;
            if (wide) {
                umin = v.umin(); umax = v.umax(); smin = v.smin(); smax = v.smax(); tnum = v.tnum();
            } else {
                umin = v.u32min(); umax = v.u32max(); smin = v.s32min(); smax = v.s32max(); tnum = v.tnum().subreg();
            }
        }

        long uMaxValue() { return wide ? -1L : ScalarValue.U32_MAX; }

        long sMinValue() { return wide ? Long.MIN_VALUE : ScalarValue.S32_MIN; }

        long sMaxValue() { return wide ? Long.MAX_VALUE : ScalarValue.S32_MAX; }

        boolean isConstant() { return tnum.isConstant(); }

        long constant() { return tnum.value(); }

        ScalarValue freeze() {
            if (contradictory) return null;
            ScalarValue v = base;
            ScalarValue r = wide
                    ? new ScalarValue(tnum, smin, smax, umin, umax, v.s32min(), v.s32max(), v.u32min(), v.u32max())
                    : new ScalarValue(v.tnum().withSubreg(tnum), v.smin(), v.smax(), v.umin(), v.umax(), smin, smax, umin, umax);
            if (r.isEmpty()) return null;
            r = r.sync();
            return r.isEmpty() ? null : r;
        }
    }

    private static long umaxOf(long a, long b) { return Long.compareUnsigned(a, b) >= 0 ? a : b; }

    private static long uminOf(long a, long b) { return Long.compareUnsigned(a, b) <= 0 ? a : b; }

    private static boolean equal(View x, View y) {
        if (!x.tnum.compatible(y.tnum)) return false;
        Tnum t = x.tnum.intersect(y.tnum);
        x.tnum = t;
        y.tnum = t;
        long umin = umaxOf(x.umin, y.umin), umax = uminOf(x.umax, y.umax);
        long smin = Math.max(x.smin, y.smin), smax = Math.min(x.smax, y.smax);
        x.umin = y.umin = umin;
        x.umax = y.umax = umax;
        x.smin = y.smin = smin;
        x.smax = y.smax = smax;
        return Long.compareUnsigned(umin, umax) <= 0 && smin <= smax;
    }

    /** x != y where y is a constant: x's bounds shrink when they sit exactly on it. */
    private static boolean notEqual(View x, View y) {
        if (!y.isConstant()) return true;
        long c = y.constant();
        if (x.isConstant()) return x.constant() != c;
        long sc = x.wide ? c : (int) c;
        if (x.umin == c) x.umin++;
        if (x.umax == c) x.umax--;
        if (x.smin == sc) x.smin++;
        if (x.smax == sc) x.smax--;
        return true;
    }

    /** x < y (strict) or x <= y, unsigned. */
    private static boolean lessUnsigned(View x, View y, boolean strict) {
        if (strict) {
            if (y.umax == 0 || x.umin == x.uMaxValue()) return false;
            x.umax = uminOf(x.umax, y.umax - 1);
            y.umin = umaxOf(y.umin, x.umin + 1);
        } else {
            x.umax = uminOf(x.umax, y.umax);
            y.umin = umaxOf(y.umin, x.umin);
        }
        return Long.compareUnsigned(x.umin, x.umax) <= 0 && Long.compareUnsigned(y.umin, y.umax) <= 0;
    }

    private static boolean lessSigned(View x, View y, boolean strict) {
        if (strict) {
            if (y.smax == y.sMinValue() || x.smin == x.sMaxValue()) return false;
            x.smax = Math.min(x.smax, y.smax - 1);
            y.smin = Math.max(y.smin, x.smin + 1);
        } else {
            x.smax = Math.min(x.smax, y.smax);
            y.smin = Math.max(y.smin, x.smin);
        }
        return x.smin <= x.smax && y.smin <= y.smax;
    }

    private static Refined jsetTaken(boolean wide, ScalarValue a, ScalarValue b) {
        View x = new View(a, wide), y = new View(b, wide);
        if ((x.tnum.max() & y.tnum.max()) == 0) return null; // no bit can be set in both
        // A single-bit constant mask means that bit is set in the other operand.
        if (y.isConstant() && Long.bitCount(y.constant()) == 1) x.tnum = x.tnum.intersect(new Tnum(y.constant(), ~y.constant()));
        else if (x.isConstant() && Long.bitCount(x.constant()) == 1) y.tnum = y.tnum.intersect(new Tnum(x.constant(), ~x.constant()));
        ScalarValue ra = x.freeze(), rb = y.freeze();
        return ra == null || rb == null ? null : new Refined(ra, rb);
    }

    private static Refined jsetNotTaken(boolean wide, ScalarValue a, ScalarValue b) {
        View x = new View(a, wide), y = new View(b, wide);
        if ((x.tnum.value() & y.tnum.value()) != 0) return null; // a common bit is known set
        if (y.isConstant()) x.tnum = x.tnum.intersect(new Tnum(0, ~y.constant() & (wide ? -1L : ScalarValue.U32_MAX)));
        if (x.isConstant()) y.tnum = y.tnum.intersect(new Tnum(0, ~x.constant() & (wide ? -1L : ScalarValue.U32_MAX)));
        ScalarValue ra = x.freeze(), rb = y.freeze();
        return ra == null || rb == null ? null : new Refined(ra, rb);
    }
}
