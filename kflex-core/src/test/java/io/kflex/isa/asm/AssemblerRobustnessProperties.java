package io.kflex.isa.asm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Whatever the text, the assembler either assembles it or reports an AssemblyException with a line. */
class AssemblerRobustnessProperties {
    private static final List<String> PIECES = List.of(
            "r0", "w1", "%r2", "r10", "r11", "=", "+=", "s>>=", "-", "+", "*", "(", ")", "[", "]", ",", ":", "u32",
            "s8", "ll", "if", "goto", "gotol", "lock", "call", "local", "pc", "exit", "mov", "lddw", "ldxw", "stxdw",
            "jne", "ja", "0x10", "-1", "65536", "99999999999999999999", "L1", "L1:", "be16", "atomic_fetch_add",
            "xchg_64", "cmpxchg_64", "addr_space_cast", "map_value", "kfunc", "#", "\n", " ", "é", "@", "0x");

    @Provide
    Arbitrary<String> texts() {
        return Arbitraries.of(PIECES).list().ofMaxSize(30).map(parts -> String.join(" ", parts));
    }

    @Property(tries = 3000)
    void neverThrowsAnythingElse(@ForAll("texts") String text) {
        try {
            assertThat(Assembler.assemble(text).length()).isPositive();
        } catch (AssemblyException e) {
            assertThat(e.line()).isBetween(1, (int) text.lines().count() + 1);
            assertThat(e.problem()).isNotBlank();
        }
    }

    @Property(tries = 2000)
    void mutatedListingsNeverThrowAnythingElse(@ForAll("texts") String noise, @ForAll int position) {
        String listing = "r0 = *(u32 *)(r1 + 4)\nif r0 s> 0x5 goto +1\nr0 = atomic_fetch_add((u64 *)(r10 - 8), r0)\nexit\n";
        int at = Math.floorMod(position, listing.length());
        String text = listing.substring(0, at) + noise + listing.substring(at);
        try {
            Assembler.assemble(text);
        } catch (AssemblyException e) {
            assertThat(e.problem()).isNotBlank();
        }
    }
}
