package io.kflex.maps;

import io.kflex.engine.Bindings;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code BPF_MAP_TYPE_HASH}, {@code PERCPU_HASH}, {@code LRU_HASH} and {@code LRU_PERCPU_HASH}.
 *
 * <p>An index from key to a slot of a {@link ValueSlab}. Plain hashes index with a
 * {@link HashIndex}: lock-free lookups that hash and compare the key where the program keeps it
 * (no copy, no allocation), changes under the index's lock. LRU hashes use an access-ordered map
 * under one lock, which makes "least recently used" exact (Linux approximates it per CPU).
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
    private final int keySize;
    private final ValueSlab slab;
    private final AtomicInteger count = new AtomicInteger();
    private final HashIndex index;
    private final LinkedHashMap<Key, Integer> lruIndex;
    /** LRU only, guarded by {@code lruIndex}: a key lookups copy the program's key into, instead of allocating one. */
    private final Key lruProbe;

    /** A key of an LRU map, compared by content. */
    private record Key(byte[] bytes) {
        static Key copyOf(MemorySegment segment, long offset, int size) {
            byte[] bytes = new byte[size];
            MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, offset, bytes, 0, size);
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
        this.keySize = spec.keySize();
        this.slab = new ValueSlab(table, this, elementSize * cpus, spec.maxEntries(), !spec.readOnlyForProgram());
        this.index = lru ? null : new HashIndex(keySize);
        this.lruIndex = lru ? new LinkedHashMap<>(16, 0.75f, true) : null;
        this.lruProbe = lru ? new Key(new byte[keySize]) : null;
    }

    public boolean perCpu() { return perCpu; }

    public boolean lru() { return lru; }

    /** Number of elements. */
    public int size() { return count.get(); }

    /** Value slots unlinked but still waiting for running invocations to finish. */
    public int slotsAwaitingReclamation() { return slab.retiredCount(); }

    @Override
    public Optional<Bindings.FixedRegion> valueRegion() { return Optional.of(new Bindings.FixedRegion(slab.base, slab.region)); }

    private int cpuOf(int cpu) {
        if (!perCpu) return 0;
        if (cpu < 0 || cpu >= cpus) throw new ExtensionFault("cpu slot " + cpu + " outside the " + cpus + " CPU slots of map " + spec.name());
        return cpu;
    }

    /** The slot of the key at {@code offset} of {@code key}, or -1. */
    private int find(MemorySegment key, long offset) {
        if (!lru) return index.find(key, offset);
        synchronized (lruIndex) {
            MemorySegment.copy(key, ValueLayout.JAVA_BYTE, offset, lruProbe.bytes(), 0, keySize);
            Integer slot = lruIndex.get(lruProbe); // access order: this counts as a use
            return slot == null ? -1 : slot;
        }
    }

    @Override
    public long lookupElem(MemorySegment key, int cpu) {
        return lookupElem(key, 0, cpu);
    }

    @Override
    public long lookupElem(MemorySegment memory, long keyOffset, int cpu) {
        int slot = find(memory, keyOffset);
        return slot < 0 ? 0 : slab.address(slot) + cpuOf(cpu) * elementSize;
    }

    @Override
    public long lookupElem(byte[] key, int keyOffset, int cpu) {
        if (lru) return lookupElem(MemorySegment.ofArray(key), keyOffset, cpu);
        int slot = index.find(key, keyOffset);
        return slot < 0 ? 0 : slab.address(slot) + cpuOf(cpu) * elementSize;
    }

    /**
     * A plain hash map's lookup for keys in arrays, with the index's {@link HashIndex.Shape} and
     * the value slab's place as constants; per-CPU and LRU maps keep the generic one.
     */
    @Override
    public ArrayKeyLookup arrayKeyLookup() {
        if (lru || perCpu) return super.arrayKeyLookup();
        return new PlainLookup(index, index.shape(), slab.base, slab.slotSize);
    }

    /**
     * {@link #lookupElem(byte[], int, int)} of a plain hash map, with the parts that never change as
     * components: the value's address is {@link ValueSlab#address}'s sum with the slab's base and
     * slot size folded in (the slab's own fields are not constants to C2).
     */
    private record PlainLookup(HashIndex index, HashIndex.Shape shape, long valueBase, long slotSize) implements ArrayKeyLookup {
        @Override
        public long lookup(byte[] key, int offset, int cpu) {
            int slot = HashIndex.find(index, shape, key, offset);
            return slot < 0 ? 0 : valueBase + slot * slotSize;
        }
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

    /**
     * The insert/replace logic shared by the program and host faces, for the key at
     * {@code offset} of {@code key}; 0 or a negated errno.
     */
    private long put(MemorySegment key, long offset, ValueWriter writer, long flags) throws MapException {
        long bad = checkUpdateFlags(flags);
        if (bad != 0) return bad;
        long[] result = {0};
        int[] retired = {-1};
        if (!lru) {
            synchronized (index) {
                HashIndex.Node node = index.node(key, offset);
                Integer old = node == null ? null : node.slot;
                Integer now = replace(old, writer, flags, result, retired, false);
                if (now != null && node == null) index.insert(key, offset, now);
                else if (now != null && !now.equals(old)) index.setSlot(node, now);
            }
        } else {
            synchronized (lruIndex) {
                Key k = Key.copyOf(key, offset, keySize);
                // An update its flags refuse is not a use (Linux checks the flags before it
                // touches the element's LRU state): look without reordering first.
                boolean present = lruIndex.containsKey(k);
                if (present && flags == BPF_NOEXIST) {
                    result[0] = -Errno.EEXIST;
                } else if (!present && flags == BPF_EXIST) {
                    result[0] = -Errno.ENOENT;
                } else {
                    Integer old = lruIndex.get(k); // a use: the most recent end
                    Integer now = replace(old, writer, flags, result, retired, true);
                    if (now != null && !now.equals(old)) lruIndex.put(k, now);
                }
            }
        }
        if (retired[0] >= 0) slab.retire(retired[0]);
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

    private long remove(MemorySegment key, long offset) {
        int slot;
        if (!lru) {
            synchronized (index) {
                slot = index.remove(key, offset);
            }
        } else {
            synchronized (lruIndex) {
                Integer s = lruIndex.remove(Key.copyOf(key, offset, keySize));
                slot = s == null ? -1 : s;
            }
        }
        if (slot < 0) return -Errno.ENOENT;
        count.decrementAndGet();
        slab.retire(slot);
        return 0;
    }

    @Override
    public long updateElem(MemorySegment key, MemorySegment value, long flags, int cpu) {
        return updateElem(key, 0, value, flags, cpu);
    }

    @Override
    public long updateElem(MemorySegment memory, long keyOffset, MemorySegment value, long flags, int cpu) {
        try {
            return put(memory, keyOffset, programValue(value, cpu), flags);
        } catch (MapException e) {
            return -e.errno(); // not reached: program values always have the right size
        }
    }

    @Override
    public long deleteElem(MemorySegment key) {
        return remove(key, 0);
    }

    @Override
    public long deleteElem(MemorySegment memory, long keyOffset) {
        return remove(memory, keyOffset);
    }

    @Override
    public long forEachElem(int cpu, ElementVisitor visitor) {
        int c = cpuOf(cpu);
        long n = 0;
        for (HashIndex.Entry e : snapshot()) {
            n++;
            // The slot may have been deleted since the snapshot; the caller's epoch keeps it valid.
            if (visitor.visit(e.key(), slab.address(e.slot()) + c * elementSize)) break;
        }
        return n;
    }

    /** The keys (fresh arrays) and their slots. */
    private List<HashIndex.Entry> snapshot() {
        if (!lru) return index.entries();
        synchronized (lruIndex) {
            return lruIndex.entrySet().stream().map(e -> new HashIndex.Entry(e.getKey().bytes().clone(), e.getValue())).toList();
        }
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        checkKey(key);
        try (var epoch = table.epochs().enter()) {
            int slot = find(MemorySegment.ofArray(key), 0);
            if (slot < 0) return Optional.empty();
            MemorySegment s = slab.slice(slot);
            long length = perCpu ? elementSize * cpus : spec.valueSize();
            return Optional.of(s.asSlice(0, length).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Every CPU's copy of the value under {@code key}. */
    public Optional<List<byte[]>> lookupAllCpus(byte[] key) {
        checkKey(key);
        try (var epoch = table.epochs().enter()) {
            int slot = find(MemorySegment.ofArray(key), 0);
            if (slot < 0) return Optional.empty();
            List<byte[]> out = new ArrayList<>(cpus);
            MemorySegment s = slab.slice(slot);
            for (int c = 0; c < cpus; c++) out.add(s.asSlice(c * elementSize, spec.valueSize()).toArray(ValueLayout.JAVA_BYTE));
            return Optional.of(out);
        }
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        MemorySegment k = MemorySegment.ofArray(key.clone());
        long r;
        long deadline = 0;
        while (true) {
            try (var epoch = table.epochs().enter()) {
                r = put(k, 0, hostValue(value), flags);
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
        return remove(MemorySegment.ofArray(key.clone()), 0) == 0;
    }

    @Override
    public List<byte[]> keys() {
        return snapshot().stream().map(HashIndex.Entry::key).toList();
    }

    @Override
    void release() {
        table.unregister(slab.base);
    }
}
