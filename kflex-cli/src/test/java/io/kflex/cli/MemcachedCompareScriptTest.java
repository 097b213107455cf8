package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code bin/memcached-compare --quick} end to end: real memcached and the kflex server modes
 * under memcaslap, one JSON row per run. The kflex servers run from this test's class path (the
 * script's {@code --kflex}), so nothing is built. Skipped, saying so, without memcached,
 * memcaslap or python3 on PATH (Debian: memcached, libmemcached-tools).
 */
class MemcachedCompareScriptTest {
    private static final Pattern FIELD = Pattern.compile("\"(\\w+)\": (\"[^\"]*\"|[^,}]+)");

    static Path onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** A flat JSON object as the script prints it (no nesting), values as text. */
    static Map<String, String> fields(String line) {
        Map<String, String> m = new LinkedHashMap<>();
        Matcher f = FIELD.matcher(line);
        while (f.find()) m.put(f.group(1), f.group(2).replace("\"", ""));
        return m;
    }

    @Test
    @Timeout(300) // about 30 s on an idle two-core machine; the servers' JVMs start slower when it is shared
    void quickModeMeasuresEveryServerAndCountsTheHooksHits() throws Exception {
        for (String tool : List.of("memcached", "memcaslap", "python3")) {
            if (onPath(tool) == null) System.err.println("MemcachedCompareScriptTest skipped: " + tool + " is not on PATH");
            assumeTrue(onPath(tool) != null, tool + " is not on PATH");
        }
        Path repo = Path.of(System.getProperty("kflex.repo.dir", "..")).toAbsolutePath();
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String kflex = String.join(" ", java.toString(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-cp",
                System.getProperty("java.class.path"), Main.class.getName());
        // the interpreter's offload is the same program as the JIT's: three JVMs keep the smoke run short
        Process p = new ProcessBuilder("python3", repo.resolve("bin/memcached-compare").toString(), "--quick", "--json",
                "--servers", "memcached,java,bmc,kflex", "--kflex", kflex).redirectError(ProcessBuilder.Redirect.PIPE).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(240, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(stderr).isZero();

        List<Map<String, String>> runs = new ArrayList<>(), summaries = new ArrayList<>();
        for (String line : stdout.lines().toList()) {
            Map<String, String> row = fields(line);
            (row.get("kind").equals("run") ? runs : summaries).add(row);
        }
        assertThat(runs).as(stdout + stderr).hasSize(4 * 2);
        assertThat(summaries).hasSize(4 * 2);
        for (Map<String, String> r : runs) {
            assertThat(Long.parseLong(r.get("ops_per_s"))).as("%s", r).isPositive();
            assertThat(r.get("avg_latency_us")).as("%s", r).matches("\\d+");
            switch (r.get("server")) {
                case "bmc", "kflex" -> {
                    assertThat(Long.parseLong(r.get("hook_hits"))).as("%s: GETs answered at the hook", r).isPositive();
                    assertThat(r.get("offload_on")).isEqualTo("true");
                    // the servers run with --bpf-stats: without it the program's run time would be 0
                    assertThat(Long.parseLong(r.get("program_ns"))).as("%s: time per invocation", r).isPositive();
                }
                case "memcached", "java" -> assertThat(r).doesNotContainKey("hook_hits");
                default -> throw new AssertionError("unexpected server " + r);
            }
        }
        assertThat(summaries).allSatisfy(s -> assertThat(s).containsKeys("median_ops_per_s", "vs_memcached", "vs_java"));
    }
}
