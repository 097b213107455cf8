package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConformanceCommandTest {
    @TempDir
    Path dir;

    record Run(int exit, String out, String err) {
        List<String> lines() { return out.lines().toList(); }
    }

    static Run kflex(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(exit, out.toString(), err.toString());
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }

    private static List<String> engineNames() {
        List<String> names = Engines.available().stream().map(Engine::name).toList();
        assumeFalse(names.isEmpty(), "no engine is registered in this build");
        return names;
    }

    private static String engine() {
        return engineNames().getFirst();
    }

    private void writeSmallSuite() throws IOException {
        write("a/add.data", "-- asm\nmov32 %r0, 1\nadd32 %r0, 2\nexit\n-- result\n0x3\n");
        write("a/wrong.data", "-- asm\nmov %r0, 1\nexit\n-- result\n2\n");
        write("b/len.data", "-- asm\nmov %r0, %r2\nexit\n-- mem\n00 01 02\n-- result\n3\n");
        write("b/skip.data", "-- asm\nexit\n-- result\n0\n-- plugin options\n");
        write("b/bad-reg.data", "-- asm\nmov %r11, 1\nexit\n-- error\ninvalid register\n");
        write("ignored.txt", "not a test");
    }

    @Test
    void printsOneLinePerFileAndEngineThenASummary() throws IOException {
        writeSmallSuite();
        String engine = engine();
        Run run = kflex("conformance", dir.toString(), "--engine", engine);
        assertThat(run.exit()).as(run.err()).isEqualTo(1);
        assertThat(run.lines()).containsExactly(
                String.format("PASS  %-11s  a/add.data", engine),
                String.format("FAIL  %-11s  a/wrong.data: returned 0x1, expected 0x2", engine),
                String.format("PASS  %-11s  b/bad-reg.data: does not assemble: line 2: invalid register '%%r11' (r0 to r10) (expected error: invalid register)", engine),
                String.format("PASS  %-11s  b/len.data", engine),
                String.format("SKIP  %-11s  b/skip.data: unknown section '-- plugin options' on line 5", engine),
                "3 passed, 1 failed, 1 skipped");
        assertThat(run.err()).isEmpty();
    }

    @Test
    void exitsZeroWhenEverythingPasses() throws IOException {
        Path add = write("add.data", "-- asm\nmov32 %r0, 3\nexit\n-- result\n0x3\n");
        Run run = kflex("conformance", add.toString(), "--engine", engine());
        assertThat(run.exit()).isZero();
        assertThat(run.lines()).last().isEqualTo("1 passed, 0 failed");
        assertThat(run.lines().getFirst()).startsWith("PASS").endsWith(" " + add);
    }

    @Test
    void bothMeansEveryEngine() throws IOException {
        List<String> names = engineNames();
        write("add.data", "-- asm\nmov32 %r0, 3\nexit\n-- result\n0x3\n");
        Run run = kflex("conformance", dir.toString());
        assertThat(run.exit()).isZero();
        assertThat(run.lines()).hasSize(names.size() + 1);
        for (int i = 0; i < names.size(); i++) assertThat(run.lines().get(i)).isEqualTo(String.format("PASS  %-11s  add.data", names.get(i)));
        assertThat(kflex("conformance", dir.toString(), "--engine", "both").out()).isEqualTo(run.out());
    }

    @Test
    void jsonHasOneObjectPerResultAndASummary() throws IOException {
        writeSmallSuite();
        String engine = engine();
        write("a/quote.data", "-- asm\nmov %r0, 1\nexit\n-- error\nsays \"no\"\\ here\n");
        Run run = kflex("conformance", dir.resolve("a").toString(), "--engine", engine, "--json");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.lines()).containsExactly(
                "{\"file\":\"add.data\",\"engine\":\"" + engine + "\",\"status\":\"passed\",\"message\":\"\"}",
                "{\"file\":\"quote.data\",\"engine\":\"" + engine + "\",\"status\":\"failed\",\"message\":\"returned 0x1 but an error was expected (expected error: says \\\"no\\\"\\\\ here)\"}",
                "{\"file\":\"wrong.data\",\"engine\":\"" + engine + "\",\"status\":\"failed\",\"message\":\"returned 0x1, expected 0x2\"}",
                "{\"passed\":1,\"failed\":2,\"skipped\":0,\"engines\":\"" + engine + "\"}");
    }

    @Test
    void aRunawayProgramIsCancelledAfterTheTimeout() throws IOException {
        Path loop = write("loop.data", "-- asm\nloop:\nja loop\nexit\n-- result\n0\n");
        Path expectedToFail = write("loop-error.data", "-- asm\nloop:\nja loop\nexit\n-- error\ntimeout\n");
        Run run = kflex("conformance", loop.toString(), expectedToFail.toString(), "--engine", engine(), "--timeout", "100ms");
        assertThat(run.exit()).isEqualTo(1);
        assertThat(run.lines().get(0)).startsWith("FAIL").contains("cancelled at insn 0: exceeded budget of 100 ms");
        assertThat(run.lines().get(1)).startsWith("PASS").contains("cancelled at insn 0");
        assertThat(run.lines().get(2)).isEqualTo("1 passed, 1 failed");
    }

    @Test
    void usageErrorsExitTwoWithoutAStackTrace() throws IOException {
        Path good = write("good.data", "-- asm\nexit\n-- result\n0\n");
        Path malformed = write("bad.data", "-- asm\nexit\n-- mem\n0g\n-- result\n0\n");

        assertThat(kflex("conformance").exit()).isEqualTo(2);
        assertThat(kflex("conformance", dir.resolve("missing").toString()).err())
                .isEqualTo("kflex conformance: cannot read " + dir.resolve("missing") + ": no such file or directory\n");
        Run bad = kflex("conformance", good.toString(), malformed.toString(), "--engine", "both");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.out()).isEmpty();
        assertThat(bad.err()).isEqualTo("kflex conformance: malformed test file " + malformed + ":4: '0g' is not a hex byte in '-- mem'\n");

        Run engine = kflex("conformance", good.toString(), "--engine", "fast");
        assertThat(engine.exit()).isEqualTo(2);
        assertThat(engine.err()).isEqualTo("kflex conformance: unknown engine 'fast' (choose interpreter, jit or both)\n");

        Run timeout = kflex("conformance", good.toString(), "--timeout", "soon");
        assertThat(timeout.exit()).isEqualTo(2);
        assertThat(timeout.err()).contains("'soon' is not a duration").doesNotContain("Exception");

        Files.delete(malformed);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertThat(kflex("conformance", empty.toString()).err()).isEqualTo("kflex conformance: no .data files in " + empty + "\n");

        Path binary = Files.write(dir.resolve("binary.data"), new byte[] {(byte) 0xff, (byte) 0xfe, 0});
        assertThat(kflex("conformance", binary.toString()).err()).isEqualTo("kflex conformance: malformed test file " + binary + ":0: not UTF-8 text\n");
    }

    @Test
    void durations() {
        assertThat(DurationConverter.parse("500ms")).hasMillis(500);
        assertThat(DurationConverter.parse("1.5s")).hasMillis(1500);
        assertThat(DurationConverter.parse("2m")).hasSeconds(120);
        assertThat(DurationConverter.parse("PT3S")).hasSeconds(3);
    }
}
