package io.kflex.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.conformance.TestFile.Expectation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TestFileTest {
    private static final Path FILE = Path.of("t.data");

    private static TestFile parse(String text) throws ConformanceFormatException {
        return TestFile.parse(FILE, text);
    }

    @Test
    void readsProgramMemoryAndResult() throws Exception {
        TestFile t = parse("""
                # Copyright header
                -- asm
                mov %r0, %r2
                exit
                -- mem
                00 01 ff
                0x2a
                -- result
                0x8
                """);
        assertThat(t.asm()).isEqualTo("mov %r0, %r2\nexit");
        assertThat(t.asmFirstLine()).isEqualTo(3);
        assertThat(t.memory()).containsExactly(new byte[] {0, 1, (byte) 0xff, 0x2a});
        assertThat(t.raw()).isNull();
        assertThat(t.expectation()).isEqualTo(new Expectation.Returns(8));
        assertThat(t.skipped()).isFalse();
    }

    @Test
    void commentSectionsMayHoldFreeText() throws Exception {
        TestFile t = parse("""
                -- c
                int main() { return 1; }
                -- asm
                exit
                -- no register offset
                call instruction
                -- description
                anything at all: 0xzz
                -- result
                -1
                """);
        assertThat(t.asm()).isEqualTo("exit");
        assertThat(t.asmFirstLine()).isEqualTo(4);
        assertThat(t.expectation()).isEqualTo(new Expectation.Returns(-1));
        assertThat(t.memory()).isEmpty();
    }

    @Test
    void rawWordsAndErrors() throws Exception {
        TestFile t = parse("""
                -- raw
                0x00000000000000b7 0x0000000000000095
                -- error pattern
                .*invalid.*
                """);
        assertThat(t.raw()).containsExactly(0xb7L, 0x95L);
        assertThat(t.asm()).isNull();
        assertThat(t.expectation()).isEqualTo(new Expectation.Fails(".*invalid.*", true));
        assertThat(parse("-- asm\nexit\n-- error\nbad\n   instruction\n").expectation())
                .isEqualTo(new Expectation.Fails("bad instruction", false));
    }

    @Test
    void resultsAreSixtyFourBitHexOrDecimal() throws Exception {
        assertThat(parse("-- asm\nexit\n-- result\n0xffffffffffffffff\n").expectation()).isEqualTo(new Expectation.Returns(-1));
        assertThat(parse("-- asm\nexit\n-- result\n18446744073709551615\n").expectation()).isEqualTo(new Expectation.Returns(-1));
        assertThat(parse("-- asm\nexit\n-- result\n42\n").expectation()).isEqualTo(new Expectation.Returns(42));
    }

    @Test
    void parsesOfTheSameTextAreEqual() throws Exception {
        String text = "-- asm\nexit\n-- raw\n0x95\n-- mem\n01 02\n-- result\n0\n";
        assertThat(parse(text)).isEqualTo(parse(text)).hasSameHashCodeAs(parse(text));
        assertThat(parse(text)).isNotEqualTo(parse(text.replace("01 02", "01 03")));
    }

    @Test
    void anUnknownSectionSkipsTheFile() throws Exception {
        TestFile t = parse("-- asm\nexit\n-- result\n0\n-- frobnicate\n1\n");
        assertThat(t.skipped()).isTrue();
        assertThat(t.skipReason()).isEqualTo("unknown section '-- frobnicate' on line 5");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-- asm\\nexit\\n-- mem\\n00 zz\\n-- result\\n0                 | t.data:4: 'zz' is not a hex byte in '-- mem'",
        "-- asm\\nexit\\n-- mem\\n100\\n-- result\\n0                   | t.data:4: '100' is not a hex byte in '-- mem'",
        "-- raw\\n0x95 0xnope\\n-- result\\n0                            | t.data:2: '0xnope' is not a valid instruction word (hex with 0x, or decimal, 64 bits)",
        "-- asm\\nexit\\n-- result\\n0x1g                               | t.data:4: '0x1g' is not a valid result (hex with 0x, or decimal, 64 bits)",
        "-- asm\\nexit\\n-- result\\n0x10000000000000000                | t.data:4: '0x10000000000000000' is not a valid result (hex with 0x, or decimal, 64 bits)",
        "-- asm\\nexit\\n-- result\\n1\\n2                               | t.data:5: '-- result' holds more than one value",
        "-- asm\\nexit\\n-- result\\n                                   | t.data:3: '-- result' holds no value",
        "-- asm\\nexit\\n                                                | t.data:0: no expectation: neither '-- result' nor '-- error'",
        "-- mem\\n00\\n-- result\\n1                                     | t.data:0: no program: neither '-- asm' nor '-- raw'",
        "-- asm\\nexit\\n-- asm\\nexit\\n-- result\\n1                     | t.data:3: section '-- asm' appears twice",
        "-- raw\\n-- asm\\nexit\\n-- result\\n1                           | t.data:1: '-- raw' holds no instruction words",
    })
    void malformedFilesNameTheLine(String text, String message) {
        assertThatThrownBy(() -> parse(text.replace("\\n", "\n")))
                .isInstanceOf(ConformanceFormatException.class)
                .hasMessage(message);
    }

    @Test
    void theWholeSuiteParsesAndNothingIsSkipped() throws Exception {
        Path dir = ConformanceSuite.directory();
        List<Path> files = ConformanceRunner.collect(List.of(dir));
        assertThat(files).hasSize(ConformanceSuite.FILES);
        for (Path file : files) {
            TestFile t = TestFile.read(file);
            assertThat(t.skipped()).as(file.toString()).isFalse();
            assertThat(t.asm() != null || t.raw() != null).isTrue();
        }
        assertThat(Files.readString(dir.resolve("mem-len.data"))).contains("-- mem");
        assertThat(TestFile.read(dir.resolve("mem-len.data")).memory()).hasSize(8);
    }
}
