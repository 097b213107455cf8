package io.kflex.maps;

import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The value slots of a hash map: one region of {@code capacity} fixed-size slots, so a value
 * pointer is {@code base + slot * slotSize}. A slot unlinked from the map is <em>retired</em>,
 * not freed: it returns to the free list only when {@link Epochs} says no running invocation can
 * still hold its address. The capacity therefore exceeds {@code max_entries} by a reserve for
 * slots waiting out their epoch — three times {@code max_entries}, at least {@value #RESERVE_MIN}
 * slots, as far as the 4 GiB window allows (the map's element count, not the slab, enforces
 * {@code max_entries}); large regions are committed lazily, so the reserve costs address space
 * until it is used. If invocations hold epochs open while others retire more slots than that, an
 * insertion fails with {@code -ENOMEM} until they finish.
 */
final class ValueSlab {
    /** The least number of slots beyond {@code max_entries}. */
    static final int RESERVE_MIN = 1024;

    private final Epochs epochs;
    final long slotSize;
    final int capacity;
    final MemorySegment memory;
    final Region region;
    final long base;

    private int[] free = new int[16];
    private int freeCount;
    private int fresh;
    private int[] retiredSlots = new int[16];
    private long[] retiredTags = new long[16];
    private int retiredCount;

    ValueSlab(MapTable table, BpfMap owner, long slotSize, int maxEntries, boolean writable) throws MapException {
        this.epochs = table.epochs();
        this.slotSize = slotSize;
        long limit = MapTable.MAX_REGION / slotSize;
        if (maxEntries > limit) {
            throw new MapException(Errno.E2BIG, "map " + owner.name() + ": " + maxEntries + " values of " + slotSize
                    + " bytes do not fit in a map region (" + MapTable.MAX_REGION + " bytes)");
        }
        // Room for slots waiting out epochs: a long invocation blocks reclamation while others churn.
        long reserve = Math.max(RESERVE_MIN, 3L * maxEntries);
        this.capacity = (int) Math.min(limit, Math.min(Integer.MAX_VALUE - 8, (long) maxEntries + reserve));
        this.memory = MapMemory.allocate(capacity * slotSize);
        this.region = new Region(Region.Kind.MAP_VALUE, memory, writable, "map " + owner.name());
        this.base = table.register(region, owner);
    }

    long address(int slot) { return base + slot * slotSize; }

    MemorySegment slice(int slot) { return memory.asSlice(slot * slotSize, slotSize); }

    /** A free slot, or -1 when every slot is in use or still waiting out an epoch. */
    synchronized int allocate() {
        if (freeCount == 0 && retiredCount > 0 && (fresh == capacity || retiredCount >= 64)) reclaim();
        if (freeCount > 0) return free[--freeCount];
        if (fresh < capacity) return fresh++;
        return -1;
    }

    /** Returns a slot that was never visible to a program. */
    synchronized void free(int slot) {
        push(slot);
    }

    /** Retires a slot that has been unlinked from the map. */
    void retire(int slot) {
        long tag = epochs.retire();
        synchronized (this) {
            if (retiredCount == retiredSlots.length) {
                retiredSlots = Arrays.copyOf(retiredSlots, retiredCount * 2);
                retiredTags = Arrays.copyOf(retiredTags, retiredCount * 2);
            }
            retiredSlots[retiredCount] = slot;
            retiredTags[retiredCount++] = tag;
        }
    }

    /** Slots retired but not yet reusable. */
    synchronized int retiredCount() { return retiredCount; }

    private void reclaim() {
        long oldest = epochs.oldestActive();
        int kept = 0;
        for (int i = 0; i < retiredCount; i++) {
            if (retiredTags[i] < oldest) {
                push(retiredSlots[i]);
            } else {
                retiredSlots[kept] = retiredSlots[i];
                retiredTags[kept++] = retiredTags[i];
            }
        }
        retiredCount = kept;
    }

    private void push(int slot) {
        if (freeCount == free.length) free = Arrays.copyOf(free, freeCount * 2);
        free[freeCount++] = slot;
    }
}
