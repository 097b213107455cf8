package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.Frames;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@code kflex run --timeout}: cancelled programs, what they released, and the programs after them. */
class RunCancellationTest {
    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects");

    @TempDir
    Path dir;

    private String[] demo(String engine, String... more) throws Exception {
        Path frame = dir.resolve("frame.bin"), ctx = dir.resolve("ctx.bin");
        InetAddress loopback = InetAddress.getLoopbackAddress();
        Files.write(frame, Frames.udp(new InetSocketAddress(loopback, 4242), new InetSocketAddress(loopback, 5353),
                ByteBuffer.wrap("spin".getBytes())));
        Files.write(ctx, new byte[8]);
        List<String> args = new java.util.ArrayList<>(List.of("run", OBJECTS.resolve("cancel_demo.bpf.o").toString(),
                "--program", "take_locks", "--program", "hold_and_spin", "--program", "take_locks",
                "--data-in", frame.toString(), "--ctx-in", ctx.toString(), "--timeout", "30ms", "--engine", engine));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aCancelledProgramIsReportedAndTheNextOneRunsAgainstTheSameMapsAndHeap(String engine) throws Exception {
        CliRun r = CliRun.of(demo(engine, "--json"));
        assertThat(r.status()).as("a cancelled run fails the command").isEqualTo(1);
        List<String> lines = r.out().strip().lines().toList();
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0)).startsWith("{\"program\":\"take_locks\",\"retval\":1,").contains("\"cancelled\":false,\"cancel_point\":null");
        assertThat(lines.get(1)).startsWith("{\"program\":\"hold_and_spin\",\"retval\":0,")
                // No host socket in a test run: the lookup finds none, so no socket is held.
                .containsPattern("\"cancelled\":true,\"cancel_point\":\\d+,"
                        + "\"released\":\\[\"bpf_spin_lock\",\"kflex_spin_lock\",\"kflex_spin_lock\",\"ringbuf_record\"\\],"
                        + "\"cancel_line\":\"cancel_demo.bpf.c:\\d+: while")
                .contains("\"cancel_reason\":\"exceeded budget of 30 ms\"")
                .contains("\"released_resources\":[\"bpf_spin_lock 0x");
        // The locks the cancelled program held were released: the same locks are taken again.
        assertThat(lines.get(2)).startsWith("{\"program\":\"take_locks\",\"retval\":2,").contains("\"cancelled\":false");
    }

    @Test
    void theTextReportNamesThePointTheReasonAndWhatWasReleased() throws Exception {
        CliRun r = CliRun.of(demo("jit"));
        assertThat(r.status()).isEqualTo(1);
        List<String> lines = r.out().strip().lines().toList();
        assertThat(lines.get(0)).startsWith("take_locks: retval 1 (0x1)");
        assertThat(lines.get(1)).containsPattern("^hold_and_spin: cancelled at insn \\d+ \\(cancel_demo.bpf.c:\\d+: while")
                .contains("exceeded budget of 30 ms; released bpf_spin_lock 0x").contains("kflex_spin_lock kflex_heap_map+0x")
                .contains("ringbuf_record events+0x");
        assertThat(lines.get(2)).startsWith("take_locks: retval 2 (0x2)");
    }

    @Test
    void aProgramThatReturnsIsNotCancelled() throws Exception {
        Path ctx = dir.resolve("ctx.bin");
        Files.write(ctx, new byte[8]);
        CliRun r = CliRun.of("run", OBJECTS.resolve("cancel_demo.bpf.o").toString(), "--program", "take_locks", "--ctx-in", ctx.toString(),
                "--repeat", "3", "--json");
        assertThat(r.status()).isZero();
        assertThat(r.out().strip()).startsWith("{\"program\":\"take_locks\",\"retval\":3,")
                .contains("\"cancelled\":false,\"cancel_point\":null,\"released\":[],\"cancel_line\":null,\"cancel_reason\":null,\"released_resources\":[]");
    }
}
