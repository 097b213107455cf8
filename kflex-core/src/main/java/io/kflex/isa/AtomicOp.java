package io.kflex.isa;

/**
 * Atomic read-modify-write operations (mode {@code ATOMIC}, 0xc0). The immediate holds the
 * operation and, for the arithmetic ones, the {@code FETCH} flag (0x01); {@code XCHG} and
 * {@code CMPXCHG} always fetch.
 */
public enum AtomicOp {
    ADD(0x00, "add"),
    OR(0x40, "or"),
    AND(0x50, "and"),
    XOR(0xa0, "xor"),
    XCHG(0xe0, "xchg"),
    CMPXCHG(0xf0, "cmpxchg");

    public static final int FETCH = 0x01;

    private final int code;
    private final String mnemonic;

    AtomicOp(int code, String mnemonic) {
        this.code = code;
        this.mnemonic = mnemonic;
    }

    public int code() { return code; }

    public String mnemonic() { return mnemonic; }

    /** Whether the operation always returns the old value ({@code XCHG}, {@code CMPXCHG}). */
    public boolean alwaysFetches() { return this == XCHG || this == CMPXCHG; }

    /** Decodes an atomic immediate, or returns null when it names no operation. */
    public static AtomicOp ofImmediate(int imm) {
        for (AtomicOp op : values()) {
            if (op.alwaysFetches() ? imm == (op.code | FETCH) : (imm & ~FETCH) == op.code) return op;
        }
        return null;
    }
}
