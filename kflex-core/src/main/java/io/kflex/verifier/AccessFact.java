package io.kflex.verifier;

/**
 * What the verifier proved about the memory access at {@code pc}, over every path reaching it:
 * the region, the range of the access's start offset relative to the region's base
 * ({@code minOffset..maxOffset}; for the stack relative to the frame pointer, for the packet
 * relative to the packet pointer's group base, meaningless for the heap), its width, and for heap
 * accesses whether a guard is needed. {@code map} is the map index for map values (-1 otherwise
 * or when paths disagree). {@code write} is true for stores and atomics.
 */
public record AccessFact(int pc, MemoryRegion region, long minOffset, long maxOffset, int size, boolean write,
                         int map, boolean guardNeeded) {

    AccessFact merge(AccessFact o) {
        MemoryRegion r = region == o.region ? region : MemoryRegion.MIXED;
        return new AccessFact(pc, r, Math.min(minOffset, o.minOffset), Math.max(maxOffset, o.maxOffset), size, write || o.write,
                map == o.map ? map : -1, guardNeeded || o.guardNeeded);
    }

    AccessFact withGuardNeeded(boolean g) { return new AccessFact(pc, region, minOffset, maxOffset, size, write, map, g); }
}
