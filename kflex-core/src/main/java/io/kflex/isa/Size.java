package io.kflex.isa;

/** Access width of a load, store or atomic instruction (the {@code size} field of the opcode). */
public enum Size {
    B(1, 0x10, "b", "u8"),
    H(2, 0x08, "h", "u16"),
    W(4, 0x00, "w", "u32"),
    DW(8, 0x18, "dw", "u64");

    private final int bytes;
    private final int code;
    private final String suffix;
    private final String cType;

    Size(int bytes, int code, String suffix, String cType) {
        this.bytes = bytes;
        this.code = code;
        this.suffix = suffix;
        this.cType = cType;
    }

    /** Width in bytes. */
    public int bytes() { return bytes; }

    /** The size bits as they appear in the opcode byte. */
    public int code() { return code; }

    /** Mnemonic suffix used by the conformance dialect ({@code ldxdw}, {@code stb}, ...). */
    public String suffix() { return suffix; }

    /** The C type LLVM's disassembler prints ({@code *(u32 *)(r1 + 0)}). */
    public String cType() { return cType; }

    public static Size fromCode(int sizeBits) {
        for (Size s : values()) {
            if (s.code == sizeBits) return s;
        }
        throw new IllegalArgumentException("size bits " + sizeBits);
    }

    public static Size ofBytes(int bytes) {
        for (Size s : values()) {
            if (s.bytes == bytes) return s;
        }
        throw new IllegalArgumentException("no access size of " + bytes + " bytes");
    }
}
