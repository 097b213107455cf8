package io.kflex.elf;

/** One {@code SHT_REL} entry: patch the bytes at {@code offset} of the target section with {@code symbol}. */
public record ElfRelocation(long offset, int type, ElfSymbol symbol) {
    public static final int R_BPF_NONE = 0;
    public static final int R_BPF_64_64 = 1;
    public static final int R_BPF_64_ABS64 = 2;
    public static final int R_BPF_64_ABS32 = 3;
    public static final int R_BPF_64_NODYLD32 = 4;
    public static final int R_BPF_64_32 = 10;
    /** GNU binutils before 2.41 number the 32- and 64-bit data relocations 11 and 12. */
    public static final int R_BPF_GNU_DATA_32 = 11;
    public static final int R_BPF_GNU_DATA_64 = 12;

    /** Number of bytes a relocation of {@code type} touches, or -1 for an unknown type. */
    public static int width(int type) {
        return switch (type) {
            case R_BPF_NONE -> 0;
            case R_BPF_64_64 -> 16; // both imm fields of an lddw
            case R_BPF_64_ABS64, R_BPF_GNU_DATA_64 -> 8;
            case R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_GNU_DATA_32 -> 4;
            case R_BPF_64_32 -> 8; // the imm of a call instruction
            default -> -1;
        };
    }

    public static String typeName(int type) {
        return switch (type) {
            case R_BPF_NONE -> "R_BPF_NONE";
            case R_BPF_64_64 -> "R_BPF_64_64";
            case R_BPF_64_ABS64 -> "R_BPF_64_ABS64";
            case R_BPF_64_ABS32 -> "R_BPF_64_ABS32";
            case R_BPF_64_NODYLD32 -> "R_BPF_64_NODYLD32";
            case R_BPF_64_32 -> "R_BPF_64_32";
            case R_BPF_GNU_DATA_32 -> "R_BPF_DATA_32";
            case R_BPF_GNU_DATA_64 -> "R_BPF_DATA_64";
            default -> "type " + type;
        };
    }
}
