package io.kflex.jit;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import java.lang.foreign.MemorySegment;

/**
 * The last window one kind of host region (packet, context, map value) was found at in a run,
 * and its segment: accesses the verifier proved to reach that kind of region then cost a compare
 * and the segment's own bounds check instead of a walk through the {@link AddressSpace}. A miss
 * goes through {@link AddressSpace#resolve}, so every fault is the one the address space gives.
 *
 * <p>Only windows whose mapping cannot change under the running code are kept: the invocation's
 * own windows (packet, context) change only inside a helper call, after which generated code
 * calls {@link #forget}; shared windows (map values) are a map's for its whole life.
 */
final class HostRegionCache {
    private static final long NONE = -1; // no window is 2^64-1: windows are unsigned 32-bit numbers

    private final boolean shared;
    private long window = NONE;
    private MemorySegment segment;
    private boolean writable;

    /** {@code shared}: cache shared windows (map values) rather than the invocation's own. */
    HostRegionCache(boolean shared) {
        this.shared = shared;
    }

    /** The segment holding {@code [address, address + size)}; the caller indexes it with the address's low 32 bits. */
    MemorySegment segment(AddressSpace memory, long address, int size, boolean write) {
        long w = address >>> 32;
        if (w == window && (writable || !write)) return segment;
        MemorySegment s = memory.resolve(address, size, write);
        if ((w >= SharedRegions.FIRST_WINDOW) == shared) {
            Region r = memory.regionOf(address);
            window = w;
            segment = s;
            writable = r.writable();
        }
        return s;
    }

    /** Drops the cached window: a helper may have changed the invocation's mappings. */
    void forget() {
        window = NONE;
        segment = null;
    }
}
