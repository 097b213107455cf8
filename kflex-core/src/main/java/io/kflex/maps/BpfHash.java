package io.kflex.maps;

import io.kflex.engine.ExtensionFault;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code BPF_MAP_TYPE_HASH}, {@code PERCPU_HASH}, {@code LRU_HASH} and {@code LRU_PERCPU_HASH}.
 *
 * <p>An index from key to a slot of a {@link ValueSlab}. Plain hashes index with a
 * {@link ConcurrentHashMap} (lock-free lookups); LRU hashes with an access-ordered map under one
 * lock, which makes "least recently used" exact (Linux approximates it per CPU).
 *
 * <p>Semantics as in Linux: inserting into a full map fails with {@code -E2BIG}, except that an
 * LRU map evicts its least recently used element (lookups and updates count as uses). Replacing
 * the value of a plain hash element installs a new slot and retires the old one, so a program
 * that looked the old value up keeps reading the old value, never a torn one; per-CPU elements
 * are updated in place (only the writer's CPU copy when a program updates). Deleted and replaced
 * slots are reused only after every invocation that might hold them has finished ({@link Epochs}).
 */
public final class BpfHash extends BpfMap {
    /** How long a host update waits for running invocations to release retired slots before giving up with ENOMEM. */
    static final long HOST_RECLAIM_WAIT_NANOS = 2_000_000_000L;

    private final boolean perCpu;
    private final boolean lru;
    private final int cpus;
    private final long elementSize;
    private final ValueSlab slab;
    private final AtomicInteger count = new AtomicInteger();
    private final ConcurrentHashMap<Key, Integer> index;
    private final LinkedHashMap<Key, Integer> lruIndex;

    /** A key compared by content. */
    private record Key(byte[] bytes) {
        static Key of(MemorySegment segment) {
            // A plain copy: MemorySegment.toArray goes through a reflective type check that showed
            // up at ~5% of a short program's run (one lookup per packet).
            byte[] bytes = new byte[Math.toIntExact(segment.byteSize())];
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, 0, bytes, 0, bytes.length);
            return new Key(bytes);
        }

        @Override
        public boolean equals(Object o) { return o instanceof Key k && Arrays.equals(bytes, k.bytes); }

        @Override
        public int hashCode() { return Arrays.hashCode(bytes); }
    }

    BpfHash(MapTable table, MapSpec spec, int id, boolean perCpu, boolean lru) throws MapException {
        super(table, spec, id);
        this.perCpu = perCpu;
        this.lru = lru;
        this.cpus = perCpu ? table.cpus() : 1;
        this.elementSize = roundUp8(spec.valueSize());
        this.slab = new ValueSlab(table, this, elementSize * cpus, spec.maxEntries(), !spec.readOnlyForProgram());
        this.index = lru ? null : new ConcurrentHashMap<>();
        this.lruIndex = lru ? new LinkedHashMap<>(16, 0.75f, true) : null;
    }

    public boolean perCpu() { return perCpu; }

    public boolean lru() { return lru; }

    /** Number of elements. */
    public int size() { return count.get(); }

    /** Value slots unlinked but still waiting for running invocations to finish. */
    public int slotsAwaitingReclamation() { return slab.retiredCount(); }

    private int cpuOf(int cpu) {
        if (!perCpu) return 0;
        if (cpu < 0 || cpu >= cpus) throw new ExtensionFault("cpu slot " + cpu + " outside the " + cpus + " CPU slots of map " + spec.name());
        return cpu;
    }

    private Integer find(Key key) {
        if (!lru) return index.get(key);
        synchronized (lruIndex) {
            return lruIndex.get(key); // access order: this counts as a use
        }
    }

    @Override
    public long lookupElem(MemorySegment key, int cpu) {
        Integer slot = find(Key.of(key));
        return slot == null ? 0 : slab.address(slot) + cpuOf(cpu) * elementSize;
    }

    /** What an update writes into a slot. */
    private interface ValueWriter {
        /** Fills a new slot. */
        void fresh(MemorySegment slot) throws MapException;

        /** Updates a per-CPU slot in place. */
        void inPlace(MemorySegment slot) throws MapException;
    }

    private ValueWriter programValue(MemorySegment value, int cpu) {
        int c = cpuOf(cpu);
        return new ValueWriter() {
            @Override
            public void fresh(MemorySegment slot) {
                slot.fill((byte) 0); // other CPUs' copies start at zero, as in Linux
                MemorySegment.copy(value, 0, slot, c * elementSize, spec.valueSize());
            }

            @Override
            public void inPlace(MemorySegment slot) {
                MemorySegment.copy(value, 0, slot, c * elementSize, spec.valueSize());
            }
        };
    }

    private ValueWriter hostValue(byte[] value) {
        return new ValueWriter() {
            @Override
            public void fresh(MemorySegment slot) throws MapException {
                slot.fill((byte) 0);
                BpfArray.writeHostValue(slot, 0, value, spec, cpus, perCpu);
            }

            @Override
            public void inPlace(MemorySegment slot) throws MapException {
                BpfArray.writeHostValue(slot, 0, value, spec, cpus, perCpu);
            }
        };
    }

    /** The insert/replace logic shared by the program and host faces; 0 or a negated errno. */
    private long put(Key key, ValueWriter writer, long flags) throws MapException {
        long bad = checkUpdateFlags(flags);
        if (bad != 0) return bad;
        long[] result = {0};
        int[] retired = {-1};
        MapException[] failure = {null};
        if (!lru) {
            index.compute(key, (k, old) -> {
                try {
                    return replace(old, writer, flags, result, retired, false);
                } catch (MapException e) {
                    failure[0] = e;
                    return old;
                }
            });
        } else {
            synchronized (lruIndex) {
                Integer old = lruIndex.get(key);
                Integer now = replace(old, writer, flags, result, retired, true);
                if (now != null && !now.equals(old)) lruIndex.put(key, now);
            }
        }
        if (retired[0] >= 0) slab.retire(retired[0]);
        if (failure[0] != null) throw failure[0];
        return result[0];
    }

    /** Called with the index entry locked: decides and prepares the slot {@code key} maps to next. */
    private Integer replace(Integer old, ValueWriter writer, long flags, long[] result, int[] retired, boolean mayEvict) throws MapException {
        if (old != null && flags == BPF_NOEXIST) {
            result[0] = -Errno.EEXIST;
            return old;
        }
        if (old == null && flags == BPF_EXIST) {
            result[0] = -Errno.ENOENT;
            return null;
        }
        if (old != null && perCpu) {
            writer.inPlace(slab.slice(old));
            return old;
        }
        boolean counted = false;
        if (old == null) {
            if (!reserveCount()) {
                if (!mayEvict || !evictOldest(retired)) {
                    result[0] = -Errno.E2BIG;
                    return null;
                }
                // the evicted element's place in the count goes to the new one
            }
            counted = true;
        }
        int slot = slab.allocate();
        if (slot < 0) {
            if (counted) count.decrementAndGet();
            result[0] = -Errno.ENOMEM;
            return old;
        }
        try {
            writer.fresh(slab.slice(slot));
        } catch (MapException e) {
            slab.free(slot);
            if (counted) count.decrementAndGet();
            throw e;
        }
        if (old != null) retired[0] = old;
        return slot;
    }

    private boolean reserveCount() {
        while (true) {
            int c = count.get();
            if (c >= spec.maxEntries()) return false;
            if (count.compareAndSet(c, c + 1)) return true;
        }
    }

    /** LRU only, with the index locked: removes the least recently used element. */
    private boolean evictOldest(int[] retired) {
        Iterator<Map.Entry<Key, Integer>> it = lruIndex.entrySet().iterator();
        if (!it.hasNext()) return false;
        int slot = it.next().getValue();
        it.remove();
        // Retired after the new slot is allocated: the caller retires retired[0] only for
        // replacements, so retire the evicted slot now.
        slab.retire(slot);
        return true;
    }

    private long remove(Key key) {
        Integer slot;
        if (!lru) {
            slot = index.remove(key);
        } else {
            synchronized (lruIndex) {
                slot = lruIndex.remove(key);
            }
        }
        if (slot == null) return -Errno.ENOENT;
        count.decrementAndGet();
        slab.retire(slot);
        return 0;
    }

    @Override
    public long updateElem(MemorySegment key, MemorySegment value, long flags, int cpu) {
        try {
            return put(Key.of(key), programValue(value, cpu), flags);
        } catch (MapException e) {
            return -e.errno(); // not reached: program values always have the right size
        }
    }

    @Override
    public long deleteElem(MemorySegment key) {
        return remove(Key.of(key));
    }

    @Override
    public long forEachElem(int cpu, ElementVisitor visitor) {
        int c = cpuOf(cpu);
        long n = 0;
        for (Map.Entry<Key, Integer> e : snapshot()) {
            n++;
            // The slot may have been deleted since the snapshot; the caller's epoch keeps it valid.
            if (visitor.visit(e.getKey().bytes().clone(), slab.address(e.getValue()) + c * elementSize)) break;
        }
        return n;
    }

    private List<Map.Entry<Key, Integer>> snapshot() {
        if (!lru) return new ArrayList<>(index.entrySet()).stream().map(e -> Map.entry(e.getKey(), e.getValue())).toList();
        synchronized (lruIndex) {
            return lruIndex.entrySet().stream().map(e -> Map.entry(e.getKey(), e.getValue())).toList();
        }
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        checkKey(key);
        try (var epoch = table.epochs().enter()) {
            Integer slot = find(new Key(key.clone()));
            if (slot == null) return Optional.empty();
            MemorySegment s = slab.slice(slot);
            long length = perCpu ? elementSize * cpus : spec.valueSize();
            return Optional.of(s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Every CPU's copy of the value under {@code key}. */
    public Optional<List<byte[]>> lookupAllCpus(byte[] key) {
        checkKey(key);
        try (var epoch = table.epochs().enter()) {
            Integer slot = find(new Key(key.clone()));
            if (slot == null) return Optional.empty();
            List<byte[]> out = new ArrayList<>(cpus);
            MemorySegment s = slab.slice(slot);
            for (int c = 0; c < cpus; c++) out.add(s.asSlice(c * elementSize, spec.valueSize()).toArray(ValueLayout.JAVA_BYTE));
            return Optional.of(out);
        }
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        Key k = new Key(key.clone());
        long r;
        long deadline = 0;
        while (true) {
            try (var epoch = table.epochs().enter()) {
                r = put(k, hostValue(value), flags);
            }
            // Out of slots only because running invocations still hold retired ones: the host may
            // wait for them to finish (a program may not: it gets -ENOMEM at once). Not when the
            // caller itself is inside an invocation, whose own epoch would hold them forever.
            if (r != -Errno.ENOMEM || slab.retiredCount() == 0 || table.epochs().inside()) break;
            if (deadline == 0) deadline = System.nanoTime() + HOST_RECLAIM_WAIT_NANOS;
            else if (System.nanoTime() - deadline > 0) break;
            java.util.concurrent.locks.LockSupport.parkNanos(20_000);
        }
        if (r != 0) throw error(r, "map " + spec.name() + ": update refused");
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        return remove(new Key(key.clone())) == 0;
    }

    @Override
    public List<byte[]> keys() {
        return snapshot().stream().map(e -> e.getKey().bytes().clone()).toList();
    }

    @Override
    void release() {
        table.unregister(slab.base);
    }
}
