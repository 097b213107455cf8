package io.kflex.verifier;

/** The memory a load, store or atomic touches, as proven by the verifier. */
public enum MemoryRegion {
    STACK, CTX, PACKET, PACKET_META, MAP_VALUE, MAP_KEY, RINGBUF, SOCKET,
    /** The extension heap: bounds are not proven, SFI keeps the access inside. */
    HEAP,
    /** Different regions on different paths (never the context, whose loads are rewritten). */
    MIXED;

    static MemoryRegion of(PointerKind kind) {
        return switch (kind) {
            case STACK, ITER_CUR -> STACK;
            case CTX -> CTX;
            case PACKET -> PACKET;
            case PACKET_META -> PACKET_META;
            case MAP_VALUE -> MAP_VALUE;
            case MAP_KEY -> MAP_KEY;
            case RINGBUF_MEM -> RINGBUF;
            case SOCKET -> SOCKET;
            case ARENA -> HEAP;
            case PACKET_END, CONST_MAP, FUNC, ITER, HEAP_LOCK -> throw new IllegalArgumentException(kind + " is not memory");
        };
    }
}
