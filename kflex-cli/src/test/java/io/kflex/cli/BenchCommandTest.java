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
    void withForkEachSuiteRunsInAJvmOfItsOwnAndItsRowsComeBackAsWithout() {
        CliRun run = CliRun.of("bench", "--quick", "--fork", "--json", "--linux", "off", "--objects", OBJECTS.toString(),
                "--engine", "jit", "--engine", "interpreter", "--pair", "jit,jit-uninstrumented", "--loads", "1",
                "--suite", "hashmix-1000", "--suite", "memcached-get");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        List<String> rows = run.out().lines().toList();
        assertThat(rows).hasSize(2 * 3);
        for (String suite : List.of("hashmix-1000", "memcached-get")) {
            assertThat(rows).filteredOn(r -> r.contains("\"suite\":\"" + suite + "\"") && r.contains("\"engine\":\"jit\""))
                    .singleElement().satisfies(r -> assertThat(r).contains("\"status\":\"ok\"", "\"vs_jit\":1.0"));
            assertThat(rows).filteredOn(r -> r.contains("\"suite\":\"" + suite + "\"") && r.contains("\"engine\":\"interpreter\""))
                    .singleElement().satisfies(r -> assertThat(r).contains("\"status\":\"ok\"").containsPattern("\"vs_jit\":[0-9.]+"));
            assertThat(rows).filteredOn(r -> r.contains("\"kind\":\"pair\"") && r.contains("\"suite\":\"" + suite + "\""))
                    .singleElement().satisfies(r -> assertThat(r).contains("\"status\":\"ok\"", "\"loads\":1"));
        }
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
    void pairedJsonRowsCarryTheRatioItsSpreadAndEveryLoad() {
        CliRun run = CliRun.of("bench", "--quick", "--json", "--objects", OBJECTS.toString(), "--pair", "jit,jit-uninstrumented",
                "--loads", "2", "--suite", "hashmix-1000", "--suite", "listwalk-65536");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        List<String> rows = run.out().lines().toList();
        // --pair without --engine: only the pairs run.
        assertThat(rows).hasSize(2).allSatisfy(r -> assertThat(r)
                .startsWith("{\"kind\":\"pair\"")
                .contains("\"a\":\"jit\"", "\"b\":\"jit-uninstrumented\"", "\"status\":\"ok\"", "\"loads\":2", "\"note\":\"\"")
                .containsPattern("\"ratio\":[0-9.]+,\"ratio_q1\":[0-9.]+,\"ratio_q3\":[0-9.]+,\"ratio_ci95_low\":[0-9.]+,\"ratio_ci95_high\":[0-9.]+")
                .containsPattern("\"a_median_ns\":[0-9.]+,\"b_median_ns\":[0-9.]+")
                // 2 loads x the quick setting's 6 round pairs, and one median per load.
                .contains("\"round_pairs\":12")
                .containsPattern("\"load_ratios\":\\[[0-9.]+,[0-9.]+\\]"));
        assertThat(rows.get(0)).contains("\"suite\":\"hashmix-1000\"");
        assertThat(rows.get(1)).contains("\"suite\":\"listwalk-65536\"");
        assertThat(run.err()).contains("[1/2] hashmix-1000", "jit/jit-uninstrumented", "ratio ");
    }

    @Test
    void pairsAreTabulatedAfterTheColumnsWhenEnginesAreGiven() {
        CliRun run = CliRun.of("bench", "--quick", "--objects", OBJECTS.toString(), "--suite", "countmin-update", "--engine", "jit",
                "--pair", "jit,jit", "--pair", "interpreter,jit", "--loads", "1");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        assertThat(run.out()).contains("median/run", "paired A/B", "1 loads x 6 round pairs", "95% interval");
        assertThat(run.out().lines().filter(l -> l.startsWith("countmin-update ")).toList()).hasSize(3)
                .anySatisfy(l -> assertThat(l).contains("jit / jit "))
                .anySatisfy(l -> assertThat(l).contains("interpreter / jit "));
    }

    @Test
    void dataStructureSuitesSayWhyLinuxHasNoColumn() {
        CliRun run = CliRun.of("bench", "--quick", "--json", "--objects", OBJECTS.toString(), "--suite", "kvstore-get",
                "--suite", "skiplist-lookup", "--engine", "java", "--engine", "linux");
        assertThat(run.status()).as(run.err()).isEqualTo(Main.OK);
        assertThat(run.out().lines().filter(l -> l.contains("\"engine\":\"linux\"")).toList()).hasSize(2)
                .allSatisfy(l -> assertThat(l).contains("\"status\":\"skipped\"", "KFlex only", "kflex_malloc"));
        assertThat(run.out().lines().filter(l -> l.contains("\"engine\":\"java\"")).toList()).hasSize(2)
                .allSatisfy(l -> assertThat(l).contains("\"status\":\"ok\""));
    }

    @Test
    void badArgumentsAreUsageErrors() {
        for (String pair : List.of("jit", "jit,linux", "java,jit", "jit,jit-uninstrumented,interpreter", "")) {
            CliRun run = CliRun.of("bench", "--pair", pair);
            assertThat(run.status()).as(pair).isEqualTo(Main.USAGE);
            assertThat(run.err()).as(pair).contains("--pair takes two kflex engines");
        }
        assertThat(CliRun.of("bench", "--pair", "jit,jit", "--loads", "0").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--suite", "nope").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--suite", "nope").err()).contains("unknown suite 'nope'", "hashmix-1000");
        assertThat(CliRun.of("bench", "--engine", "gpu").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--linux", "maybe").status()).isEqualTo(Main.USAGE);
        assertThat(CliRun.of("bench", "--objects", "/nonexistent").status()).isEqualTo(Main.USAGE);
    }
}
