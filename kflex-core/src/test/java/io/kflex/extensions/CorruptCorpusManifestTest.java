package io.kflex.extensions;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The hostile-object corpus ({@code src/test/resources/corrupt}) and its manifest agree: every
 * object is described once, with a corruption and a non-empty expected error phrase, and no
 * object is a copy of another (each carries its own defect).
 */
class CorruptCorpusManifestTest {

    private static Path corpus() throws URISyntaxException {
        return Path.of(CorruptCorpusManifestTest.class.getResource("/corrupt/MANIFEST.tsv").toURI()).getParent();
    }

    private static List<String[]> rows() throws IOException, URISyntaxException {
        try (Stream<String> lines = Files.lines(corpus().resolve("MANIFEST.tsv"))) {
            return lines.filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .skip(1) // column names
                    .map(l -> l.split("\t", -1))
                    .toList();
        }
    }

    @Test
    void manifestDescribesEveryObjectExactlyOnce() throws IOException, URISyntaxException {
        List<String[]> rows = rows();
        assertThat(rows).hasSizeGreaterThanOrEqualTo(40);
        assertThat(rows).allSatisfy(row -> {
            assertThat(row).as(String.join("|", row)).hasSize(3);
            assertThat(row[0]).endsWith(".o");
            assertThat(row[1]).isNotBlank();
            assertThat(row[2]).isNotBlank();
        });

        List<String> listed = rows.stream().map(row -> row[0]).toList();
        assertThat(listed).doesNotHaveDuplicates();
        Set<String> onDisk;
        try (Stream<Path> files = Files.list(corpus())) {
            onDisk = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".o"))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
        assertThat(new TreeSet<>(listed)).isEqualTo(onDisk);
    }

    @Test
    void everyObjectIsDistinct() throws IOException, URISyntaxException {
        Set<String> contents = new TreeSet<>();
        for (String[] row : rows()) {
            byte[] bytes = Files.readAllBytes(corpus().resolve(row[0]));
            assertThat(contents.add(java.util.HexFormat.of().formatHex(bytes)))
                    .as("%s duplicates another corrupted object", row[0])
                    .isTrue();
        }
    }
}
