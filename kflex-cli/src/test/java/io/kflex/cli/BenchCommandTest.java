package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.bench.Workloads;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code kflex bench}: structure of its output only — never timings (the machines are noisy). */
class BenchCommandTest {
    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects");

    @Test
    void quickJsonRunHasOneRowPerSuiteAndColumnWithRatios() {
        CliRun run = CliRun.of("bench", "--quick", "--json", "--linux", "off", "--objects", OBJECTS.toString(),
                "--suite", "hashmix-1000", "--suite", "memcached-get");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        List<String> rows = run.out().lines().toList();
        assertThat(rows).hasSize(2 * BenchCommand.ENGINES.size());
        for (String suite : List.of("hashmix-1000", "memcached-get")) {
            for (String engine : List.of("interpreter", "jit", "jit-uninstrumented", "java")) {
                assertThat(rows).filteredOn(r -> r.contains("\"suite\":\"" + suite + "\"") && r.contains("\"engine\":\"" + engine + "\""))
                        .singleElement().satisfies(r -> {
                            assertThat(r).contains("\"status\":\"ok\"").containsPattern("\"median_ns\":[0-9.]+")
                                    .containsPattern("\"ns_per_unit\":[0-9.]+").containsPattern("\"vs_jit\":[0-9.]+")
                                    .contains("\"vs_linux\":null");
                        });
            }
            // Linux is off: a visible note, never a number.
            assertThat(rows).filteredOn(r -> r.contains("\"suite\":\"" + suite + "\"") && r.contains("\"engine\":\"linux\""))
                    .singleElement().satisfies(r -> assertThat(r).contains("\"status\":\"skipped\"", "\"median_ns\":null", "--linux off"));
        }
        assertThat(rows).filteredOn(r -> r.contains("\"engine\":\"jit\"")).allSatisfy(r -> assertThat(r).contains("\"vs_jit\":1.0"));
        // Progress goes to stderr, one line per cell.
        assertThat(run.err()).contains("[1/10] hashmix-1000", "[10/10] memcached-get");
    }

    @Test
    void tableListsEverySuiteAndNotesThatLinuxWasSkipped() {
        CliRun run = CliRun.of("bench", "--quick", "--linux", "off", "--objects", OBJECTS.toString(),
                "--engine", "jit", "--engine", "java", "--engine", "linux");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        assertThat(run.out()).contains("suite", "median/run", "per unit", "vs jit", "vs linux");
        for (String suite : Workloads.names()) {
            assertThat(run.out().lines().filter(l -> l.startsWith(suite + " ")).count()).as(suite).isEqualTo(3);
        }
        assertThat(run.out()).contains("note: Linux's JIT not measured: --linux off");
        assertThat(run.out().lines().filter(l -> l.contains(" jit ") && !l.startsWith("suite ")).toList())
                .allSatisfy(l -> assertThat(Arrays.asList(l.trim().split("\\s+"))).contains("1.00x"));
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(CliRun.of("bench", "--suite", "nope").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--suite", "nope").err()).contains("unknown suite 'nope'", "hashmix-1000");
        assertThat(CliRun.of("bench", "--engine", "gpu").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--linux", "maybe").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--objects", "/nonexistent").status()).isEqualTo(Main.USAGE);
    }
}
