package io.kflex.memcached;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * libmemcached's {@code memccapable -a} and {@code -b} (the ASCII and binary protocol conformance
 * checkers) against the server, with the offload attached. Skipped, saying so, when memccapable is not on PATH
 * (Debian package libmemcached-tools).
 */
@Timeout(120)
class MemccapableTest {
    static Path onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        return null;
    }

    /** One server for both runs (memccapable flushes it first): its offload is verified once. */
    private static MemcachedServer server;

    @BeforeAll
    static void start() throws Exception {
        if (onPath("memccapable") != null) server = MemcachedServer.start(MemcachedServer.Config.loopback().withOffload(OffloadTest.offloadObject()));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    @Test
    void everyAsciiTestOfMemccapablePasses() throws Exception {
        memccapable("-a", "ascii", 27);
    }

    @Test
    void everyBinaryTestOfMemccapablePasses() throws Exception {
        memccapable("-b", "binary", 27);
    }

    /** Runs memccapable with {@code mode} (-a or -b) against the server; every test must pass. */
    private static void memccapable(String mode, String prefix, int expected) throws Exception {
        Path memccapable = onPath("memccapable");
        if (memccapable == null) System.err.println("MemccapableTest skipped: memccapable is not on PATH (install libmemcached-tools)");
        assumeTrue(memccapable != null, "memccapable is not on PATH (install libmemcached-tools)");
        Pattern result = Pattern.compile("^(" + prefix + " .+?)\\s+\\[(pass|FAIL|skip)\\]", Pattern.MULTILINE);
        Process p = new ProcessBuilder(memccapable.toString(), "-h", "127.0.0.1", "-p",
                Integer.toString(server.tcpAddress().getPort()), mode, "-t", "5").redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        // memccapable prints "[pass]" on the line after the name when a test is slow: join them
        String joined = output.replaceAll("\\s*\\n\\[", " [");
        Matcher m = result.matcher(joined);
        List<String> failed = new java.util.ArrayList<>();
        int passed = 0;
        while (m.find()) {
            if (m.group(2).equals("pass")) passed++;
            else failed.add(m.group(1).trim());
        }
        System.out.println("memccapable " + mode + ": " + passed + " passed" + (failed.isEmpty() ? "" : ", failed: " + failed));
        assertThat(failed).as(output).isEmpty();
        assertThat(passed).as(output).isGreaterThanOrEqualTo(expected);
        assertThat(p.exitValue()).as(output).isZero();
    }
}
