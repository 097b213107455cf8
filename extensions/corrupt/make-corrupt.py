#!/usr/bin/env python3
"""Derives hostile object files from valid ones, for the loader's tests.

    extensions/corrupt/make-corrupt.py [OUTPUT_DIR]

Reads extensions/objects/maps_btf.bpf.o (maps, BTF, .BTF.ext, relocations in a program
section) and extensions/objects/globals.bpf.o (global data sections), applies one defect
per output file, and writes OUTPUT_DIR/*.o (default: kflex-core/src/test/resources/corrupt)
plus OUTPUT_DIR/MANIFEST.tsv: file name, what is corrupted, and a short phrase the loader's
error message must contain. Every file has exactly one defect, so the phrase is
unambiguous; the phrases are generic on purpose (truncated, magic, out of range, ...).

Deterministic: the same inputs give the same files. Standard library only.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
OBJECTS = os.path.join(REPO, "extensions", "objects")
DEFAULT_OUT = os.path.join(REPO, "kflex-core", "src", "test", "resources", "corrupt")

# ELF64 header field offsets
EI_CLASS, EI_DATA, EI_VERSION = 4, 5, 6
E_TYPE, E_MACHINE, E_SHOFF, E_SHENTSIZE, E_SHNUM, E_SHSTRNDX = 16, 18, 40, 58, 60, 62
# Section header field offsets (within one 64-byte entry)
SH_NAME, SH_TYPE, SH_OFFSET, SH_SIZE, SH_LINK, SH_INFO = 0, 4, 24, 32, 40, 44
SHT_SYMTAB, SHT_STRTAB, SHT_REL = 2, 3, 9
SYM_SIZE, REL_SIZE = 24, 16

# BTF kinds and the size of the data that follows each type record
BTF_KIND_TYPEDEF, BTF_KIND_PTR, BTF_KIND_STRUCT = 8, 2, 4
BTF_EXTRA = {1: lambda v: 4, 2: lambda v: 0, 3: lambda v: 12, 4: lambda v: 12 * v,
             5: lambda v: 12 * v, 6: lambda v: 8 * v, 7: lambda v: 0, 8: lambda v: 0,
             9: lambda v: 0, 10: lambda v: 0, 11: lambda v: 0, 12: lambda v: 0,
             13: lambda v: 8 * v, 14: lambda v: 4, 15: lambda v: 12 * v, 16: lambda v: 0,
             17: lambda v: 4, 18: lambda v: 0, 19: lambda v: 12 * v}


class Elf:
    """Just enough of an ELF64 little-endian reader to find what to corrupt."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.shoff = struct.unpack_from("<Q", data, E_SHOFF)[0]
        self.shnum = struct.unpack_from("<H", data, E_SHNUM)[0]
        self.shstrndx = struct.unpack_from("<H", data, E_SHSTRNDX)[0]
        strtab = self.field(self.shstrndx, SH_OFFSET, "Q")
        self.names = {}
        for i in range(self.shnum):
            start = strtab + self.field(i, SH_NAME, "I")
            self.names[data[start:data.index(b"\0", start)].decode()] = i

    def shdr(self, index: int) -> int:
        return self.shoff + 64 * index

    def field(self, index: int, offset: int, fmt: str) -> int:
        return struct.unpack_from("<" + fmt, self.data, self.shdr(index) + offset)[0]

    def index(self, name: str) -> int:
        return self.names[name]

    def offset(self, name: str) -> int:
        return self.field(self.index(name), SH_OFFSET, "Q")

    def size(self, name: str) -> int:
        return self.field(self.index(name), SH_SIZE, "Q")

    def symbol(self, name: str):
        """(index, file offset of the Elf64_Sym) of a named symbol."""
        symtab = self.index(".symtab")
        strtab = self.offset_of(self.field(symtab, SH_LINK, "I"))
        base, count = self.offset(".symtab"), self.size(".symtab") // SYM_SIZE
        for i in range(count):
            at = base + SYM_SIZE * i
            start = strtab + struct.unpack_from("<I", self.data, at)[0]
            if self.data[start:self.data.index(b"\0", start)].decode() == name:
                return i, at
        raise KeyError(name)

    def offset_of(self, index: int) -> int:
        return self.field(index, SH_OFFSET, "Q")


class Btf:
    """Locates type records inside a .BTF section (offsets relative to the ELF file)."""

    def __init__(self, elf: Elf):
        self.base = elf.offset(".BTF")
        d = elf.data
        (self.magic, _, _, self.hdr_len, self.type_off, self.type_len, self.str_off,
         self.str_len) = struct.unpack_from("<HBBIIIII", d, self.base)
        self.types = {}  # id -> (file offset of the record, kind, vlen)
        at = self.base + self.hdr_len + self.type_off
        end = at + self.type_len
        type_id = 1
        while at < end:
            _, info, _ = struct.unpack_from("<III", d, at)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            self.types[type_id] = (at, kind, vlen)
            at += 12 + BTF_EXTRA[kind](vlen)
            type_id += 1
        self.strings = self.base + self.hdr_len + self.str_off

    def first(self, kind: int) -> int:
        return next(i for i, (_, k, _) in self.types.items() if k == kind)

    def all(self, kind: int):
        return [i for i, (_, k, _) in self.types.items() if k == kind]

    def record(self, type_id: int) -> int:
        return self.types[type_id][0]

    def named(self, data: bytes, kind: int, name: str) -> int:
        for i, (at, k, _) in self.types.items():
            if k != kind:
                continue
            start = self.strings + struct.unpack_from("<I", data, at)[0]
            if data[start:data.index(b"\0", start)].decode() == name:
                return i
        raise KeyError(name)


def put(buf: bytearray, offset: int, fmt: str, value: int) -> bytearray:
    struct.pack_into("<" + fmt, buf, offset, value)
    return buf


def build(base: bytes, other: bytes):
    """Yields (file name, description, expected phrase, bytes)."""
    e, g = Elf(base), Elf(other)
    btf = Btf(e)
    b = lambda: bytearray(base)  # noqa: E731  a fresh copy per case
    size = len(base)
    prog = e.index("syscall")
    rel = e.index(".relsyscall")
    rel_at = e.offset(".relsyscall")
    symtab = e.index(".symtab")

    # --- truncation -----------------------------------------------------------------------
    for n, tag, what in ((0, "0", "empty file"), (10, "10", "10 bytes: inside e_ident"),
                    (63, "63", "63 bytes: one byte short of the ELF header"),
                    (64, "64", "the ELF header only: section headers missing"),
                    (size // 2, "half", "half the file: section data and headers missing"),
                    (size - 1, "minus1", "all but the last byte: the last section header is cut")):
        yield f"truncated_{tag}.o", f"truncated to {what}", "truncated", base[:n]

    # --- ELF identification and header ------------------------------------------------------
    yield ("bad_magic.o", "e_ident magic is \\x7fELG instead of \\x7fELF", "magic",
           put(b(), 3, "B", ord("G")))
    yield ("bad_class_32bit.o", "EI_CLASS is ELFCLASS32, objects must be ELFCLASS64",
           "class", put(b(), EI_CLASS, "B", 1))
    yield ("bad_class_none.o", "EI_CLASS is ELFCLASSNONE (0)", "class",
           put(b(), EI_CLASS, "B", 0))
    yield ("bad_endian_big.o", "EI_DATA is ELFDATA2MSB (big-endian)", "endian",
           put(b(), EI_DATA, "B", 2))
    yield ("bad_endian_none.o", "EI_DATA is ELFDATANONE (0)", "endian",
           put(b(), EI_DATA, "B", 0))
    yield ("bad_machine_x86_64.o", "e_machine is EM_X86_64 (62), not EM_BPF (247)", "machine",
           put(b(), E_MACHINE, "H", 62))
    yield ("bad_type_exec.o", "e_type is ET_EXEC, objects must be ET_REL (relocatable)",
           "relocatable", put(b(), E_TYPE, "H", 2))
    yield ("bad_shentsize.o", "e_shentsize is 40, ELF64 section headers are 64 bytes",
           "section header size", put(b(), E_SHENTSIZE, "H", 40))

    # --- section header table ---------------------------------------------------------------
    yield ("shoff_past_eof.o", "e_shoff points 4 KiB past the end of the file",
           "out of range", put(b(), E_SHOFF, "Q", size + 4096))
    yield ("shoff_overflow.o", "e_shoff near 2^64: offset + table size wraps around",
           "out of range", put(b(), E_SHOFF, "Q", 0xFFFFFFFFFFFFFFC0))
    yield ("shnum_huge.o", "e_shnum is 65535: the section header table runs past EOF",
           "out of range", put(b(), E_SHNUM, "H", 0xFFFF))
    yield ("shstrndx_out_of_range.o", "e_shstrndx is 0x7fff, beyond the section count",
           "out of range", put(b(), E_SHSTRNDX, "H", 0x7FFF))
    yield ("section_name_out_of_range.o",
           "the program section's sh_name points far past the end of the name table",
           "out of range", put(b(), e.shdr(prog) + SH_NAME, "I", 0x7FFFFFFF))

    strtab_index = e.shstrndx
    strtab_end = e.offset_of(strtab_index) + e.field(strtab_index, SH_SIZE, "Q")
    yield ("names_unterminated.o",
           "the last byte of the section/symbol name table is 'A' instead of NUL",
           "unterminated", put(b(), strtab_end - 1, "B", ord("A")))

    # --- section contents -------------------------------------------------------------------
    yield ("section_past_eof.o", "the program section's offset + size runs 1 MiB past EOF",
           "out of range", put(b(), e.shdr(prog) + SH_SIZE, "Q", 1 << 20))
    yield ("section_offset_overflow.o",
           "the .BTF section's sh_offset is near 2^64: offset + size wraps around",
           "out of range", put(b(), e.shdr(e.index(".BTF")) + SH_OFFSET, "Q",
                               0xFFFFFFFFFFFFFF00))
    yield ("sections_overlap.o", "the .maps section's data overlaps the program section",
           "overlap", put(b(), e.shdr(e.index(".maps")) + SH_OFFSET, "Q",
                          e.offset("syscall") + 8))
    yield ("program_size_not_multiple_of_8.o",
           "the program section's size is 4 bytes short: not a multiple of 8",
           "multiple of 8", put(b(), e.shdr(prog) + SH_SIZE, "Q", e.size("syscall") - 4))

    # --- symbols ----------------------------------------------------------------------------
    yield ("symtab_huge.o", "the .symtab claims 2^28 symbols (size runs past EOF)",
           "out of range", put(b(), e.shdr(symtab) + SH_SIZE, "Q", SYM_SIZE << 28))
    yield ("symtab_strtab_out_of_range.o", "the .symtab's sh_link (its name table) is 999",
           "out of range", put(b(), e.shdr(symtab) + SH_LINK, "I", 999))
    _, counters = e.symbol("counters")
    yield ("symbol_section_out_of_range.o",
           "the map symbol 'counters' has st_shndx 0x7ff0, no such section",
           "out of range", put(b(), counters + 6, "H", 0x7FF0))
    yield ("symbol_name_out_of_range.o",
           "the map symbol 'counters' has st_name far past the end of the name table",
           "out of range", put(b(), counters, "I", 0x7FFFFFFF))
    yield ("symbol_value_out_of_range.o",
           "the map symbol 'counters' has st_value 0x10000, past the end of .maps",
           "out of range", put(b(), counters + 8, "Q", 0x10000))

    # --- relocations --------------------------------------------------------------------------
    yield ("reloc_count_huge.o", "the .relsyscall section claims 2^28 relocations",
           "out of range", put(b(), e.shdr(rel) + SH_SIZE, "Q", REL_SIZE << 28))
    yield ("reloc_offset_out_of_range.o",
           "the first relocation's r_offset is 0x10000, past the end of its program section",
           "out of range", put(b(), rel_at, "Q", 0x10000))
    first_reloc = struct.unpack_from("<Q", base, rel_at)[0]
    yield ("reloc_offset_misaligned.o",
           "the first relocation's r_offset is 4 bytes into an instruction",
           "relocation", put(b(), rel_at, "Q", first_reloc + 4))
    yield ("reloc_not_ldimm64.o",
           "a map relocation (R_BPF_64_64) applies to instruction 0, which is not an lddw",
           "relocation", put(b(), rel_at, "Q", 0))
    info = struct.unpack_from("<Q", base, rel_at + 8)[0]
    yield ("reloc_symbol_out_of_range.o",
           "the first relocation names symbol index 0xfffff, beyond the symbol table",
           "out of range", put(b(), rel_at + 8, "Q", (0xFFFFF << 32) | (info & 0xFFFFFFFF)))
    yield ("reloc_type_unknown.o", "the first relocation has type 200, not a BPF relocation",
           "relocation", put(b(), rel_at + 8, "Q", (info & ~0xFFFFFFFF) | 200))
    yield ("reloc_target_out_of_range.o",
           "the .relsyscall section's sh_info (the section it patches) is 999",
           "out of range", put(b(), e.shdr(rel) + SH_INFO, "I", 999))
    yield ("reloc_target_not_program.o",
           "the .relsyscall section patches 'license' (data) instead of the program; its "
           "map relocations then fall outside that 4-byte section or onto non-instructions",
           "relocation", put(b(), e.shdr(rel) + SH_INFO, "I", e.index("license")))
    yield ("reloc_symtab_link_wrong.o",
           "the .relsyscall section's sh_link names the string table instead of .symtab",
           "symbol table", put(b(), e.shdr(rel) + SH_LINK, "I", e.shstrndx))

    # --- BTF ----------------------------------------------------------------------------------
    def btf_put(rel_offset, fmt, value):
        return put(b(), btf.base + rel_offset, fmt, value)

    yield ("btf_bad_magic.o", "the .BTF header magic is 0x9feb (byte-swapped)", "magic",
           btf_put(0, "H", 0x9FEB))
    yield ("btf_hdr_len_huge.o", "the .BTF header's hdr_len is 0x7fffffff", "out of range",
           btf_put(4, "I", 0x7FFFFFFF))
    yield ("btf_type_len_huge.o", "the .BTF header's type_len is 0xfffffff0", "out of range",
           btf_put(12, "I", 0xFFFFFFF0))
    yield ("btf_str_len_huge.o", "the .BTF header's str_len is 0x7ffffff0", "out of range",
           btf_put(20, "I", 0x7FFFFFF0))
    yield ("btf_str_off_huge.o", "the .BTF header's str_off is 0xfffffff0 (offset + length "
           "wraps around)", "out of range", btf_put(16, "I", 0xFFFFFFF0))
    strings_end = btf.strings + btf.str_len
    yield ("btf_strings_unterminated.o", "the last byte of the BTF string table is not NUL",
           "unterminated", put(b(), strings_end - 1, "B", ord("A")))

    typedefs = btf.all(BTF_KIND_TYPEDEF)
    t1, t2 = typedefs[0], typedefs[1]
    yield ("btf_typedef_self_cycle.o",
           f"BTF typedef [{t1}] refers to itself", "cycle",
           put(b(), btf.record(t1) + 8, "I", t1))
    two = put(b(), btf.record(t1) + 8, "I", t2)
    put(two, btf.record(t2) + 8, "I", t1)
    yield ("btf_typedef_two_cycle.o",
           f"BTF typedefs [{t1}] and [{t2}] refer to each other", "cycle", two)
    flow = btf.named(base, BTF_KIND_STRUCT, "flow")
    yield ("btf_struct_contains_itself.o",
           f"BTF struct flow [{flow}]'s first member has type struct flow (infinite size)",
           "cycle", put(b(), btf.record(flow) + 12 + 4, "I", flow))
    ptr = btf.first(BTF_KIND_PTR)
    yield ("btf_type_id_out_of_range.o",
           f"BTF pointer [{ptr}] points to type id 0xffffff, beyond the last type",
           "out of range", put(b(), btf.record(ptr) + 8, "I", 0xFFFFFF))
    yield ("btf_name_off_out_of_range.o",
           f"BTF typedef [{t1}]'s name_off is past the end of the BTF string table",
           "out of range", put(b(), btf.record(t1), "I", btf.str_len + 1000))
    info1 = struct.unpack_from("<I", base, btf.record(t1) + 4)[0]
    yield ("btf_unknown_kind.o", f"BTF type [{t1}] has kind 31, which does not exist",
           "kind", put(b(), btf.record(t1) + 4, "I", (info1 & ~(0x1F << 24)) | (31 << 24)))
    info_flow = struct.unpack_from("<I", base, btf.record(flow) + 4)[0]
    yield ("btf_vlen_past_end.o",
           f"BTF struct flow [{flow}] claims 60000 members: its records run past type_len",
           "out of range", put(b(), btf.record(flow) + 4, "I",
                               (info_flow & ~0xFFFF) | 60000))

    # Direct value access in the second object: an lddw of a .data address whose constant
    # offset lies past the end of the section.
    g_rel = g.offset(".relsyscall")
    g_symtab = g.offset(".symtab")
    for k in range(g.size(".relsyscall") // REL_SIZE):
        r_offset, r_info = struct.unpack_from("<QQ", other, g_rel + REL_SIZE * k)
        shndx = struct.unpack_from("<H", other, g_symtab + SYM_SIZE * (r_info >> 32) + 6)[0]
        if shndx == g.index(".data"):
            break
    else:
        raise SystemExit("globals.bpf.o: no relocation against .data")
    yield ("data_offset_out_of_range.o",
           "(from globals.bpf.o) an lddw of a .data address has constant offset 0x10000, past "
           "the end of the 8-byte .data section", "out of range",
           put(bytearray(other), g.offset("syscall") + r_offset + 4, "i", 0x10000))

    # --- .BTF.ext -----------------------------------------------------------------------------
    ext = e.offset(".BTF.ext")
    _, _, _, ext_hdr_len, func_off, func_len, line_off, line_len = struct.unpack_from(
        "<HBBIIIII", base, ext)
    func_rec = ext + ext_hdr_len + func_off   # u32 rec_size, then per-section blocks
    line_rec = ext + ext_hdr_len + line_off
    yield ("btf_ext_func_rec_size_zero.o", ".BTF.ext func_info record size is 0",
           "record size", put(b(), func_rec, "I", 0))
    yield ("btf_ext_line_rec_size_small.o",
           ".BTF.ext line_info record size is 4 (a line_info record is 16 bytes)",
           "record size", put(b(), line_rec, "I", 4))
    yield ("btf_ext_func_rec_size_huge.o", ".BTF.ext func_info record size is 0x10000000",
           "record size", put(b(), func_rec, "I", 0x10000000))
    yield ("btf_ext_line_info_len_huge.o",
           ".BTF.ext header's line_info_len is 0x7ffffff0, past the end of the section",
           "out of range", put(b(), ext + 20, "I", 0x7FFFFFF0))
    yield ("btf_ext_func_info_count_huge.o",
           ".BTF.ext func_info block for 'syscall' claims 0x1000000 records",
           "out of range", put(b(), func_rec + 8, "I", 0x1000000))


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    base = open(os.path.join(OBJECTS, "maps_btf.bpf.o"), "rb").read()
    other = open(os.path.join(OBJECTS, "globals.bpf.o"), "rb").read()
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        if old.endswith(".o"):
            os.remove(os.path.join(out, old))
    rows = []
    for name, what, phrase, data in build(base, other):
        assert bytes(data) != base or name.startswith("truncated"), name
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(data))
        assert "\t" not in what and "\t" not in phrase
        rows.append(f"{name}\t{what}\t{phrase}")
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as f:
        f.write("# Hostile object files derived from extensions/objects/maps_btf.bpf.o (and\n"
                "# globals.bpf.o) by extensions/corrupt/make-corrupt.py: one defect each.\n"
                "# Columns: file, what is corrupted, a phrase the loader's error must contain"
                " (case-insensitive).\n")
        f.write("file\tcorruption\texpected_error\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {len(rows)} corrupted objects to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
