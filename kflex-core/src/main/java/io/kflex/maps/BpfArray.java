package io.kflex.maps;

import io.kflex.engine.Bindings;
import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code BPF_MAP_TYPE_ARRAY} and {@code BPF_MAP_TYPE_PERCPU_ARRAY}: {@code max_entries} values
 * indexed by a {@code u32} key, all present from creation (zeroed), never deleted. The values
 * live in one region, so a lookup is {@code base + index * stride}; a per-CPU element holds one
 * value per CPU slot and a program sees the one of its invocation's CPU. Values are padded to 8
 * bytes so every value is 8-byte aligned for atomics.
 *
 * <p>Updates copy in place (like Linux, a concurrent reader may see a torn value; programs use
 * atomics or locks for consistency).
 */
public final class BpfArray extends BpfMap {
    private final boolean perCpu;
    private final int cpus;
    private final long elementSize;
    private final long stride;
    private final MemorySegment memory;
    private final Region region;
    private final long base;

    BpfArray(MapTable table, MapSpec spec, int id, boolean perCpu) throws MapException {
        super(table, spec, id);
        this.perCpu = perCpu;
        this.cpus = perCpu ? table.cpus() : 1;
        this.elementSize = roundUp8(spec.valueSize());
        this.stride = elementSize * cpus;
        if (spec.maxEntries() > MapTable.MAX_REGION / stride) {
            throw new MapException(Errno.E2BIG, "map " + spec.name() + ": " + spec.maxEntries() + " values of " + stride
                    + " bytes are more than a map region holds (" + MapTable.MAX_REGION + " bytes)");
        }
        long total = stride * spec.maxEntries();
        this.memory = MapMemory.allocate(total);
        this.region = new Region(Region.Kind.MAP_VALUE, memory, !spec.readOnlyForProgram(), "map " + spec.name());
        this.base = table.register(region, this);
    }

    public boolean perCpu() { return perCpu; }

    /** The address of element {@code index}'s value on {@code cpu} (CPU 0 for plain arrays). */
    public long valueAddress(int index, int cpu) {
        return base + index * stride + (perCpu ? cpu * elementSize : 0);
    }

    /** The region holding the values. */
    public Region region() { return region; }

    @Override
    public Optional<Bindings.FixedRegion> valueRegion() { return Optional.of(new Bindings.FixedRegion(base, region)); }

    /** Host write of raw bytes at {@code offset} of element 0 (global data initialisation). */
    void initialise(byte[] data) {
        MemorySegment.copy(MemorySegment.ofArray(data), 0, memory, 0, Math.min(data.length, spec.valueSize()));
    }

    private int cpuOf(int cpu) {
        if (!perCpu) return 0;
        if (cpu < 0 || cpu >= cpus) {
            throw new io.kflex.engine.ExtensionFault("cpu slot " + cpu + " outside the " + cpus + " CPU slots of map " + spec.name());
        }
        return cpu;
    }

    @Override
    public long lookupElem(MemorySegment key, int cpu) {
        return lookupElem(key, 0, cpu);
    }

    @Override
    public long lookupElem(MemorySegment memory, long keyOffset, int cpu) {
        long index = u32(memory, keyOffset) & 0xffffffffL;
        if (index >= spec.maxEntries()) return 0;
        return valueAddress((int) index, cpuOf(cpu));
    }

    @Override
    public long lookupElem(byte[] key, int keyOffset, int cpu) {
        long index = u32(key, keyOffset) & 0xffffffffL;
        if (index >= spec.maxEntries()) return 0;
        return valueAddress((int) index, cpuOf(cpu));
    }

    @Override
    public long updateElem(MemorySegment key, MemorySegment value, long flags, int cpu) {
        long bad = checkUpdateFlags(flags);
        if (bad != 0) return bad;
        long index = u32(key) & 0xffffffffL;
        if (index >= spec.maxEntries()) return -Errno.E2BIG;
        if (flags == BPF_NOEXIST) return -Errno.EEXIST; // every element of an array exists
        long at = index * stride + cpuOf(cpu) * (perCpu ? elementSize : 0);
        MemorySegment.copy(value, 0, memory, at, spec.valueSize());
        return 0;
    }

    @Override
    public long deleteElem(MemorySegment key) { return -Errno.EINVAL; }

    @Override
    public long forEachElem(int cpu, ElementVisitor visitor) {
        int c = cpuOf(cpu);
        long n = 0;
        for (int i = 0; i < spec.maxEntries(); i++) {
            n++;
            byte[] key = {(byte) i, (byte) (i >>> 8), (byte) (i >>> 16), (byte) (i >>> 24)};
            if (visitor.visit(key, valueAddress(i, c))) break;
        }
        return n;
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        checkKey(key);
        long index = u32(key) & 0xffffffffL;
        if (index >= spec.maxEntries()) return Optional.empty();
        return Optional.of(valueBytes((int) index));
    }

    /** Every CPU's copy of element {@code index} (one entry for plain arrays). */
    public List<byte[]> lookupAllCpus(int index) {
        if (index < 0 || index >= spec.maxEntries()) throw new IndexOutOfBoundsException(index);
        List<byte[]> out = new ArrayList<>(cpus);
        for (int c = 0; c < cpus; c++) {
            out.add(memory.asSlice(index * stride + c * elementSize, spec.valueSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        }
        return out;
    }

    private byte[] valueBytes(int index) {
        if (!perCpu) return memory.asSlice(index * stride, spec.valueSize()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        return memory.asSlice(index * stride, stride).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        if (checkUpdateFlags(flags) != 0) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": unsupported update flags " + flags);
        long index = u32(key) & 0xffffffffL;
        if (index >= spec.maxEntries()) throw new MapException(Errno.E2BIG, "map " + spec.name() + ": index " + index + " >= max_entries " + spec.maxEntries());
        if (flags == BPF_NOEXIST) throw new MapException(Errno.EEXIST, "map " + spec.name() + ": array elements always exist");
        writeHostValue(memory, index * stride, value, spec, cpus, perCpu);
    }

    /**
     * Writes a host-supplied value: {@code valueSize} bytes (every CPU's copy for per-CPU maps) or,
     * for per-CPU maps, Linux's layout of one padded value per CPU.
     */
    static void writeHostValue(MemorySegment memory, long at, byte[] value, MapSpec spec, int cpus, boolean perCpu) throws MapException {
        long element = roundUp8(spec.valueSize());
        if (value != null && value.length == spec.valueSize()) {
            for (int c = 0; c < (perCpu ? cpus : 1); c++) {
                MemorySegment.copy(MemorySegment.ofArray(value), 0, memory, at + c * element, value.length);
            }
            return;
        }
        if (perCpu && value != null && value.length == element * cpus) {
            for (int c = 0; c < cpus; c++) {
                MemorySegment.copy(MemorySegment.ofArray(value), c * element, memory, at + c * element, spec.valueSize());
            }
            return;
        }
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": value of " + (value == null ? "null" : value.length + " bytes")
                + ", expected " + spec.valueSize() + (perCpu ? " or " + element * cpus + " (one padded value per CPU)" : ""));
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": array elements cannot be deleted");
    }

    @Override
    public List<byte[]> keys() {
        List<byte[]> keys = new ArrayList<>(spec.maxEntries());
        for (int i = 0; i < spec.maxEntries(); i++) keys.add(new byte[] {(byte) i, (byte) (i >>> 8), (byte) (i >>> 16), (byte) (i >>> 24)});
        return keys;
    }

    @Override
    void release() {
        table.unregister(base);
    }
}
