package io.kflex.elf;

import static io.kflex.loader.TestObjects.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.loader.LoadException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ElfFileTest {
    private final byte[] sample = bytes("sample.o");

    private static int sectionIndex(ElfFile elf, String name) {
        return elf.section(name).orElseThrow().index();
    }

    @Test
    void readsSectionsOfAClangObject() throws Exception {
        ElfFile elf = ElfFile.parse(sample);
        assertThat(elf.sections()).hasSize(35);
        ElfSection text = elf.section(".text").orElseThrow();
        assertThat(text.index()).isEqualTo(2);
        assertThat(text.type()).isEqualTo(ElfSection.SHT_PROGBITS);
        assertThat(text.executable()).isTrue();
        assertThat(text.offset()).isEqualTo(0x40);
        assertThat(text.size()).isEqualTo(0x48);
        ElfSection bss = elf.section(".bss").orElseThrow();
        assertThat(bss.type()).isEqualTo(ElfSection.SHT_NOBITS);
        assertThat(elf.contents(bss)).containsExactly(new byte[8]);
        assertThat(elf.contents(elf.section("license").orElseThrow())).containsExactly('G', 'P', 'L', 0);
        assertThat(elf.contents(elf.section(".data").orElseThrow())).containsExactly(7, 0, 0, 0);
    }

    @Test
    void readsSymbols() throws Exception {
        ElfFile elf = ElfFile.parse(sample);
        assertThat(elf.symbols()).hasSize(28);
        ElfSymbol twice = elf.symbols().stream().filter(s -> s.name().equals("twice")).findFirst().orElseThrow();
        assertThat(twice.type()).isEqualTo(ElfSymbol.STT_FUNC);
        assertThat(twice.bind()).isEqualTo(ElfSymbol.STB_LOCAL);
        assertThat(twice.sectionIndex()).isEqualTo(2);
        assertThat(twice.value()).isEqualTo(0x18);
        assertThat(twice.size()).isEqualTo(48);
        ElfSymbol maybe = elf.symbols().stream().filter(s -> s.name().equals("bpf_kflex_maybe")).findFirst().orElseThrow();
        assertThat(maybe.undefined()).isTrue();
        assertThat(maybe.weak()).isTrue();
        assertThat(elf.symbols().getFirst().undefined()).as("the null symbol is not an extern").isFalse();
    }

    @Test
    void readsRelocationsOfAProgramSection() throws Exception {
        ElfFile elf = ElfFile.parse(sample);
        List<ElfRelocation> relocations = elf.relocationsFor(elf.section("xdp").orElseThrow());
        assertThat(relocations).extracting(ElfRelocation::offset).containsExactly(0x08L, 0x20L, 0x58L, 0x90L, 0xc0L, 0xd8L);
        assertThat(relocations).extracting(r -> r.symbol().name())
                .containsExactly(".text", "bpf_kflex_probe", "counters", "hits", "helper_global", "zeroed");
        assertThat(relocations).extracting(ElfRelocation::type).containsExactly(10, 10, 1, 1, 10, 1);
        List<ElfRelocation> maps = elf.relocationsFor(elf.section(".maps").orElseThrow());
        assertThat(maps).singleElement().satisfies(r -> {
            assertThat(r.type()).isEqualTo(ElfRelocation.R_BPF_64_ABS64);
            assertThat(r.offset()).isEqualTo(0x28);
            assertThat(r.symbol().name()).isEqualTo("tail");
        });
    }

    private static void assertRejected(byte[] data, String... phrases) {
        assertThatThrownBy(() -> ElfFile.parse(data)).isInstanceOf(LoadException.class).message().contains(phrases);
    }

    @Test
    void rejectsWhatIsNotABpfObject() {
        assertRejected(new byte[10], "shorter than an ELF64 header");
        byte[] notElf = sample.clone();
        notElf[1] = 'X';
        assertRejected(notElf, "bad magic");
        byte[] elf32 = sample.clone();
        elf32[4] = 1;
        assertRejected(elf32, "not ELF64");
        byte[] bigEndian = sample.clone();
        bigEndian[5] = 2;
        assertRejected(bigEndian, "not little-endian");
        byte[] x86 = sample.clone();
        put16(x86, 18, 62);
        assertRejected(x86, "e_machine 62 is not BPF");
        byte[] executable = sample.clone();
        put16(executable, 16, 2);
        assertRejected(executable, "not a relocatable object");
    }

    @Test
    void rejectsASectionPastTheEndOfTheFile() {
        byte[] data = sample.clone();
        int text = sectionHeader(data, 2);
        put64(data, text + 24, 4096 * 4);
        assertRejected(data, "section .text out of range: offset 16384 + size 72 past end of file (" + data.length + " bytes)");
        byte[] huge = sample.clone();
        put64(huge, text + 32, Long.MAX_VALUE);
        assertRejected(huge, "section .text out of range: offset 64 + size " + Long.MAX_VALUE + " past end of file");
    }

    @Test
    void rejectsOverlappingSections() {
        byte[] data = sample.clone();
        // Point .data at the bytes of the xdp section.
        put64(data, sectionHeader(data, 10) + 24, 0x90);
        assertRejected(data, "section .data", "overlaps", "section xdp");
    }

    @Test
    void rejectsATruncatedSectionHeaderTable() {
        byte[] data = Arrays.copyOf(sample, sample.length - 1);
        assertRejected(data, "section header table", "past end of file");
    }

    @Test
    void rejectsUnterminatedAndOutOfRangeNames() throws Exception {
        ElfFile elf = ElfFile.parse(sample);
        ElfSection strtab = elf.section(".strtab").orElseThrow();
        byte[] unterminated = sample.clone();
        unterminated[(int) (strtab.offset() + strtab.size() - 1)] = 'x';
        assertThatThrownBy(() -> ElfFile.parse(unterminated)).isInstanceOf(LoadException.class).hasMessageContaining("unterminated");
        byte[] badName = sample.clone();
        put32(badName, sectionHeader(badName, 2), 0x7fff_0000);
        assertRejected(badName, "section 2 name", "out of range of the string table");
    }

    @Test
    void rejectsBadSymbolAndRelocationIndexes() throws Exception {
        ElfFile elf = ElfFile.parse(sample);
        ElfSection symtab = elf.section(".symtab").orElseThrow();
        byte[] badSection = sample.clone();
        put16(badSection, (int) symtab.offset() + 4 * 24 + 6, 200); // symbol 4 (twice) in section 200
        assertRejected(badSection, "symbol 4 (twice) refers to section 200, out of range");

        ElfSection relXdp = elf.section(".relxdp").orElseThrow();
        byte[] badSymbol = sample.clone();
        put32(badSymbol, (int) relXdp.offset() + 8 + 4, 999); // r_info high word of entry 0
        assertRejected(badSymbol, "relocation section .relxdp: relocation 0 refers to symbol 999, out of range (28 symbols)");

        byte[] pastEnd = sample.clone();
        put64(pastEnd, (int) relXdp.offset(), 0x110); // r_offset = size of xdp
        assertRejected(pastEnd, "relocation 0 out of range: offset 272 + 8 bytes past end of section xdp (272 bytes)");

        // Checked even for sections the loader never reads (debug info).
        ElfSection relDebug = elf.section(".rel.debug_info").orElseThrow();
        byte[] debugPastEnd = sample.clone();
        put64(debugPastEnd, (int) relDebug.offset(), 1 << 20);
        assertRejected(debugPastEnd, "relocation section .rel.debug_info: relocation 0 out of range");

        byte[] unknownType = sample.clone();
        put32(unknownType, (int) relXdp.offset() + 8, 77);
        ElfFile parsed3 = ElfFile.parse(unknownType);
        assertThatThrownBy(() -> parsed3.relocationsFor(parsed3.section("xdp").orElseThrow()))
                .isInstanceOf(LoadException.class).hasMessageContaining("unknown relocation type 77");
    }

    @Test
    void rejectsAHugeZeroFilledSection() throws Exception {
        byte[] data = sample.clone();
        put64(data, sectionHeader(data, 12) + 32, 1L << 40);
        ElfFile elf = ElfFile.parse(data);
        assertThatThrownBy(() -> elf.contents(elf.section(".bss").orElseThrow()))
                .isInstanceOf(LoadException.class).hasMessageContaining("exceeds the limit");
        assertThat(sectionIndex(elf, ".bss")).isEqualTo(12);
    }
}
