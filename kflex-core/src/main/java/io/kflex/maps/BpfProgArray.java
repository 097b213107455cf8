package io.kflex.maps;

import io.kflex.engine.TailCallable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * {@code BPF_MAP_TYPE_PROG_ARRAY}: slots of tail-call targets for {@code bpf_tail_call}. The host
 * fills them with {@link #set}; an empty slot or an index out of range makes the tail call fail
 * and the program continue, as in Linux. Programs cannot look slots up.
 */
public final class BpfProgArray extends BpfMap {
    private final AtomicReferenceArray<TailCallable> slots;

    BpfProgArray(MapTable table, MapSpec spec, int id) {
        super(table, spec, id);
        this.slots = new AtomicReferenceArray<>(spec.maxEntries());
    }

    /** Installs {@code program} in slot {@code index} (null empties it). */
    public void set(int index, TailCallable program) {
        if (index < 0 || index >= spec.maxEntries()) {
            throw new IndexOutOfBoundsException("map " + spec.name() + ": slot " + index + " of " + spec.maxEntries());
        }
        slots.set(index, program);
    }

    /** The program in slot {@code index}, or null when it is empty or out of range. */
    public TailCallable get(long index) {
        if (index < 0 || index >= spec.maxEntries()) return null;
        return slots.get((int) index);
    }

    @Override
    public long deleteElem(java.lang.foreign.MemorySegment key) {
        long index = u32(key) & 0xffffffffL;
        if (index >= spec.maxEntries()) return -Errno.E2BIG;
        return slots.getAndSet((int) index, null) == null ? -Errno.ENOENT : 0;
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        throw new UnsupportedOperationException("map " + spec.name() + ": a prog array's slots are read with get(int)");
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": prog array slots are set with set(int, TailCallable)");
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        if (key == null || key.length != 4) throw badKey(key);
        long index = u32(key) & 0xffffffffL;
        if (index >= spec.maxEntries()) throw new MapException(Errno.E2BIG, "map " + spec.name() + ": slot " + index + " out of range");
        return slots.getAndSet((int) index, null) != null;
    }

    @Override
    public List<byte[]> keys() {
        List<byte[]> keys = new ArrayList<>();
        for (int i = 0; i < slots.length(); i++) {
            if (slots.get(i) != null) keys.add(new byte[] {(byte) i, (byte) (i >>> 8), (byte) (i >>> 16), (byte) (i >>> 24)});
        }
        return keys;
    }

    @Override
    public List<Entry> entries() {
        throw new UnsupportedOperationException("map " + spec.name() + ": a prog array holds programs, not values");
    }
}
