package io.kflex.maps;

import io.kflex.heap.Heap;
import io.kflex.heap.HeapConfig;
import io.kflex.heap.HeapException;
import java.util.Optional;

/**
 * {@code BPF_MAP_TYPE_ARENA}: the extension heap as a map. Programs pass its handle to the arena
 * kfuncs ({@code bpf_arena_alloc_pages(&arena, ...)}) and reach its memory through heap pointers;
 * it has no elements, so the element operations fail as in Linux. The heap is shown in every
 * address space of the table at its user base: the object's {@code map_extra} when it names one,
 * otherwise the first free window from {@link HeapConfig#DEFAULT_USER_BASE} up.
 */
public final class BpfArena extends BpfMap {
    private final Heap heap;
    private final long base;

    BpfArena(MapTable table, MapSpec spec, int id) throws MapException {
        super(table, spec, id);
        long size = (spec.maxEntries() & 0xffffffffL) * Heap.PAGE_SIZE;
        synchronized (table.regions()) {
            long userBase = spec.mapExtra() != 0 ? spec.mapExtra() : freeUserBase(table);
            try {
                heap = Heap.create(table.configureHeap(HeapConfig.forArena(spec.name(), size, userBase)));
            } catch (HeapException | IllegalArgumentException e) {
                throw new MapException(Errno.EINVAL, "map " + spec.name() + ": " + e.getMessage());
            }
            try {
                base = heap.mapInto(table.regions());
            } catch (IllegalArgumentException | IllegalStateException e) {
                heap.close();
                throw new MapException(Errno.EINVAL, "map " + spec.name() + ": its user address 0x" + Long.toHexString(userBase)
                        + " cannot be used: " + e.getMessage());
            }
        }
    }

    private static long freeUserBase(MapTable table) {
        long window = HeapConfig.DEFAULT_USER_BASE >>> 32;
        while (table.regions().get(window) != null) window++;
        return window << 32;
    }

    /** The heap this arena is. */
    public Heap heap() { return heap; }

    @Override
    public Optional<byte[]> lookup(byte[] key) { return Optional.empty(); }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": an arena has no elements to update");
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        throw new MapException(Errno.EINVAL, "map " + spec.name() + ": an arena has no elements to delete");
    }

    @Override
    void release() {
        table.regions().unmap(base);
        heap.close();
    }
}
