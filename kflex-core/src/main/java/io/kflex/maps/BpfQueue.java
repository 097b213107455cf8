package io.kflex.maps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;

/**
 * {@code BPF_MAP_TYPE_QUEUE} (FIFO) and {@code BPF_MAP_TYPE_STACK} (LIFO): keyless maps of at
 * most {@code max_entries} values, used with push, pop and peek. A push into a full map fails with
 * {@code -E2BIG}, unless its flags are {@code BPF_EXIST}, which drops the oldest element to make
 * room (for a stack, the bottom one). Popping or peeking an empty map gives {@code -ENOENT}.
 * Values are copied in and out, so nothing needs reclamation.
 */
public final class BpfQueue extends BpfMap {
    private final boolean stack;
    private final ArrayDeque<byte[]> elements = new ArrayDeque<>();

    BpfQueue(MapTable table, MapSpec spec, int id, boolean stack) {
        super(table, spec, id);
        this.stack = stack;
    }

    public boolean isStack() { return stack; }

    /** Number of elements. */
    public synchronized int size() { return elements.size(); }

    private synchronized long push(byte[] value, long flags) {
        if (flags != BPF_ANY && flags != BPF_EXIST) return -Errno.EINVAL;
        if (elements.size() >= spec.maxEntries()) {
            if (flags != BPF_EXIST) return -Errno.E2BIG;
            elements.pollFirst(); // the oldest, for a queue and for a stack alike
        }
        elements.addLast(value);
        return 0;
    }

    private synchronized byte[] take(boolean remove) {
        if (elements.isEmpty()) return null;
        if (stack) return remove ? elements.pollLast() : elements.peekLast();
        return remove ? elements.pollFirst() : elements.peekFirst();
    }

    @Override
    public long pushElem(MemorySegment value, long flags) {
        return push(value.asSlice(0, spec.valueSize()).toArray(ValueLayout.JAVA_BYTE), flags);
    }

    @Override
    public long popElem(MemorySegment out, boolean remove) {
        byte[] v = take(remove);
        if (v == null) return -Errno.ENOENT;
        MemorySegment.copy(MemorySegment.ofArray(v), 0, out, 0, v.length);
        return 0;
    }

    /** Pushes a copy of {@code value}; {@code flags} 0 or {@code BPF_EXIST} (overwrite the oldest when full). */
    public void pushValue(byte[] value, long flags) throws MapException {
        if (value == null || value.length != spec.valueSize()) {
            throw new MapException(Errno.EINVAL, "map " + spec.name() + ": value of " + (value == null ? "null" : value.length + " bytes") + ", expected " + spec.valueSize());
        }
        long r = push(value.clone(), flags);
        if (r != 0) throw error(r, "map " + spec.name() + ": push refused");
    }

    /** Removes and returns the next element (the oldest of a queue, the newest of a stack). */
    public Optional<byte[]> pop() {
        byte[] v = take(true);
        return v == null ? Optional.empty() : Optional.of(v.clone());
    }

    /** The element {@link #pop} would return, without removing it. */
    public Optional<byte[]> peek() {
        byte[] v = take(false);
        return v == null ? Optional.empty() : Optional.of(v.clone());
    }

    /** As Linux's {@code BPF_MAP_LOOKUP_ELEM} on these maps: a peek; the key must be empty. */
    @Override
    public Optional<byte[]> lookup(byte[] key) {
        if (key != null && key.length != 0) throw new IllegalArgumentException("map " + spec.name() + ": queues and stacks have no keys");
        return peek();
    }

    /** As Linux's {@code BPF_MAP_UPDATE_ELEM} on these maps: a push; the key must be empty. */
    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        if (key != null && key.length != 0) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": queues and stacks have no keys");
        pushValue(value, flags);
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": queues and stacks have no keys to delete; use pop()");
    }

    /** The elements in pop order. */
    public synchronized List<byte[]> snapshot() {
        List<byte[]> out = new java.util.ArrayList<>();
        for (byte[] v : elements) out.add(v.clone());
        if (stack) java.util.Collections.reverse(out);
        return out;
    }

    @Override
    public List<Entry> entries() {
        return snapshot().stream().map(v -> new Entry(new byte[0], v)).toList();
    }
}
