package io.kflex.elf;

/** One {@code .symtab} entry, with its resolved name. {@code sectionIndex} is 0 for undefined symbols. */
public record ElfSymbol(int index, String name, int type, int bind, int visibility, int sectionIndex, long value, long size) {
    public static final int STT_NOTYPE = 0;
    public static final int STT_OBJECT = 1;
    public static final int STT_FUNC = 2;
    public static final int STT_SECTION = 3;
    public static final int STT_FILE = 4;

    public static final int STB_LOCAL = 0;
    public static final int STB_GLOBAL = 1;
    public static final int STB_WEAK = 2;

    public static final int SHN_UNDEF = 0;
    public static final int SHN_ABS = 0xfff1;
    public static final int SHN_COMMON = 0xfff2;

    /** An extern: referenced here, defined elsewhere (by the host). */
    public boolean undefined() { return sectionIndex == SHN_UNDEF && index != 0; }

    public boolean weak() { return bind == STB_WEAK; }
}
