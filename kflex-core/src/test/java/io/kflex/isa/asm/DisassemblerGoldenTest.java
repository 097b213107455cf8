package io.kflex.isa.asm;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.Decoder;
import io.kflex.isa.Encoder;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.Call;
import io.kflex.isa.Instruction.CallKind;
import io.kflex.isa.RawInstruction;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Compares the disassembler with verbatim {@code llvm-objdump-19 -d --mcpu=v4} listings of objects
 * built from C and from LLVM assembly (see golden/README.md). The bytes come from the listing, so
 * the tests need no compiler.
 */
class DisassemblerGoldenTest {
    private static final Pattern INSN_LINE = Pattern.compile("^\\s*(\\d+):\\t([0-9a-f]{2}(?: [0-9a-f]{2})*)\\t(.*)$");
    private static final Pattern ANNOTATION = Pattern.compile(" <[^<>\\s]*>$");

    record Golden(int slot, long[] words, String text) {}

    @ParameterizedTest
    @CsvSource({
        "forms.objdump, HEX",
        "forms.decimal.objdump, DECIMAL",
        "xdp_calls.objdump, HEX",
        "v4_features.objdump, HEX",
    })
    void printsWhatLlvmObjdumpPrints(String file, Disassembler.Radix radix) throws Exception {
        List<Golden> golden = load(file);
        assertThat(golden).hasSizeGreaterThan(25);
        for (Golden g : golden) {
            Instruction insn = decode(g);
            String expected = g.text();
            if (insn instanceof Call c && c.kind() == CallKind.LOCAL) {
                // The one deliberate difference: LLVM prints local calls like helper calls.
                String target = expected.substring("call ".length());
                expected = "call pc" + (target.startsWith("-") ? target : "+" + target);
            }
            assertThat(Disassembler.of(radix).format(insn)).as("%s slot %d", file, g.slot()).isEqualTo(expected);
        }
    }

    @ParameterizedTest
    @CsvSource({"forms.objdump", "forms.decimal.objdump", "xdp_calls.objdump", "v4_features.objdump"})
    void assemblesWhatLlvmObjdumpPrintsToTheSameBytes(String file) throws Exception {
        for (Golden g : load(file)) {
            Instruction insn = decode(g);
            if (insn instanceof Call c && c.kind() == CallKind.LOCAL) continue; // ambiguous in LLVM's text
            assertThat(Encoder.encode(Assembler.assembleInstruction(g.text()))).as("%s slot %d: %s", file, g.slot(), g.text()).containsExactly(g.words());
        }
    }

    private static Instruction decode(Golden g) throws Exception {
        RawInstruction next = g.words().length > 1 ? RawInstruction.of(g.words()[1]) : null;
        return Decoder.decode(g.slot(), RawInstruction.of(g.words()[0]), next);
    }

    static List<Golden> load(String file) throws IOException {
        List<Golden> result = new ArrayList<>();
        try (InputStream in = DisassemblerGoldenTest.class.getResourceAsStream("golden/" + file)) {
            assertThat(in).as(file).isNotNull();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                Matcher m = INSN_LINE.matcher(line);
                if (!m.matches()) continue;
                String[] bytes = m.group(2).trim().split(" ");
                long[] words = new long[bytes.length / 8];
                for (int i = 0; i < bytes.length; i++) {
                    words[i / 8] |= Long.parseLong(bytes[i], 16) << (8 * (i % 8));
                }
                result.add(new Golden(Integer.parseInt(m.group(1)), words, ANNOTATION.matcher(m.group(3)).replaceFirst("")));
            }
        }
        return result;
    }
}
