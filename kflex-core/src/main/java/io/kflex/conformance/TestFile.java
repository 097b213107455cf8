package io.kflex.conformance;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One test of the bpf_conformance format: a program ({@code -- asm} source and/or {@code -- raw}
 * instruction words), the bytes r1 points to ({@code -- mem}), and what must happen: a return
 * value ({@code -- result}) or a rejection ({@code -- error}, {@code -- error pattern}).
 *
 * <p>A file with a section this parser does not know is not an error but cannot be judged
 * either: it is {@linkplain #skipReason() skipped}, never passed.
 *
 * @param asm          the {@code -- asm} section, or null; its first line is line {@code asmFirstLine} of the file
 * @param raw          the {@code -- raw} instruction words, or null
 * @param memory       the {@code -- mem} bytes (empty when there is no such section)
 * @param expectation  what the program must do; null only for a skipped file
 * @param skipReason   why the file cannot be run, or null
 */
public record TestFile(Path path, String asm, int asmFirstLine, long[] raw, byte[] memory, Expectation expectation, String skipReason) {

    /** What a test expects. */
    public sealed interface Expectation {
        /** The program returns {@code value} in r0. */
        record Returns(long value) implements Expectation {}

        /**
         * The program is rejected (it does not assemble, decode or load) or faults at run time.
         * {@code text} is the expected message, a regular expression when {@code pattern}; kflex's
         * messages are its own, so it is shown next to kflex's message rather than matched.
         */
        record Fails(String text, boolean pattern) implements Expectation {}
    }

    /** A section's header line and its content lines. */
    private record Section(int header, List<String> lines) {}

    private static final Set<String> COMMENT_SECTIONS = Set.of("c", "description", "no register offset");
    private static final Pattern HEX_BYTE = Pattern.compile("(0x)?[0-9a-fA-F]{1,2}");

    public boolean skipped() { return skipReason != null; }

    // Arrays compare by content, so that two parses of the same text are equal.
    @Override
    public boolean equals(Object o) {
        return o instanceof TestFile t && path.equals(t.path) && Objects.equals(asm, t.asm) && asmFirstLine == t.asmFirstLine
                && Arrays.equals(raw, t.raw) && Arrays.equals(memory, t.memory)
                && Objects.equals(expectation, t.expectation) && Objects.equals(skipReason, t.skipReason);
    }

    @Override
    public int hashCode() {
        return Objects.hash(path, asm, asmFirstLine, Arrays.hashCode(raw), Arrays.hashCode(memory), expectation, skipReason);
    }

    @Override
    public String toString() {
        return "TestFile[" + path + (skipped() ? ", skipped: " + skipReason : ", " + expectation) + "]";
    }

    /** Reads and parses a file. */
    public static TestFile read(Path path) throws IOException, ConformanceFormatException {
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new ConformanceFormatException(path, 0, "not UTF-8 text");
        }
        return parse(path, text);
    }

    /** Parses the text of a file; {@code path} is used in messages only. */
    public static TestFile parse(Path path, String text) throws ConformanceFormatException {
        String[] lines = text.split("\\R", -1);
        Map<String, Section> sections = new LinkedHashMap<>();
        Section current = null;
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].stripTrailing();
            if (line.startsWith("--")) {
                String name = line.substring(2).strip().toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
                if (COMMENT_SECTIONS.contains(name)) {
                    current = null;
                    continue;
                }
                if (!Set.of("asm", "raw", "mem", "result", "error", "error pattern").contains(name)) {
                    return new TestFile(path, null, 0, null, new byte[0], null, "unknown section '" + line.strip() + "' on line " + (i + 1));
                }
                if (sections.containsKey(name) || (name.startsWith("error") && (sections.containsKey("error") || sections.containsKey("error pattern")))) {
                    throw new ConformanceFormatException(path, i + 1, "section '-- " + name + "' appears twice");
                }
                current = new Section(i + 1, new ArrayList<>());
                sections.put(name, current);
            } else if (current != null) {
                current.lines().add(line);
            }
        }

        Section asmSection = sections.get("asm");
        Section rawSection = sections.get("raw");
        if (asmSection == null && rawSection == null) throw new ConformanceFormatException(path, 0, "no program: neither '-- asm' nor '-- raw'");
        String asm = asmSection == null ? null : String.join("\n", asmSection.lines());
        long[] raw = rawSection == null ? null : rawWords(path, rawSection);
        byte[] memory = sections.containsKey("mem") ? memoryBytes(path, sections.get("mem")) : new byte[0];

        Expectation expectation;
        Section error = sections.containsKey("error") ? sections.get("error") : sections.get("error pattern");
        if (error != null) {
            String expected = String.join(" ", error.lines().stream().map(String::strip).filter(s -> !s.isEmpty()).toList());
            expectation = new Expectation.Fails(expected, sections.containsKey("error pattern"));
        } else if (sections.containsKey("result")) {
            expectation = new Expectation.Returns(result(path, sections.get("result")));
        } else {
            throw new ConformanceFormatException(path, 0, "no expectation: neither '-- result' nor '-- error'");
        }
        return new TestFile(path, asm, asmSection == null ? 0 : asmSection.header() + 1, raw, memory, expectation, null);
    }

    private static long[] rawWords(Path path, Section section) throws ConformanceFormatException {
        List<Long> words = new ArrayList<>();
        for (int i = 0; i < section.lines().size(); i++) {
            for (String token : tokens(section.lines().get(i))) {
                words.add(number(path, section.header() + 1 + i, token, "instruction word"));
            }
        }
        if (words.isEmpty()) throw new ConformanceFormatException(path, section.header(), "'-- raw' holds no instruction words");
        return words.stream().mapToLong(Long::longValue).toArray();
    }

    private static byte[] memoryBytes(Path path, Section section) throws ConformanceFormatException {
        List<Byte> bytes = new ArrayList<>();
        for (int i = 0; i < section.lines().size(); i++) {
            for (String token : tokens(section.lines().get(i))) {
                if (!HEX_BYTE.matcher(token).matches()) {
                    throw new ConformanceFormatException(path, section.header() + 1 + i, "'" + token + "' is not a hex byte in '-- mem'");
                }
                bytes.add((byte) Integer.parseInt(token.startsWith("0x") ? token.substring(2) : token, 16));
            }
        }
        byte[] result = new byte[bytes.size()];
        for (int i = 0; i < result.length; i++) result[i] = bytes.get(i);
        return result;
    }

    private static long result(Path path, Section section) throws ConformanceFormatException {
        String value = null;
        int valueLine = section.header();
        for (int i = 0; i < section.lines().size(); i++) {
            String line = section.lines().get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            if (value != null) throw new ConformanceFormatException(path, section.header() + 1 + i, "'-- result' holds more than one value");
            value = line;
            valueLine = section.header() + 1 + i;
        }
        if (value == null) throw new ConformanceFormatException(path, section.header(), "'-- result' holds no value");
        return number(path, valueLine, value, "result");
    }

    /** A 64-bit value: 0x-prefixed hex or decimal, either unsigned or negative. */
    private static long number(Path path, int line, String token, String what) throws ConformanceFormatException {
        try {
            boolean negative = token.startsWith("-");
            String digits = negative ? token.substring(1) : token;
            long value = digits.toLowerCase(Locale.ROOT).startsWith("0x")
                    ? Long.parseUnsignedLong(digits.substring(2), 16)
                    : Long.parseUnsignedLong(digits);
            if (negative && value < 0) throw new NumberFormatException();
            return negative ? -value : value;
        } catch (NumberFormatException e) {
            throw new ConformanceFormatException(path, line, "'" + token + "' is not a valid " + what + " (hex with 0x, or decimal, 64 bits)");
        }
    }

    private static List<String> tokens(String line) {
        int comment = line.indexOf('#');
        String content = (comment >= 0 ? line.substring(0, comment) : line).strip();
        return content.isEmpty() ? List.of() : List.of(content.split("\\s+"));
    }
}
