package io.kflex.elf;

import io.kflex.loader.LoadException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * A relocatable little-endian ELF64 object for {@code EM_BPF}, read defensively: every offset, size,
 * count and index is checked before use, section contents must lie inside the file and must not
 * overlap, and strings must be terminated inside their table. Nothing is allocated in proportion to
 * a count the file merely claims; tables are sized by bytes that are really there.
 */
public final class ElfFile {
    public static final int EM_BPF = 247;
    public static final int ET_REL = 1;
    private static final int EHDR_SIZE = 64;
    private static final int SHDR_SIZE = 64;
    private static final int SYM_SIZE = 24;
    private static final int REL_SIZE = 16;
    /** A NOBITS section claims a size without backing bytes; this bounds what we zero-fill for it. */
    public static final int MAX_NOBITS_SIZE = 1 << 24;

    private final Bytes file;
    private final List<ElfSection> sections;
    private final List<ElfSymbol> symbols;
    private final ElfSection symtab;

    private ElfFile(Bytes file, List<ElfSection> sections, List<ElfSymbol> symbols, ElfSection symtab) {
        this.file = file;
        this.sections = sections;
        this.symbols = symbols;
        this.symtab = symtab;
    }

    public static ElfFile parse(byte[] data) throws LoadException {
        Bytes file = new Bytes(data, "file");
        if (data.length < EHDR_SIZE) {
            throw new LoadException("not an ELF object (truncated?): " + data.length + " bytes, shorter than an ELF64 header (64 bytes)");
        }
        if (data[0] != 0x7f || data[1] != 'E' || data[2] != 'L' || data[3] != 'F') {
            throw new LoadException("not an ELF object: bad magic");
        }
        if (data[4] != 2) throw new LoadException("ELF header: class " + data[4] + " is not ELF64 (ELFCLASS64)");
        if (data[5] != 1) throw new LoadException("ELF header: data encoding " + data[5] + " is not little-endian (ELFDATA2LSB)");
        if (data[6] != 1) throw new LoadException("ELF header: unknown ELF version " + data[6]);
        int type = file.u16(16, "e_type");
        if (type != ET_REL) throw new LoadException("ELF header: e_type " + type + " is not a relocatable object (ET_REL)");
        int machine = file.u16(18, "e_machine");
        if (machine != EM_BPF) throw new LoadException("ELF header: e_machine " + machine + " is not BPF (247)");
        long shoff = file.s64(40, "e_shoff");
        int ehsize = file.u16(52, "e_ehsize");
        int shentsize = file.u16(58, "e_shentsize");
        int shnum = file.u16(60, "e_shnum");
        int shstrndx = file.u16(62, "e_shstrndx");
        if (ehsize != EHDR_SIZE) throw new LoadException("ELF header: e_ehsize " + ehsize + " is not 64");
        if (shnum == 0) throw new LoadException("ELF header: no section headers (e_shnum = 0)");
        if (shentsize != SHDR_SIZE) throw new LoadException("ELF header: section header size (e_shentsize) " + shentsize + " is not 64");
        if (shoff < EHDR_SIZE || shoff > data.length || (long) shnum * SHDR_SIZE > data.length - shoff) {
            throw new LoadException("ELF header: section header table out of range: offset " + Long.toUnsignedString(shoff) + " + "
                    + shnum + " x 64 bytes past end of file (" + data.length + " bytes; truncated?)");
        }
        if (shstrndx == 0 || shstrndx >= shnum) {
            throw new LoadException("ELF header: section name table index " + shstrndx + " out of range (" + shnum + " sections)");
        }

        long[][] raw = new long[shnum][];
        for (int i = 0; i < shnum; i++) {
            long h = shoff + (long) i * SHDR_SIZE;
            raw[i] = new long[] {
                file.u32(h, "sh_name"), file.u32(h + 4, "sh_type"), file.s64(h + 8, "sh_flags"),
                file.s64(h + 24, "sh_offset"), file.s64(h + 32, "sh_size"), file.u32(h + 40, "sh_link"),
                file.u32(h + 44, "sh_info"), file.s64(h + 48, "sh_addralign"), file.s64(h + 56, "sh_entsize")};
        }
        long[] names = raw[shstrndx];
        if (names[1] != ElfSection.SHT_STRTAB) {
            throw new LoadException("section name table (section " + shstrndx + ") is not a string table (type " + names[1] + ")");
        }
        checkBounds("section name table", names[3], names[4], data.length);
        byte[] shstrtab = file.slice(names[3], names[4], "section name table");

        List<ElfSection> sections = new ArrayList<>(shnum);
        for (int i = 0; i < shnum; i++) {
            long[] r = raw[i];
            String name = i == 0 ? "" : Bytes.string(shstrtab, r[0], "section " + i + " name");
            ElfSection s = new ElfSection(i, name, (int) r[1], r[2], r[3], r[4], (int) r[5], (int) r[6], r[7], r[8]);
            if (s.hasFileContents() && i != 0) checkBounds("section " + displayName(s), s.offset(), s.size(), data.length);
            if (s.type() == ElfSection.SHT_NOBITS && s.size() < 0) {
                throw new LoadException("section " + displayName(s) + ": size " + Long.toUnsignedString(s.size()) + " too large");
            }
            sections.add(s);
        }
        checkNoOverlap(sections, shoff, (long) shnum * SHDR_SIZE);

        ElfSection symtab = null;
        for (ElfSection s : sections) {
            if (s.type() == ElfSection.SHT_SYMTAB) {
                if (symtab != null) throw new LoadException("more than one symbol table (sections " + symtab.index() + " and " + s.index() + ")");
                symtab = s;
            }
            if (s.type() == ElfSection.SHT_RELA) {
                throw new LoadException("section " + displayName(s) + ": RELA relocations are not used by BPF objects");
            }
        }
        List<ElfSymbol> symbols = symtab == null ? List.of() : readSymbols(file, sections, symtab);
        ElfFile elf = new ElfFile(file, Collections.unmodifiableList(sections), symbols, symtab);
        for (ElfSection s : sections) {
            if (s.type() == ElfSection.SHT_REL) elf.checkRelocationSection(s);
        }
        return elf;
    }

    private static String displayName(ElfSection s) {
        return s.name().isEmpty() ? "#" + s.index() : s.name();
    }

    private static void checkBounds(String what, long offset, long size, int fileLength) throws LoadException {
        if (offset < 0 || size < 0 || offset > fileLength || size > fileLength - offset) {
            throw new LoadException(what + " out of range: offset " + Long.toUnsignedString(offset) + " + size " + Long.toUnsignedString(size)
                    + " past end of file (" + fileLength + " bytes)");
        }
    }

    private static void checkNoOverlap(List<ElfSection> sections, long shoff, long shtSize) throws LoadException {
        record Extent(String what, long start, long end) {}
        List<Extent> extents = new ArrayList<>();
        extents.add(new Extent("the ELF header", 0, EHDR_SIZE));
        extents.add(new Extent("the section header table", shoff, shoff + shtSize));
        for (ElfSection s : sections) {
            if (s.index() != 0 && s.hasFileContents() && s.size() > 0) {
                extents.add(new Extent("section " + displayName(s), s.offset(), s.offset() + s.size()));
            }
        }
        extents.sort(Comparator.comparingLong(Extent::start).thenComparingLong(Extent::end));
        for (int i = 1; i < extents.size(); i++) {
            Extent a = extents.get(i - 1);
            Extent b = extents.get(i);
            if (b.start() < a.end()) {
                throw new LoadException(b.what() + " (offset " + b.start() + ", " + (b.end() - b.start()) + " bytes) overlaps "
                        + a.what() + " (offset " + a.start() + ", " + (a.end() - a.start()) + " bytes)");
            }
        }
    }

    private static List<ElfSymbol> readSymbols(Bytes file, List<ElfSection> sections, ElfSection symtab) throws LoadException {
        String where = "symbol table " + displayName(symtab);
        if (symtab.entrySize() != SYM_SIZE) throw new LoadException(where + ": entry size " + symtab.entrySize() + " is not 24");
        if (symtab.size() % SYM_SIZE != 0) throw new LoadException(where + ": size " + symtab.size() + " is not a multiple of 24");
        if (symtab.link() <= 0 || symtab.link() >= sections.size()) {
            throw new LoadException(where + ": string table index " + symtab.link() + " out of range (" + sections.size() + " sections)");
        }
        ElfSection strtab = sections.get(symtab.link());
        if (strtab.type() != ElfSection.SHT_STRTAB) {
            throw new LoadException(where + ": linked section " + displayName(strtab) + " is not a string table");
        }
        byte[] strings = file.slice(strtab.offset(), strtab.size(), "string table");
        int count = (int) (symtab.size() / SYM_SIZE);
        List<ElfSymbol> symbols = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            long o = symtab.offset() + (long) i * SYM_SIZE;
            long nameOffset = file.u32(o, "st_name");
            int info = file.u8(o + 4, "st_info");
            int other = file.u8(o + 5, "st_other");
            int shndx = file.u16(o + 6, "st_shndx");
            long value = file.s64(o + 8, "st_value");
            long size = file.s64(o + 16, "st_size");
            String name = Bytes.string(strings, nameOffset, where + ": symbol " + i + " name");
            if (shndx != ElfSymbol.SHN_UNDEF && shndx != ElfSymbol.SHN_ABS && shndx != ElfSymbol.SHN_COMMON && shndx >= sections.size()) {
                throw new LoadException(where + ": symbol " + i + " (" + name + ") refers to section " + shndx
                        + ", out of range (" + sections.size() + " sections)");
            }
            if ((info & 0xf) == ElfSymbol.STT_SECTION && name.isEmpty() && shndx < sections.size()) {
                name = sections.get(shndx).name(); // section symbols are unnamed; their section names them
            }
            symbols.add(new ElfSymbol(i, name, info & 0xf, info >>> 4, other & 0x3, shndx, value, size));
        }
        return Collections.unmodifiableList(symbols);
    }

    private void checkRelocationSection(ElfSection rel) throws LoadException {
        String where = "relocation section " + displayName(rel);
        if (rel.entrySize() != REL_SIZE) throw new LoadException(where + ": entry size " + rel.entrySize() + " is not 16");
        if (rel.size() % REL_SIZE != 0) throw new LoadException(where + ": size " + rel.size() + " is not a multiple of 16");
        if (rel.info() <= 0 || rel.info() >= sections.size()) {
            throw new LoadException(where + ": target section index " + rel.info() + " out of range (" + sections.size() + " sections)");
        }
        if (symtab == null || rel.link() != symtab.index()) {
            throw new LoadException(where + ": linked section " + rel.link() + " is not the symbol table");
        }
        // Every entry must name a symbol and patch bytes of its target, whether or not we use it.
        ElfSection target = sections.get(rel.info());
        int count = (int) (rel.size() / REL_SIZE);
        for (int i = 0; i < count; i++) {
            long o = rel.offset() + (long) i * REL_SIZE;
            long offset = file.s64(o, "r_offset");
            long info = file.s64(o + 8, "r_info");
            int width = Math.max(ElfRelocation.width((int) info), 1);
            if ((info >>> 32) >= symbols.size()) {
                throw new LoadException(where + ": relocation " + i + " refers to symbol " + (info >>> 32)
                        + ", out of range (" + symbols.size() + " symbols)");
            }
            if (offset < 0 || offset > target.size() || width > target.size() - offset) {
                throw new LoadException(where + ": relocation " + i + " out of range: offset " + Long.toUnsignedString(offset)
                        + " + " + width + " bytes past end of section " + displayName(target) + " (" + target.size() + " bytes)");
            }
        }
    }

    public List<ElfSection> sections() { return sections; }

    public ElfSection section(int index) throws LoadException {
        if (index < 0 || index >= sections.size()) {
            throw new LoadException("section index " + index + " out of range (" + sections.size() + " sections)");
        }
        return sections.get(index);
    }

    /** The first section called {@code name}. */
    public Optional<ElfSection> section(String name) {
        return sections.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    public List<ElfSymbol> symbols() { return symbols; }

    /** The bytes of a section (zeros for NOBITS); bounded by the file, so never larger than it. */
    public byte[] contents(ElfSection s) throws LoadException {
        if (s.type() == ElfSection.SHT_NOBITS) {
            if (s.size() < 0 || s.size() > MAX_NOBITS_SIZE) {
                throw new LoadException("section " + displayName(s) + ": size " + Long.toUnsignedString(s.size())
                        + " exceeds the limit of " + MAX_NOBITS_SIZE + " bytes for a zero-filled section");
            }
            return new byte[(int) s.size()];
        }
        return file.slice(s.offset(), s.size(), "section " + displayName(s));
    }

    /** The relocations that apply to {@code target} (from every REL section whose {@code sh_info} names it). */
    public List<ElfRelocation> relocationsFor(ElfSection target) throws LoadException {
        List<ElfRelocation> out = new ArrayList<>();
        for (ElfSection rel : sections) {
            if (rel.type() != ElfSection.SHT_REL || rel.info() != target.index()) continue;
            String where = "relocation section " + displayName(rel);
            int count = (int) (rel.size() / REL_SIZE);
            for (int i = 0; i < count; i++) {
                long o = rel.offset() + (long) i * REL_SIZE;
                long offset = file.s64(o, "r_offset");
                long info = file.s64(o + 8, "r_info");
                int type = (int) info;
                long symbolIndex = info >>> 32;
                int width = ElfRelocation.width(type);
                if (width < 0) throw new LoadException(where + ": entry " + i + " has unknown relocation type " + type);
                if (symbolIndex >= symbols.size()) {
                    throw new LoadException(where + ": entry " + i + " refers to symbol " + symbolIndex
                            + ", out of range (" + symbols.size() + " symbols)");
                }
                if (offset < 0 || offset > target.size() || width > target.size() - offset) {
                    throw new LoadException(where + ": entry " + i + " (" + ElfRelocation.typeName(type) + ") out of range: offset "
                            + Long.toUnsignedString(offset) + " + " + width + " bytes past end of section "
                            + displayName(target) + " (" + target.size() + " bytes)");
                }
                out.add(new ElfRelocation(offset, type, symbols.get((int) symbolIndex)));
            }
        }
        return out;
    }
}
