package io.kflex.engine;

import java.lang.foreign.MemorySegment;

/**
 * A piece of memory an extension may address: its stack, a context or packet, a map value, its
 * heap. Every region occupies its own 4 GiB window of the extension's 64-bit address space, so an
 * address decodes to (window, offset) with a shift and a mask, and pointer arithmetic can never
 * walk from one region into another: it leaves the region's bounds first, which is a fault.
 */
public record Region(Kind kind, MemorySegment segment, boolean writable, String name) {

    /** What a region holds; used in fault messages and by the verifier's region facts. */
    public enum Kind { STACK, CONTEXT, PACKET, MAP_VALUE, HEAP, MEMORY }

    public Region {
        if (segment.byteSize() > AddressSpace.WINDOW_SIZE) {
            throw new IllegalArgumentException("region " + name + " is larger than a 4 GiB window");
        }
    }

    public long size() { return segment.byteSize(); }
}
