package io.kflex.isa;

/**
 * The five fields of one 8-byte instruction slot exactly as encoded (little-endian:
 * opcode, {@code dst:4 | src:4}, {@code off:16}, {@code imm:32}).
 */
public record RawInstruction(int opcode, int dst, int src, short off, int imm) {

    public static RawInstruction of(long word) {
        return new RawInstruction(
                (int) (word & 0xff),
                (int) ((word >>> 8) & 0x0f),
                (int) ((word >>> 12) & 0x0f),
                (short) (word >>> 16),
                (int) (word >>> 32));
    }

    public long word() {
        return (opcode & 0xffL)
                | ((long) (dst & 0x0f) << 8)
                | ((long) (src & 0x0f) << 12)
                | ((off & 0xffffL) << 16)
                | ((long) imm << 32);
    }

    @Override
    public String toString() {
        return String.format("{code=0x%02x dst=r%d src=r%d off=%d imm=%d}", opcode, dst, src, off, imm);
    }
}
