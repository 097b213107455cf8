package io.kflex.verifier;

import java.util.Map;

/**
 * The abstract content of a register or a spilled stack slot: not initialised, a scalar, or a
 * typed pointer. Values are immutable; states copy references freely.
 */
public sealed interface Value permits Value.NotInit, Value.Scalar, Value.Pointer {

    NotInit NOT_INIT = new NotInit();

    /** Never written on this path: reading it is an error. */
    record NotInit() implements Value {
        @Override
        public String toString() { return "?"; }
    }

    /**
     * A number. {@code id} links copies of the same unknown value (Linux's scalar ids): a
     * comparison that refines one refines them all. {@code deltas} records, per loop head, how
     * the value changed since the head relative to an origin location — the facts termination
     * proofs use.
     */
    record Scalar(ScalarValue bounds, int id, Map<Integer, LoopDelta> deltas) implements Value {
        public static final Scalar UNKNOWN = new Scalar(ScalarValue.UNKNOWN, 0, Map.of());

        public static Scalar of(ScalarValue bounds) { return new Scalar(bounds, 0, Map.of()); }

        public static Scalar constant(long v) { return of(ScalarValue.constant(v)); }

        public boolean isConstant() { return bounds.isConstant(); }

        public boolean isZero() { return bounds.isConstant() && bounds.constantValue() == 0; }

        public Scalar withBounds(ScalarValue b) { return new Scalar(b, id, deltas); }

        @Override
        public String toString() {
            String b = bounds.toString();
            if (bounds.isConstant()) return b;
            return "scalar(" + (id != 0 ? "id=" + id + (b.isEmpty() ? "" : ",") : "") + b + ")";
        }
    }

    /**
     * A pointer: {@code off} is the constant offset, {@code varOff} the variable part (a scalar,
     * constant 0 when the offset is known). {@code frame} is the call frame of a stack pointer,
     * {@code map} the index of the map, {@code id} groups packet pointers derived from the same
     * base and names a NULL-able value so a NULL check refines every copy, {@code refId} names the
     * acquired reference of a referenced object, {@code range} is the proven-accessible size
     * (packet: bytes from the group's base; ring-buffer record: its size).
     */
    record Pointer(PointerKind kind, int off, ScalarValue varOff, int frame, int map, int id, int refId,
                   long range, boolean orNull) implements Value {

        public static Pointer of(PointerKind kind) {
            return new Pointer(kind, 0, ScalarValue.constant(0), 0, -1, 0, 0, 0, false);
        }

        public static Pointer stack(int frame) {
            return new Pointer(PointerKind.STACK, 0, ScalarValue.constant(0), frame, -1, 0, 0, 0, false);
        }

        public boolean hasConstantOffset() { return varOff.isConstant(); }

        /** The offset when it is known: {@code off} plus the constant variable part. */
        public long constantOffset() { return off + varOff.constantValue(); }

        public Pointer withOff(int o) { return new Pointer(kind, o, varOff, frame, map, id, refId, range, orNull); }

        public Pointer withVarOff(ScalarValue v) { return new Pointer(kind, off, v, frame, map, id, refId, range, orNull); }

        public Pointer withId(int i) { return new Pointer(kind, off, varOff, frame, map, i, refId, range, orNull); }

        public Pointer withRange(long r) { return new Pointer(kind, off, varOff, frame, map, id, refId, r, orNull); }

        public Pointer nonNull() { return new Pointer(kind, off, varOff, frame, map, id, refId, range, false); }

        @Override
        public String toString() {
            StringBuilder b = new StringBuilder();
            if (kind == PointerKind.STACK && varOff.isConstant() && varOff.constantValue() == 0) {
                return (frame > 0 ? "fp" + off + "[frame " + frame + "]" : "fp" + off);
            }
            b.append(kind.logName()).append(orNull ? "_or_null" : "").append('(');
            if (id != 0) b.append("id=").append(id).append(',');
            if (refId != 0) b.append("ref_obj_id=").append(refId).append(',');
            if (map >= 0) b.append("map=").append(map).append(',');
            if (off != 0) b.append("off=").append(off).append(',');
            if (kind.isPacket() || kind == PointerKind.RINGBUF_MEM) b.append(kind == PointerKind.RINGBUF_MEM ? "size=" : "r=").append(range).append(',');
            if (kind == PointerKind.STACK && frame > 0) b.append("frame=").append(frame).append(',');
            if (!(varOff.isConstant() && varOff.constantValue() == 0)) b.append(varOff).append(',');
            if (b.charAt(b.length() - 1) == ',') b.setLength(b.length() - 1);
            return b.append(')').toString();
        }
    }

    /**
     * How a scalar changed since its loop head: it equals the value location {@code origin} held
     * at the head plus {@code amount}, and no step in between wrapped around (unsigned or signed).
     */
    record LoopDelta(int origin, long amount, boolean noUnsignedWrap, boolean noSignedWrap) {
        /** Whether this delta is at least as strong as {@code old} (same origin and amount, no weaker flags). */
        public boolean implies(LoopDelta old) {
            return origin == old.origin && amount == old.amount
                    && (noUnsignedWrap || !old.noUnsignedWrap) && (noSignedWrap || !old.noSignedWrap);
        }
    }
}
