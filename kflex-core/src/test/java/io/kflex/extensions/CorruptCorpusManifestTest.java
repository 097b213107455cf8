package io.kflex.extensions;

import static org.assertj.core.api.Assertions.assertThat;
import static io.kflex.extensions.HostTools.onPath;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile-object corpus ({@code src/test/resources/corrupt}) and its manifest agree: every
 * object is described once, with a corruption and a non-empty expected error phrase, no object
 * is a copy of another (each carries its own defect), and the committed files are what
 * {@code extensions/corrupt/make-corrupt.py} generates from the committed objects.
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
            assertThat(contents.add(HexFormat.of().formatHex(bytes)))
                    .as("%s duplicates another corrupted object", row[0])
                    .isTrue();
        }
    }

    @Test
    void corpusIsWhatTheGeneratorWrites(@TempDir Path out) throws Exception {
        assumeTrue(onPath("python3"), "python3 is not on PATH: cannot rerun the generator");
        String repo = HostTools.repositoryDir().toString();
        Process gen = new ProcessBuilder("python3", Path.of(repo, "extensions", "corrupt", "make-corrupt.py").toString(),
                        out.toString())
                .redirectErrorStream(true)
                .start();
        gen.getOutputStream().close();
        String log = new String(gen.getInputStream().readAllBytes());
        assertThat(gen.waitFor(2, TimeUnit.MINUTES)).isTrue();
        assertThat(gen.exitValue()).as(log).isZero();

        Set<String> generated;
        try (Stream<Path> files = Files.list(out)) {
            generated = files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        Set<String> committed;
        try (Stream<Path> files = Files.list(corpus())) {
            committed = files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
        assertThat(generated).isEqualTo(committed);
        for (String name : generated) {
            assertThat(Files.mismatch(out.resolve(name), corpus().resolve(name)))
                    .as("%s differs from the generator's output: rerun extensions/corrupt/make-corrupt.py", name)
                    .isEqualTo(-1L);
        }
    }
}
