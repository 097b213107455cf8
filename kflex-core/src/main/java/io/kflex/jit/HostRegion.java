package io.kflex.jit;

import io.kflex.verifier.MemoryRegion;

/**
 * Host regions with a direct access path; {@code method} is the {@link JitContext} method giving
 * the segment, {@code backing} the array hooks back the region with, which generated code uses
 * directly when the region has it.
 */
enum HostRegion {
    PACKET("packet", Backing.BYTES), CONTEXT("context", Backing.WORDS), MAP_VALUE("mapValue", Backing.SEGMENT),
    STACK("stackRegion", Backing.BYTES);

    final String method;
    final Backing backing;

    HostRegion(String method, Backing backing) {
        this.method = method;
        this.backing = backing;
    }

    /**
     * What is behind a region's segment. {@code WORDS}: a {@code long[]} (the context);
     * loads of any width and 64-bit stores are array elements, narrower stores stay segment
     * stores (merged into a word, each would wait for a load of what the last one wrote).
     * {@code BYTES}: a {@code byte[]} (the packet, the stack); every load and store is an
     * element or a byte-array view. {@code SEGMENT}: only the segment (map values).
     */
    enum Backing { WORDS, BYTES, SEGMENT }

    static HostRegion of(MemoryRegion region) {
        return switch (region) {
            case PACKET, PACKET_META -> PACKET;
            case CTX -> CONTEXT;
            case MAP_VALUE -> MAP_VALUE;
            case STACK -> STACK; // through a register other than a fixed r10, or at a variable offset
            default -> null;
        };
    }
}
