package io.kflex.maps;

import io.kflex.engine.Bindings;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;

/**
 * A map of one {@link MapTable}, with Linux semantics for its type. Two faces:
 * <ul>
 *   <li>the <em>program</em> face ({@code lookupElem}, {@code updateElem}, ...) that the helpers
 *       call with keys and values as segments of the extension's address space, returning value
 *       addresses or negated errno values exactly as the kernel's helpers do;</li>
 *   <li>the <em>host</em> face ({@link #lookup}, {@link #update}, {@link #delete}, iteration) for
 *       the Java application, like the {@code bpf()} system call: values are copied, errors are
 *       {@link MapException}s with the errno.</li>
 * </ul>
 * Every operation is thread-safe. Value pointers handed to programs stay valid until the
 * invocation's epoch ends ({@link Epochs}).
 */
public abstract sealed class BpfMap permits BpfArray, BpfHash, BpfProgArray, BpfMapOfMaps, BpfQueue, BpfRingBuf, BpfArena {
    /** Update flags of {@code bpf_map_update_elem}. */
    public static final long BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2, BPF_F_LOCK = 4;

    protected final MapTable table;
    protected final MapSpec spec;
    protected final int id;

    BpfMap(MapTable table, MapSpec spec, int id) {
        this.table = table;
        this.spec = spec;
        this.id = id;
    }

    public MapSpec spec() { return spec; }

    public String name() { return spec.name(); }

    public int type() { return spec.type(); }

    /** The id of this map in its table. */
    public int id() { return id; }

    /** The value programs see for this map ({@link MapHandles}). */
    public long handle() { return MapHandles.of(id); }

    /**
     * The region holding every value programs can reach in this map, for the map's whole life,
     * with its address; empty for maps whose values are not in one such region.
     */
    public Optional<Bindings.FixedRegion> valueRegion() { return Optional.empty(); }

    // ---- program face ---------------------------------------------------------------------

    /** {@code bpf_map_lookup_elem}: the address of the value for {@code key} on {@code cpu}, or 0. */
    public long lookupElem(MemorySegment key, int cpu) { return 0; }

    /** {@code bpf_map_update_elem}: 0 or a negated errno. */
    public long updateElem(MemorySegment key, MemorySegment value, long flags, int cpu) { return -Errno.EINVAL; }

    /** {@code bpf_map_delete_elem}: 0 or a negated errno. */
    public long deleteElem(MemorySegment key) { return -Errno.EINVAL; }

    /**
     * {@link #lookupElem(MemorySegment, int)} with the key where the program keeps it: the
     * {@code key_size} bytes at {@code keyOffset} of {@code memory} (a region's whole segment).
     * Hash maps hash and compare the key in place, without copying it; the default slices.
     */
    public long lookupElem(MemorySegment memory, long keyOffset, int cpu) {
        return lookupElem(memory.asSlice(keyOffset, spec.keySize()), cpu);
    }

    /**
     * {@link #lookupElem(MemorySegment, long, int)} for a key in an array — a program's stack,
     * which compiled code hands over as the {@code byte[]} behind it, so that a lookup reads the
     * key as array elements instead of going through a segment. The caller has checked that the
     * {@code key_size} bytes at {@code keyOffset} lie inside {@code key}.
     */
    public long lookupElem(byte[] key, int keyOffset, int cpu) {
        return lookupElem(MemorySegment.ofArray(key), keyOffset, cpu);
    }

    /**
     * {@link #lookupElem(byte[], int, int)} as an object to bind once (see {@link ArrayKeyLookup});
     * maps whose lookup has constant parts to fold make their own.
     */
    public ArrayKeyLookup arrayKeyLookup() {
        return new Bound(this);
    }

    /** The lookup of a map with nothing to fold: its own method. */
    private record Bound(BpfMap map) implements ArrayKeyLookup {
        @Override
        public long lookup(byte[] key, int offset, int cpu) {
            return map.lookupElem(key, offset, cpu);
        }
    }

    /** {@link #updateElem(MemorySegment, MemorySegment, long, int)} with the key in place (see {@link #lookupElem(MemorySegment, long, int)}). */
    public long updateElem(MemorySegment memory, long keyOffset, MemorySegment value, long flags, int cpu) {
        return updateElem(memory.asSlice(keyOffset, spec.keySize()), value, flags, cpu);
    }

    /** {@link #deleteElem(MemorySegment)} with the key in place (see {@link #lookupElem(MemorySegment, long, int)}). */
    public long deleteElem(MemorySegment memory, long keyOffset) {
        return deleteElem(memory.asSlice(keyOffset, spec.keySize()));
    }

    /** {@code bpf_map_push_elem}: 0 or a negated errno. */
    public long pushElem(MemorySegment value, long flags) { return -Errno.EINVAL; }

    /** {@code bpf_map_pop_elem} ({@code remove}) or {@code bpf_map_peek_elem}: copies into {@code out}; 0 or a negated errno. */
    public long popElem(MemorySegment out, boolean remove) { return -Errno.EINVAL; }

    /** Visits elements for {@code bpf_for_each_map_elem}. */
    @FunctionalInterface
    public interface ElementVisitor {
        /** Called with a copy of the key and the address of the value; returns true to stop. */
        boolean visit(byte[] key, long valueAddress);
    }

    /**
     * Calls {@code visitor} for each element (a snapshot of the keys; values are live) and
     * returns how many were visited, or a negated errno when the map type cannot be iterated.
     */
    public long forEachElem(int cpu, ElementVisitor visitor) { return -Errno.EINVAL; }

    // ---- host face -----------------------------------------------------------------------

    /**
     * A copy of the value stored under {@code key}. For per-CPU maps, every CPU's value in CPU
     * order, each padded to a multiple of 8 bytes (Linux's layout).
     *
     * @throws IllegalArgumentException when the key has the wrong size
     * @throws UnsupportedOperationException for map types without lookups (ring buffers, prog arrays)
     */
    public abstract Optional<byte[]> lookup(byte[] key);

    /** Stores {@code value} under {@code key}; {@code flags} as {@code bpf_map_update_elem}. */
    public abstract void update(byte[] key, byte[] value, long flags) throws MapException;

    /** Removes {@code key}; false when it was not there. */
    public abstract boolean delete(byte[] key) throws MapException;

    /** A snapshot of the keys, in the map's order. */
    public List<byte[]> keys() { return List.of(); }

    /** One element of a snapshot. */
    public record Entry(byte[] key, byte[] value) {
        @Override
        public String toString() {
            return HexFormat.of().formatHex(key) + " -> " + HexFormat.of().formatHex(value);
        }
    }

    /** A snapshot of the elements (keys that vanish while it is taken are skipped). */
    public List<Entry> entries() {
        List<Entry> out = new ArrayList<>();
        for (byte[] k : keys()) lookup(k).ifPresent(v -> out.add(new Entry(k, v)));
        return out;
    }

    /** Releases this map's memory; called by {@link MapTable#close}. */
    void release() {}

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + spec.name() + ", id " + id + "]";
    }

    // ---- shared helpers ------------------------------------------------------------------

    static long roundUp8(long n) { return (n + 7) & ~7L; }

    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

    static int u32(MemorySegment key) {
        return key.get(LE32, 0);
    }

    static int u32(MemorySegment memory, long offset) {
        return memory.get(LE32, offset);
    }

    static int u32(byte[] key) {
        return u32(key, 0);
    }

    private static final java.lang.invoke.VarHandle BYTES_LE32 =
            java.lang.invoke.MethodHandles.byteArrayViewVarHandle(int[].class, java.nio.ByteOrder.LITTLE_ENDIAN);

    static int u32(byte[] key, int offset) {
        return (int) BYTES_LE32.get(key, offset);
    }

    void checkKey(byte[] key) {
        if (key == null || key.length != spec.keySize()) {
            throw new IllegalArgumentException("map " + spec.name() + ": key of " + (key == null ? "null" : key.length + " bytes")
                    + ", expected " + spec.keySize());
        }
    }

    MapException badKey(byte[] key) {
        return new MapException(Errno.EINVAL, "map " + spec.name() + ": key of " + (key == null ? "null" : key.length + " bytes")
                + ", expected " + spec.keySize());
    }

    static MapException error(long negatedErrno, String what) {
        return new MapException((int) -negatedErrno, what);
    }

    /** A flags check shared by the element maps: only ANY, NOEXIST and EXIST; F_LOCK is not supported. */
    static long checkUpdateFlags(long flags) {
        if (flags == BPF_ANY || flags == BPF_NOEXIST || flags == BPF_EXIST) return 0;
        return -Errno.EINVAL;
    }
}
