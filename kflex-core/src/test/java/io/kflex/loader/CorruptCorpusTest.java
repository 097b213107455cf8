package io.kflex.loader;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The corpus of deliberately corrupted objects in {@code src/test/resources/corrupt}: each file in
 * {@code MANIFEST.tsv} (file, what is corrupted, expected phrase) must be refused with a
 * {@link LoadException} whose message contains the phrase.
 */
class CorruptCorpusTest {

    record Entry(String file, String corruption, String phrase) {}

    static List<Entry> manifest() throws IOException {
        try (InputStream in = CorruptCorpusTest.class.getResourceAsStream("/corrupt/MANIFEST.tsv")) {
            if (in == null) return null;
            List<Entry> entries = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) continue;
                String[] columns = line.split("\t");
                if (columns.length < 3) throw new IllegalStateException("MANIFEST.tsv: line without three columns: " + line);
                if (columns[0].equals("file")) continue; // header row
                entries.add(new Entry(columns[0].strip(), columns[1].strip(), columns[2].strip()));
            }
            return entries;
        }
    }

    @TestFactory
    List<DynamicTest> everyCorruptedObjectIsRefusedWithItsPhrase() throws IOException {
        List<Entry> entries = manifest();
        Assumptions.assumeTrue(entries != null, "no corrupted-object corpus yet");
        assertThat(entries).isNotEmpty();
        return entries.stream().map(e -> DynamicTest.dynamicTest(e.file() + " (" + e.corruption() + ")", () -> {
            byte[] data;
            try (InputStream in = CorruptCorpusTest.class.getResourceAsStream("/corrupt/" + e.file())) {
                assertThat(in).as("corpus file %s", e.file()).isNotNull();
                data = in.readAllBytes();
            }
            try {
                ExtensionObject.parse(data, e.file(), KfuncResolver.NONE);
                throw new AssertionError(e.file() + " loaded although " + e.corruption());
            } catch (LoadException refused) {
                if (refused.getCause() instanceof RuntimeException || refused.getCause() instanceof Error) {
                    throw new AssertionError(e.file() + ": refused only by an unanticipated exception", refused.getCause());
                }
                assertThat(refused.getMessage()).as("%s (%s)", e.file(), e.corruption()).containsIgnoringCase(e.phrase());
            }
        })).toList();
    }
}
