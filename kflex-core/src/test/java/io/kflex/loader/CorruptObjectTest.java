package io.kflex.loader;

import static io.kflex.loader.TestObjects.bytes;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import net.jqwik.api.*;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/**
 * Hostile inputs: every damaged object must be refused with a {@link LoadException} — never another
 * exception, never a hang — and the refusal must come from a check of ours, not from a Java
 * exception we happened to catch (those are wrapped as "malformed object (...)" and would reveal a
 * missing check).
 */
class CorruptObjectTest {
    private static final List<String> OBJECTS = List.of("sample.o", "callback.o", "unknown_section.o", "handwritten.o");
    private static final KfuncResolver ALL_KFUNCS = name -> java.util.OptionalInt.of(name.length());

    /** Loads {@code data}; returns normally if it loads or is refused by one of our own checks. */
    private static void loadOrRefuseCleanly(byte[] data, String what) {
        try {
            ExtensionObject.parse(data, what, ALL_KFUNCS);
        } catch (LoadException e) {
            if (e.getCause() instanceof RuntimeException || e.getCause() instanceof Error) {
                throw new AssertionError(what + ": refused only by an unanticipated exception: " + e.getMessage(), e.getCause());
            }
            assertThat(e.getMessage()).startsWith(what + ": ");
        }
    }

    @Test
    void everyTruncationIsRefused() {
        for (String name : OBJECTS) {
            byte[] data = bytes(name);
            for (int length = 0; length < data.length; length += 64) {
                byte[] truncated = Arrays.copyOf(data, length);
                assertThatThrownBy(() -> ExtensionObject.parse(truncated, name, ALL_KFUNCS))
                        .as("%s truncated to %d bytes", name, length).isInstanceOf(LoadException.class);
                loadOrRefuseCleanly(truncated, name);
            }
        }
    }

    @Test
    void everyByteOfTheHeadersFlippedLoadsOrIsRefusedCleanly() {
        for (String name : OBJECTS) {
            byte[] data = bytes(name);
            int shoff = (int) TestObjects.u64(data, 40);
            int headerEnd = data.length;
            for (int offset = 0; offset < headerEnd; offset++) {
                if (offset >= 64 && offset < shoff) continue; // ELF header and section header table only
                for (int flip : new int[] {0xff, 0x01}) {
                    byte[] mutated = data.clone();
                    mutated[offset] ^= (byte) flip;
                    loadOrRefuseCleanly(mutated, name);
                }
            }
        }
    }

    @Test
    void everyByteOfTheBtfAndSymbolsFlippedLoadsOrIsRefusedCleanly() throws Exception {
        byte[] data = bytes("sample.o");
        io.kflex.elf.ElfFile elf = io.kflex.elf.ElfFile.parse(data);
        for (String section : List.of(".BTF", ".BTF.ext", ".symtab", ".maps", ".rel.maps", ".relxdp", "xdp")) {
            io.kflex.elf.ElfSection s = elf.section(section).orElseThrow();
            for (long offset = s.offset(); offset < s.offset() + s.size(); offset++) {
                byte[] mutated = data.clone();
                mutated[(int) offset] ^= (byte) 0xff;
                loadOrRefuseCleanly(mutated, "sample.o");
            }
        }
    }

    @Property(tries = 300)
    void randomMutationsNeverThrowAnythingButLoadExceptionAndStayFast(
            @ForAll @IntRange(min = 0, max = 3) int object,
            @ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = Integer.MAX_VALUE) Integer> positions,
            @ForAll @Size(min = 8, max = 8) List<Byte> values) {
        String name = OBJECTS.get(object);
        byte[] data = bytes(name);
        for (int i = 0; i < positions.size(); i++) data[positions.get(i) % data.length] = values.get(i);
        long start = System.nanoTime();
        loadOrRefuseCleanly(data, name);
        long millis = (System.nanoTime() - start) / 1_000_000;
        // A guard against hangs and blow-ups (a hostile count driving a long loop), not a speed
        // test: loading takes well under a millisecond, so only a pathology can come near this.
        assertThat(millis).as("loading a mutated %s", name).isLessThan(5_000);
    }

    @Property(tries = 100)
    void randomBytesAreRefused(@ForAll @Size(max = 4096) byte[] garbage) {
        assertThatThrownBy(() -> ExtensionObject.parse(garbage, "garbage", ALL_KFUNCS)).isInstanceOf(LoadException.class);
    }
}
