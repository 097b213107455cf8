package io.kflex.verifier;

import io.kflex.isa.Registers;
import io.kflex.verifier.StackState.ByteKind;
import io.kflex.verifier.Value.LoopDelta;
import io.kflex.verifier.Value.NotInit;
import io.kflex.verifier.Value.Pointer;
import io.kflex.verifier.Value.Scalar;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableSet;
import java.util.function.IntSupplier;

/**
 * Order and widening on whole verifier states. {@link #covers} is Linux's {@code states_equal}
 * with {@code regsafe}/{@code stacksafe}: an explored state covers the current one when every
 * concrete state of the current one is a concrete state of the explored one, so whatever was
 * proven from the explored state holds for the current one too. Ids (packet groups, NULL-able
 * values, references, linked scalars) only have to correspond one-to-one.
 */
final class StateLattice {
    private StateLattice() {}

    /** A one-to-one correspondence between ids of the old and the current state. */
    private static final class IdMap {
        final Map<Integer, Integer> forward = new HashMap<>();
        final Map<Integer, Integer> backward = new HashMap<>();
        /** Scalar ids the old state gives to more than one value; null = all count. */
        java.util.Set<Integer> sharedScalarIds;

        /**
         * A scalar id carried by a single value of the old state links it to nothing, so it
         * constrains nothing (Linux ignores such ids too); only shared ones must correspond.
         */
        boolean checkScalar(int oldId, int curId) {
            if (oldId == 0 || sharedScalarIds != null && !sharedScalarIds.contains(oldId)) return true;
            return check(oldId, curId);
        }

        boolean check(int oldId, int curId) {
            if (oldId == 0) return true;
            if (curId == 0) return false;
            Integer f = forward.putIfAbsent(oldId, curId);
            Integer b = backward.putIfAbsent(curId, oldId);
            return (f == null || f == curId) && (b == null || b == oldId);
        }
    }

    /** Whether {@code old} covers {@code cur} in every register and slot (no liveness). */
    static boolean covers(VerifierState old, VerifierState cur) {
        int[] all = new int[old.frames.size()];
        java.util.Arrays.fill(all, -1);
        long[] allSlots = new long[old.frames.size()];
        java.util.Arrays.fill(allSlots, StackLiveness.ALL);
        return covers(old, cur, all, allSlots);
    }

    /**
     * Whether {@code old} covers {@code cur}, comparing in frame {@code f} only the registers in
     * {@code live[f]} (bit i = ri). A dead register is ignored, except that loop facts it carries
     * still have to hold: they feed termination proofs at back-edges, not reads. Likewise only
     * the stack slots in {@code liveSlots[f]} (bit i = slot i, see {@link StackLiveness}) are
     * compared, dead ones only for their loop facts.
     */
    static boolean covers(VerifierState old, VerifierState cur, int[] live, long[] liveSlots) {
        if (old.frames.size() != cur.frames.size()) return false;
        if (old.refs.size() != cur.refs.size()) return false;
        if (!java.util.Objects.equals(old.lock, cur.lock)) return false;
        IdMap ids = new IdMap();
        ids.sharedScalarIds = sharedScalarIds(old);
        var oi = old.refs.values().iterator();
        var ci = cur.refs.values().iterator();
        while (oi.hasNext()) {
            var o = oi.next();
            var c = ci.next();
            // Same acquisition sites too: the object tables at cancellation points rely on it.
            if (o.kind() != c.kind() || o.pc() != c.pc() || !ids.check(o.id(), c.id())) return false;
        }
        if (!old.iterators.keySet().equals(cur.iterators.keySet())) return false;
        for (var e : old.iterators.entrySet()) {
            if (!ids.check(e.getValue(), cur.iterators.get(e.getKey()))) return false;
        }
        for (int f = 0; f < old.frames.size(); f++) {
            FrameState of = old.frames.get(f), cf = cur.frames.get(f);
            if (of.callsite != cf.callsite || of.callback != cf.callback) return false;
            for (int r = 0; r < Registers.COUNT; r++) {
                if (r != Registers.FP && (live[f] & (1 << r)) == 0) {
                    if (of.regs[r] instanceof Scalar o && !o.deltas().isEmpty()
                            && !(cf.regs[r] instanceof Scalar c && deltasCover(o.deltas(), c.deltas()))) {
                        return false;
                    }
                    continue;
                }
                if (!valueCovers(of.regs[r], cf.regs[r], ids)) return false;
            }
            if (!stackCovers(of.stack, cf.stack, ids, liveSlots[f])) return false;
        }
        return true;
    }

    static boolean valueCovers(Value old, Value cur, IdMap ids) {
        return switch (old) {
            case NotInit n -> true; // the old path never read it, or it would have failed
            case Scalar o -> cur instanceof Scalar c && o.bounds().covers(c.bounds()) && ids.checkScalar(o.id(), c.id())
                    && deltasCover(o.deltas(), c.deltas());
            case Pointer o -> cur instanceof Pointer c && o.kind() == c.kind() && o.off() == c.off() && o.frame() == c.frame()
                    && o.map() == c.map() && o.orNull() == c.orNull() && o.varOff().covers(c.varOff())
                    && rangeCovers(o, c) && ids.check(o.id(), c.id()) && ids.check(o.refId(), c.refId());
        };
    }

    /** Scalar ids that more than one register or spilled slot of {@code st} carries. */
    private static java.util.Set<Integer> sharedScalarIds(VerifierState st) {
        java.util.Set<Integer> seen = new java.util.HashSet<>(), shared = new java.util.HashSet<>();
        for (FrameState f : st.frames) {
            for (Value v : f.regs) if (v instanceof Scalar s && s.id() != 0 && !seen.add(s.id())) shared.add(s.id());
            for (int slot = 0; slot < StackState.SIZE / StackState.SLOT; slot++) {
                if (f.stack.spill(slot * StackState.SLOT) instanceof Scalar s && s.id() != 0 && !seen.add(s.id())) shared.add(s.id());
            }
        }
        return shared;
    }

    private static boolean rangeCovers(Pointer o, Pointer c) {
        if (o.kind().isPacket()) return o.range() <= c.range();
        return o.range() == c.range();
    }

    private static boolean deltasCover(Map<Integer, LoopDelta> old, Map<Integer, LoopDelta> cur) {
        for (var e : old.entrySet()) {
            LoopDelta c = cur.get(e.getKey());
            if (c == null || !c.implies(e.getValue())) return false;
        }
        return true;
    }

    private static boolean stackCovers(StackState old, StackState cur, IdMap ids, long liveSlots) {
        for (int i = 0; i < StackState.SIZE; i++) {
            ByteKind o = old.kind(i), c = cur.kind(i);
            if (!StackLiveness.isLive(liveSlots, i / StackState.SLOT)) {
                // Never read before being overwritten: only a loop fact kept in it still counts.
                if (i % StackState.SLOT == 0 && o == ByteKind.SPILL && old.spill(i) instanceof Scalar os && !os.deltas().isEmpty()
                        && !(c == ByteKind.SPILL && cur.spill(i) instanceof Scalar cs && deltasCover(os.deltas(), cs.deltas()))) {
                    return false;
                }
                continue;
            }
            switch (o) {
                case INVALID -> { }
                case MISC -> {
                    if (c == ByteKind.INVALID) return false;
                    if (c == ByteKind.SPILL && !(cur.spill(i) instanceof Scalar)) return false;
                }
                case ZERO -> {
                    if (c != ByteKind.ZERO && !(c == ByteKind.SPILL && cur.spill(i) instanceof Scalar s && s.isZero())) return false;
                }
                case SPILL -> {
                    if (c != ByteKind.SPILL) return false;
                    if (i % StackState.SLOT == 0 && !valueCovers(old.spill(i), cur.spill(i), ids)) return false;
                }
            }
        }
        return true;
    }

    // -------------------------------------------------------------------------------------------
    // Widening

    /**
     * Thresholds once a loop entry has been widened many times: only 0 and one short of each
     * type's extremes, so bounds settle in a step or two yet "i < n" still leaves room for i + 1.
     */
    static final NavigableSet<Long> HARD_THRESHOLDS = new java.util.TreeSet<>(java.util.List.of(0L, -2L, Long.MAX_VALUE - 1,
            Long.MIN_VALUE + 1, 0xfffffffeL, (long) Integer.MAX_VALUE - 1, (long) Integer.MIN_VALUE + 1));

    /** Fresh ids for groups whose old and current ids differ, assigned consistently across the state. */
    private static final class IdJoin {
        final Map<Long, Integer> joined = new HashMap<>();
        final IntSupplier fresh;

        IdJoin(IntSupplier fresh) { this.fresh = fresh; }

        int join(int a, int b) {
            if (a == b) return a;
            if (a == 0 || b == 0) return -1;
            return joined.computeIfAbsent(((long) a << 32) | (b & 0xffffffffL), k -> fresh.getAsInt());
        }
    }

    /**
     * A state covering both {@code old} and {@code cur}, with scalar bounds widened to
     * {@code thresholds} (or, when {@code hard}, to the few {@link #HARD_THRESHOLDS}), or null when the two cannot be
     * combined (different call stacks, references or locks, or — before widening turns hard —
     * different kinds of value in a live register): the caller then keeps exploring {@code cur}
     * as it is. Registers dead in {@code live} (per frame, bit i = ri) become uninitialised.
     */
    static VerifierState widen(VerifierState old, VerifierState cur, NavigableSet<Long> thresholds, boolean hard, IntSupplier freshId,
                               int[] live, long[] liveSlots) {
        if (old.frames.size() != cur.frames.size() || !old.refs.keySet().equals(cur.refs.keySet())
                || !old.iterators.equals(cur.iterators) || !java.util.Objects.equals(old.lock, cur.lock)) {
            return null;
        }
        VerifierState out = cur.copy();
        IdJoin ids = new IdJoin(freshId);
        for (int f = 0; f < old.frames.size(); f++) {
            FrameState of = old.frames.get(f), cf = cur.frames.get(f), nf = out.frames.get(f);
            if (of.callsite != cf.callsite) return null;
            for (int r = 0; r < Registers.COUNT; r++) {
                if (r != Registers.FP && (live[f] & (1 << r)) == 0) {
                    nf.regs[r] = Value.NOT_INIT; // dead here: its value can never be read
                    continue;
                }
                Value w = widenValue(of.regs[r], cf.regs[r], thresholds, hard, ids);
                // Different kinds of value in a live register: keep exploring unwidened for now
                // (the next iteration usually agrees); after many rounds give the register up.
                if (w instanceof NotInit && !(of.regs[r] instanceof NotInit) && !(cf.regs[r] instanceof NotInit) && !hard) return null;
                nf.regs[r] = w;
            }
            widenStack(of.stack, cf.stack, nf.stack, thresholds, hard, ids, liveSlots[f]);
        }
        return out;
    }

    static Value widenValue(Value old, Value cur, NavigableSet<Long> thresholds, boolean hard, IdJoin ids) {
        if (old instanceof Scalar o && cur instanceof Scalar c) {
            ScalarValue b = o.bounds().widen(c.bounds(), hard ? HARD_THRESHOLDS : thresholds);
            int id = ids.join(o.id(), c.id());
            return new Scalar(b, id < 0 ? 0 : id, commonDeltas(o.deltas(), c.deltas()));
        }
        if (old instanceof Pointer o && cur instanceof Pointer c && o.kind() == c.kind() && o.frame() == c.frame()
                && o.map() == c.map() && o.orNull() == c.orNull() && o.refId() == c.refId()) {
            int id = ids.join(o.id(), c.id());
            if (id < 0) return Value.NOT_INIT;
            if (o.off() == c.off()) {
                ScalarValue v = o.varOff().widen(c.varOff(), hard ? HARD_THRESHOLDS : thresholds);
                boolean sameGroup = id == o.id() && id == c.id();
                long range = o.kind().isPacket() ? (sameGroup && v.equals(c.varOff()) ? Math.min(o.range(), c.range()) : 0) : o.range();
                if (o.kind() == PointerKind.RINGBUF_MEM && o.range() != c.range()) return Value.NOT_INIT;
                return new Pointer(c.kind(), c.off(), v, c.frame(), c.map(), id, c.refId(), range, c.orNull());
            }
            if (o.kind() == PointerKind.CTX || o.kind() == PointerKind.RINGBUF_MEM) return Value.NOT_INIT;
            // Different constant offsets: fold them into a variable offset.
            ScalarValue ov = ScalarAlu.add(o.varOff(), ScalarValue.constant(o.off()));
            ScalarValue cv = ScalarAlu.add(c.varOff(), ScalarValue.constant(c.off()));
            ScalarValue v = ov.widen(cv, hard ? HARD_THRESHOLDS : thresholds);
            int group = o.kind().isPacket() ? (id == 0 ? 0 : ids.fresh.getAsInt()) : id;
            return new Pointer(c.kind(), 0, v, c.frame(), c.map(), group, c.refId(), o.kind().isPacket() ? 0 : o.range(), c.orNull());
        }
        return Value.NOT_INIT;
    }

    private static boolean carriesLoopFacts(StackState s, int base) {
        return s.kind(base) == ByteKind.SPILL && s.spill(base) instanceof Scalar sc && !sc.deltas().isEmpty();
    }

    private static Map<Integer, LoopDelta> commonDeltas(Map<Integer, LoopDelta> a, Map<Integer, LoopDelta> b) {
        if (a.isEmpty() || b.isEmpty()) return Map.of();
        Map<Integer, LoopDelta> out = new HashMap<>();
        for (var e : a.entrySet()) {
            LoopDelta other = b.get(e.getKey());
            if (other != null && other.equals(e.getValue())) out.put(e.getKey(), other);
        }
        return Map.copyOf(out);
    }

    private static void widenStack(StackState old, StackState cur, StackState out, NavigableSet<Long> thresholds, boolean hard, IdJoin ids,
                                   long liveSlots) {
        for (int slot = 0; slot < StackState.SIZE / StackState.SLOT; slot++) {
            int base = slot * StackState.SLOT;
            if (!StackLiveness.isLive(liveSlots, slot) && !carriesLoopFacts(old, base) && !carriesLoopFacts(cur, base)) {
                // Dead here: its content can never be read, so the widened state forgets it.
                for (int i = 0; i < StackState.SLOT; i++) out.setKind(base + i, ByteKind.INVALID);
                out.setSpillValue(slot, null);
                continue;
            }
            if (old.kind(base) == ByteKind.SPILL && cur.kind(base) == ByteKind.SPILL) {
                Value v = widenValue(old.spill(base), cur.spill(base), thresholds, hard, ids);
                if (v instanceof NotInit) {
                    for (int i = 0; i < StackState.SLOT; i++) out.setKind(base + i, ByteKind.INVALID);
                    out.setSpillValue(slot, null);
                } else {
                    out.setSpillValue(slot, v);
                }
                continue;
            }
            boolean pointerSpill = old.kind(base) == ByteKind.SPILL && !(old.spill(base) instanceof Scalar)
                    || cur.kind(base) == ByteKind.SPILL && !(cur.spill(base) instanceof Scalar);
            out.setSpillValue(slot, null);
            for (int i = base; i < base + StackState.SLOT; i++) {
                ByteKind o = old.kind(i), c = cur.kind(i);
                ByteKind k;
                if (pointerSpill || o == ByteKind.INVALID || c == ByteKind.INVALID) k = ByteKind.INVALID;
                else if (o == ByteKind.ZERO && c == ByteKind.ZERO) k = ByteKind.ZERO;
                else k = ByteKind.MISC;
                out.setKind(i, k);
            }
        }
    }
}
