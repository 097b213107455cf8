package io.kflex.loader;

import static io.kflex.loader.TestObjects.*;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.elf.ElfFile;
import io.kflex.elf.ElfSection;
import io.kflex.elf.ElfSymbol;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Targeted corruptions of sample.o: each must be refused with a message naming what is wrong. */
class LoaderErrorsTest {
    private static final KfuncResolver KFUNCS = KfuncResolver.of(Map.of("bpf_kflex_probe", 77));
    private final byte[] sample = bytes("sample.o");
    private final ElfFile elf;

    LoaderErrorsTest() throws LoadException {
        elf = ElfFile.parse(sample);
    }

    private int section(String name) {
        return (int) elf.section(name).orElseThrow().offset();
    }

    private ElfSymbol symbol(String name) {
        return elf.symbols().stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
    }

    private int symbolEntry(String name) {
        return section(".symtab") + symbol(name).index() * 24;
    }

    private static void assertRefused(byte[] data, String phrase) {
        assertThatThrownBy(() -> ExtensionObject.parse(data, "sample.o", KFUNCS))
                .isInstanceOf(LoadException.class).hasMessageContaining(phrase);
    }

    @Test
    void overlappingFunctions() {
        byte[] data = sample.clone();
        put64(data, symbolEntry("count") + 8, 0x30); // count starts inside tail
        assertRefused(data, "section xdp: functions tail and count overlap");
    }

    @Test
    void relocationOfAnInstructionThatIsNeitherLddwNorCall() {
        byte[] data = sample.clone();
        put64(data, section(".relxdp") + 2 * 16, 0x50); // &counters relocation moved onto `r2 += -4`
        assertRefused(data, "section xdp: relocation at offset 80 applies to opcode 0x07, which is neither lddw nor call");
    }

    @Test
    void lddwOfASymbolOutsideMapsDataAndCode() {
        byte[] data = sample.clone();
        put32(data, section(".relxdp") + 3 * 16 + 12, symbol("LICENSE").index()); // &hits becomes &LICENSE
        assertRefused(data, "symbol LICENSE is in section license, which holds no map, global data or code");
    }

    @Test
    void mapSymbolPastTheEndOfMaps() {
        byte[] data = sample.clone();
        put64(data, symbolEntry("counters") + 8, 0x1000);
        assertRefused(data, "map counters: symbol out of range: offset 4096 + size 32 past end of section .maps (104 bytes)");
    }

    @Test
    void undecodableInstructionNamesTheProgram() {
        byte[] data = sample.clone();
        data[section("xdp") + 0x38 + 8] = (byte) 0xff; // second instruction of count
        assertRefused(data, "program count (section xdp): insn 1:");
    }

    @Test
    void aSecondArenaIsRefused() throws Exception {
        // callback.o declares one arena; turning legacy_array (type 2) into an arena makes two.
        byte[] data = bytes("callback.o");
        ElfFile callback = ElfFile.parse(data);
        ElfSection maps = callback.section("maps").orElseThrow();
        put32(data, (int) maps.offset(), 33);
        assertThatThrownBy(() -> ExtensionObject.parse(data, "callback.o", KfuncResolver.NONE))
                .isInstanceOf(LoadException.class)
                .hasMessageContaining("maps legacy_array and heap: an object can declare only one arena");
    }

    @Test
    void callIntoNonCode() {
        byte[] data = sample.clone();
        // The kfunc call in tail now names `hits`, a variable.
        put32(data, section(".relxdp") + 16 + 12, symbol("hits").index());
        assertRefused(data, "call to hits, which is not a function in a code section");
    }
}
