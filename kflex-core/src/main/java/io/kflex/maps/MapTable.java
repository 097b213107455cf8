package io.kflex.maps;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The maps of one runtime: creates them with Linux's validation, gives each an id and a handle
 * ({@link MapHandles}), places their values in the runtime's {@link SharedRegions} so that every
 * invocation sees them at the same addresses, and owns the {@link Epochs} that keep value
 * pointers valid while invocations run. Thread-safe.
 */
public final class MapTable {
    /** The largest region a map's values may occupy: one address-space window. */
    public static final long MAX_REGION = AddressSpace.WINDOW_SIZE;

    /** Linux's bound on hash keys (a key is read from the 512-byte stack). */
    public static final int MAX_KEY_SIZE = 512;

    /** The largest value size accepted (Linux's is about KMALLOC_MAX_SIZE; global data sections may be large). */
    public static final int MAX_VALUE_SIZE = 1 << 26;

    private final SharedRegions regions;
    private final int cpus;
    private final Epochs epochs = new Epochs();
    private volatile java.util.function.UnaryOperator<io.kflex.heap.HeapConfig> heapPolicy = java.util.function.UnaryOperator.identity();
    private final AtomicInteger nextId = new AtomicInteger(1);
    private final ConcurrentHashMap<Integer, BpfMap> byId = new ConcurrentHashMap<>();
    /**
     * The open maps with the first {@link #DENSE_IDS} ids, indexed by id: what a helper resolves
     * a handle through, on every call that is not bound to its map, without boxing the id or
     * hashing. Copied on write (maps are created and closed rarely); later ids use {@link #byId}.
     */
    private volatile BpfMap[] dense = new BpfMap[16];
    private static final int DENSE_IDS = 1 << 16;
    private final ConcurrentHashMap<Long, BpfMap> byWindow = new ConcurrentHashMap<>();

    /** A table whose per-CPU maps have one slot per available processor. */
    public MapTable(SharedRegions regions) {
        this(regions, Runtime.getRuntime().availableProcessors());
    }

    /** A table whose per-CPU maps have {@code cpus} slots ({@code Invocation.cpu()} must be below it). */
    public MapTable(SharedRegions regions, int cpus) {
        this.regions = Objects.requireNonNull(regions);
        if (regions == SharedRegions.NONE) throw new IllegalArgumentException("maps need a SharedRegions table of their own, not NONE");
        if (cpus < 1 || cpus > 4096) throw new IllegalArgumentException("cpu slots " + cpus);
        this.cpus = cpus;
    }

    public SharedRegions regions() { return regions; }

    /**
     * How the heaps of arena maps created from now on are configured beyond what the object
     * declares (checked mode, a memory limit, a backing file, the lock timeout): {@code policy}
     * gets the declared configuration and returns the one to use.
     */
    public void heapPolicy(java.util.function.UnaryOperator<io.kflex.heap.HeapConfig> policy) {
        this.heapPolicy = java.util.Objects.requireNonNull(policy);
    }

    io.kflex.heap.HeapConfig configureHeap(io.kflex.heap.HeapConfig declared) {
        return heapPolicy.apply(declared);
    }

    /** CPU slots of per-CPU maps. */
    public int cpus() { return cpus; }

    /** The epochs every invocation that uses these maps must run inside. */
    public Epochs epochs() { return epochs; }

    /**
     * Creates a map.
     *
     * @throws MapException with {@code EINVAL} for a malformed or unsupported declaration,
     *     {@code E2BIG} when its values cannot fit in one map region
     */
    public BpfMap create(MapSpec spec) throws MapException {
        validate(spec);
        int id = nextId.getAndIncrement();
        BpfMap map = switch (spec.type()) {
            case MapSpec.ARRAY, MapSpec.DEVMAP -> new BpfArray(this, spec, id, false);
            case MapSpec.DEVMAP_HASH -> new BpfHash(this, spec, id, false, false);
            case MapSpec.PERCPU_ARRAY -> new BpfArray(this, spec, id, true);
            case MapSpec.HASH -> new BpfHash(this, spec, id, false, false);
            case MapSpec.PERCPU_HASH -> new BpfHash(this, spec, id, true, false);
            case MapSpec.LRU_HASH -> new BpfHash(this, spec, id, false, true);
            case MapSpec.LRU_PERCPU_HASH -> new BpfHash(this, spec, id, true, true);
            case MapSpec.PROG_ARRAY -> new BpfProgArray(this, spec, id);
            case MapSpec.ARRAY_OF_MAPS -> new BpfMapOfMaps(this, spec, id, false);
            case MapSpec.HASH_OF_MAPS -> new BpfMapOfMaps(this, spec, id, true);
            case MapSpec.QUEUE -> new BpfQueue(this, spec, id, false);
            case MapSpec.STACK -> new BpfQueue(this, spec, id, true);
            case MapSpec.RINGBUF -> new BpfRingBuf(this, spec, id);
            case MapSpec.ARENA -> new BpfArena(this, spec, id);
            default -> throw new IllegalStateException("validated type " + spec.type());
        };
        byId.put(id, map);
        setDense(id, map);
        return map;
    }

    private static void validate(MapSpec s) throws MapException {
        String m = "map " + s.name() + ": ";
        int type = s.type();
        if (type == MapSpec.ARENA) {
            // max_entries pages of 4 KiB: the heap checks the size is a power of two up to 4 GiB.
            if (s.keySize() != 0 || s.valueSize() != 0) throw new MapException(Errno.EINVAL, m + "an arena has no key or value size");
            if (s.maxEntries() == 0) throw new MapException(Errno.EINVAL, m + "an arena of 0 pages");
            return;
        }
        if (s.maxEntries() == 0) throw new MapException(Errno.EINVAL, m + "max_entries is 0");
        switch (type) {
            case MapSpec.DEVMAP, MapSpec.DEVMAP_HASH -> {
                // Values are a u32 ifindex, or struct bpf_devmap_val {ifindex; prog fd} (8 bytes).
                if (s.keySize() != 4) throw new MapException(Errno.EINVAL, m + "a device map's key is a 4-byte index, not " + s.keySize() + " bytes");
                if (s.valueSize() != 4 && s.valueSize() != 8) throw new MapException(Errno.EINVAL, m + "a device map's value is 4 or 8 bytes, not " + s.valueSize());
            }
            case MapSpec.ARRAY, MapSpec.PERCPU_ARRAY, MapSpec.PROG_ARRAY, MapSpec.ARRAY_OF_MAPS -> {
                if (s.keySize() != 4) throw new MapException(Errno.EINVAL, m + "an array's key is a 4-byte index, not " + s.keySize() + " bytes");
            }
            case MapSpec.HASH, MapSpec.PERCPU_HASH, MapSpec.LRU_HASH, MapSpec.LRU_PERCPU_HASH, MapSpec.HASH_OF_MAPS -> {
                if (s.keySize() == 0) throw new MapException(Errno.EINVAL, m + "a hash map needs a key size");
                if (s.keySize() > MAX_KEY_SIZE) throw new MapException(Errno.E2BIG, m + "key of " + s.keySize() + " bytes, more than " + MAX_KEY_SIZE);
            }
            case MapSpec.QUEUE, MapSpec.STACK, MapSpec.RINGBUF -> {
                if (s.keySize() != 0) throw new MapException(Errno.EINVAL, m + "this map type has no key, but key size is " + s.keySize());
            }
            default -> throw new MapException(Errno.EINVAL, m + "map type " + type + " is not supported");
        }
        switch (type) {
            case MapSpec.PROG_ARRAY, MapSpec.ARRAY_OF_MAPS, MapSpec.HASH_OF_MAPS -> {
                if (s.valueSize() != 4) throw new MapException(Errno.EINVAL, m + "values are 4-byte ids, not " + s.valueSize() + " bytes");
                if ((type != MapSpec.PROG_ARRAY) && s.innerMap() != null && (s.innerMap().type() == MapSpec.ARRAY_OF_MAPS || s.innerMap().type() == MapSpec.HASH_OF_MAPS)) {
                    throw new MapException(Errno.EINVAL, m + "an inner map cannot itself be a map of maps");
                }
            }
            case MapSpec.RINGBUF -> {
                long size = s.maxEntries() & 0xffffffffL;
                if (s.valueSize() != 0) throw new MapException(Errno.EINVAL, m + "a ring buffer has no value size, but it is " + s.valueSize());
                if (Long.bitCount(size) != 1 || size % 4096 != 0) {
                    throw new MapException(Errno.EINVAL, m + "a ring buffer's size must be a power of two multiple of 4096 bytes, not " + size);
                }
                if (2 * size > MAX_REGION) throw new MapException(Errno.E2BIG, m + "a ring buffer of " + size + " bytes is too large");
            }
            default -> {
                if (s.valueSize() == 0) throw new MapException(Errno.EINVAL, m + "value size is 0");
                if (s.valueSize() > MAX_VALUE_SIZE) throw new MapException(Errno.E2BIG, m + "value of " + s.valueSize() + " bytes, more than " + MAX_VALUE_SIZE);
            }
        }
    }

    /** The open map with table id {@code id}, or null. */
    public BpfMap byId(int id) {
        return byId.get(id);
    }

    /** The open map that {@code value} is the handle of, or null when it is no live map handle. */
    public BpfMap byHandle(long value) {
        if (!MapHandles.isHandle(value)) return null;
        int id = MapHandles.idOf(value);
        BpfMap[] d = dense;
        if (id >= 0 && id < d.length) return d[id];
        return id >= DENSE_IDS ? byId.get(id) : null;
    }

    private synchronized void setDense(int id, BpfMap map) {
        if (id < 0 || id >= DENSE_IDS) return;
        BpfMap[] d = dense;
        BpfMap[] copy = java.util.Arrays.copyOf(d, id < d.length ? d.length : Math.min(DENSE_IDS, Math.max(id + 1, d.length * 2)));
        copy[id] = map;
        dense = copy;
    }

    /** The map whose value memory contains {@code address}, or null. */
    public BpfMap owningAddress(long address) {
        return byWindow.get(address >>> 32);
    }

    /** Every open map. */
    public List<BpfMap> all() {
        return byId.values().stream().sorted(java.util.Comparator.comparingInt(BpfMap::id)).toList();
    }

    /**
     * Closes {@code map}: it disappears from the table (its handle no longer resolves) and its
     * value regions are unmapped, so invocations that still hold a pointer fault instead of
     * touching released memory.
     */
    public void close(BpfMap map) {
        if (map == null || !byId.remove(map.id(), map)) return;
        setDense(map.id(), null);
        map.release();
    }

    long register(Region region, BpfMap owner) {
        long base = regions.map(region);
        byWindow.put(base >>> 32, owner);
        return base;
    }

    void unregister(long base) {
        byWindow.remove(base >>> 32);
        regions.unmap(base);
    }
}
