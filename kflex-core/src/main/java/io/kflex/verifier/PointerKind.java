package io.kflex.verifier;

/** What a pointer register points to; the names in {@link #logName()} follow Linux's verifier log. */
public enum PointerKind {
    CTX("ctx"),
    STACK("fp"),
    PACKET("pkt"),
    PACKET_META("pkt_meta"),
    PACKET_END("pkt_end"),
    MAP_VALUE("map_value"),
    MAP_KEY("map_key"),
    CONST_MAP("map_ptr"),
    SOCKET("sock"),
    RINGBUF_MEM("ringbuf_mem"),
    /** A heap (arena) pointer: never proven in bounds, SFI keeps it inside the heap. */
    ARENA("arena"),
    /** A subprogram address from {@code lddw} pseudo FUNC, passed to callback helpers. */
    FUNC("func"),
    /**
     * The read-only {@code int} a numeric iterator's {@code bpf_iter_num_next} returns: the
     * current value inside the iterator's stack slot, valid until the iterator is destroyed.
     */
    ITER_CUR("rdonly_mem"),
    /** Not a register value: the kind of a live numeric iterator's reference (a stack slot). */
    ITER("iter_num"),
    /** Not a register value: the kind of a held heap spin lock's reference ({@code kflex_spin_lock}). */
    HEAP_LOCK("heap_lock");

    private final String logName;

    PointerKind(String logName) { this.logName = logName; }

    public String logName() { return logName; }

    /** Kinds a program may add scalars to. */
    public boolean allowsArithmetic() {
        return switch (this) {
            case STACK, PACKET, PACKET_META, MAP_VALUE, MAP_KEY, RINGBUF_MEM, ARENA, CTX, ITER_CUR -> true;
            case PACKET_END, CONST_MAP, SOCKET, FUNC, ITER, HEAP_LOCK -> false;
        };
    }

    /** Kinds whose object is owned by the host: storing them where the host or others read them back leaks. */
    public boolean isHostPointer() { return this != ARENA; }

    public boolean isPacket() { return this == PACKET || this == PACKET_META; }
}
