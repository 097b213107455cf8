package io.kflex.verifier;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import java.util.TreeMap;

/**
 * The abstract machine state on one path: the call frames (innermost last), the references the
 * program holds and must release, and the spin lock it holds, if any.
 */
public final class VerifierState {
    /** A reference acquired by a helper at slot {@code pc}, released by a matching helper. */
    public record Reference(int id, PointerKind kind, int pc) {}

    /** The spin lock held: the map and the offset of the lock inside its value. */
    public record Lock(int map, long offset) {}

    final List<FrameState> frames;
    final TreeMap<Integer, Reference> refs;
    /**
     * Live numeric iterators: the stack slot ({@link #iteratorSlot}) holding each, mapped to its
     * reference id. The slot's spilled scalar counts the iterator's non-NULL steps.
     */
    final TreeMap<Integer, Integer> iterators;
    Lock lock;
    /**
     * Per loop head on this path: the state the current iteration started from (the base the
     * next back-edge arrival widens against) and how often this loop entry has been widened.
     * Bookkeeping of the exploration, not part of the abstract state: never compared.
     */
    final Map<Integer, VerifierState> iterationStart;
    final Map<Integer, Integer> widenings;

    VerifierState() {
        frames = new ArrayList<>();
        refs = new TreeMap<>();
        iterators = new TreeMap<>();
        iterationStart = new HashMap<>();
        widenings = new HashMap<>();
    }

    private VerifierState(VerifierState o) {
        frames = new ArrayList<>(o.frames.size());
        for (FrameState f : o.frames) frames.add(f.copy());
        refs = new TreeMap<>(o.refs);
        iterators = new TreeMap<>(o.iterators);
        lock = o.lock;
        iterationStart = new HashMap<>(o.iterationStart);
        widenings = new HashMap<>(o.widenings);
    }

    /** A copy for storing at a prune point: without loop bookkeeping, so stored states do not chain. */
    VerifierState snapshot() {
        VerifierState s = new VerifierState(this);
        s.iterationStart.clear();
        s.widenings.clear();
        return s;
    }

    /** The key of stack slot {@code slot} (0..63, from the frame's bottom) of frame {@code frame} in {@link #iterators}. */
    static int iteratorSlot(int frame, int slot) { return frame * (StackState.SIZE / StackState.SLOT) + slot; }

    public VerifierState copy() { return new VerifierState(this); }

    public FrameState current() { return frames.getLast(); }

    /**
     * Rewrites every register and spilled slot of every frame with {@code f} (returning its
     * argument unchanged where nothing applies). A spill rewritten to {@link Value.NotInit}
     * becomes unreadable bytes.
     */
    void rewriteValues(java.util.function.UnaryOperator<Value> f) {
        for (FrameState frame : frames) {
            for (int r = 0; r < frame.regs.length; r++) frame.regs[r] = f.apply(frame.regs[r]);
            for (int slot = 0; slot < StackState.SIZE / StackState.SLOT; slot++) {
                Value v = frame.stack.spill(slot * StackState.SLOT);
                if (v == null) continue;
                Value w = f.apply(v);
                if (w == v) continue;
                if (w instanceof Value.NotInit) {
                    for (int i = 0; i < StackState.SLOT; i++) frame.stack.setKind(slot * StackState.SLOT + i, StackState.ByteKind.INVALID);
                    frame.stack.setSpillValue(slot, null);
                } else {
                    frame.stack.setSpillValue(slot, w);
                }
            }
        }
    }

    public List<FrameState> frames() { return frames; }

    public String render() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < frames.size(); i++) {
            if (frames.size() > 1) b.append(i == 0 ? "" : " | ").append("frame").append(i).append(": ");
            b.append(frames.get(i).render());
        }
        if (!refs.isEmpty()) b.append(" refs=").append(refs.keySet());
        if (!iterators.isEmpty()) b.append(" iters=").append(iterators.values());
        if (lock != null) b.append(" lock=map").append(lock.map()).append('+').append(lock.offset());
        return b.toString();
    }
}
