package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RunCommandTest {
    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects");

    @TempDir
    Path dir;

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /** struct calc_args { u32 op; u32 pad; s64 a, b, result; } */
    private static byte[] calc(int op, long a, long b) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(op).putInt(0).putLong(a).putLong(b).putLong(0).array();
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aSyscallProgramRunsOnItsContextAndWritesItBack(String engine) throws IOException {
        Path in = file("ctx.bin", calc(2, 6, 7)), out = dir.resolve("ctx.out");
        CliRun r = CliRun.of("run", OBJECTS.resolve("syscall_ctx.bpf.o").toString(), "--program", "calc", "--ctx-in", in.toString(),
                "--ctx-out", out.toString(), "--engine", engine, "--repeat", "5");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("calc: retval 0 (0x0), duration ").contains("(median of 5 runs)");
        assertThat(ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN).getLong(24)).isEqualTo(42);
    }

    @Test
    void aPacketProgramGetsTheFrameAndItsOutputFrameIsWritten() throws IOException {
        byte[] frame = new byte[14 + 20 + 8 + 4];
        frame[12] = 0x08;
        frame[14] = 0x45;
        frame[14 + 9] = 17;
        System.arraycopy("ping".getBytes(), 0, frame, 42, 4);
        Path in = file("frame.bin", frame), out = dir.resolve("frame.out");
        CliRun r = CliRun.of("run", OBJECTS.resolve("xdp_pong.bpf.o").toString(), "--program", "xdp_pong", "--data-in", in.toString(),
                "--data-out", out.toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().strip()).startsWith("{\"program\":\"xdp_pong\",\"retval\":3,\"duration_ns\":")
                .contains("\"cancelled\":false,\"cancel_point\":null,\"released\":[]");
        assertThat(new String(Files.readAllBytes(out), 42, 4)).isEqualTo("pong");
    }

    @Test
    void repeatedProgramsRunInOrderAgainstTheSameMaps() throws IOException {
        Path in = file("args.bin", new byte[8]);
        CliRun r = CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "globals", "--program", "globals",
                "--ctx-in", in.toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        // total starts at 40 and grows by 2 per run: 42 * 3 + 'k' + 1000, then 44 * 3 + 'k' + 1000.
        assertThat(r.out().lines()).hasSize(2);
        assertThat(r.out().lines().toList().get(0)).contains("\"retval\":1233");
        assertThat(r.out().lines().toList().get(1)).contains("\"retval\":1239");
    }

    @Test
    void rejectedProgramsExitOneAndBadInputExitsTwo() throws IOException {
        CliRun rejected = CliRun.of("run", OBJECTS.resolve("sk_leak.bpf.o").toString(), "--program", "leaky_owner");
        assertThat(rejected.status()).isEqualTo(1);
        assertThat(rejected.out()).contains("leaky_owner: rejected:").contains("LEAKED_REFERENCE");

        assertThat(CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "nope").status()).isEqualTo(2);
        assertThat(CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "globals", "--repeat", "0").status()).isEqualTo(2);
        assertThat(CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "globals", "--engine", "turbo").status()).isEqualTo(2);
        assertThat(CliRun.of("run", dir.resolve("missing.o").toString(), "--program", "x").status()).isEqualTo(2);
        assertThat(CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "globals", "--ctx-in",
                dir.resolve("missing.bin").toString()).status()).isEqualTo(2);
    }

    @Test
    void anEndlessOrOversizedInputIsAUsageErrorNotAnOutOfMemoryError() throws IOException {
        CliRun endless = CliRun.of("run", OBJECTS.resolve("globals.bpf.o").toString(), "--program", "globals", "--ctx-in", "/dev/zero");
        assertThat(endless.status()).isEqualTo(2);
        assertThat(endless.err()).contains("/dev/zero is larger than the 65535-byte limit");
        Path big = file("big.bin", new byte[io.kflex.runtime.PacketBuffer.MAX_FRAME + 1]);
        CliRun frame = CliRun.of("run", OBJECTS.resolve("xdp_pong.bpf.o").toString(), "--program", "xdp_pong", "--data-in", big.toString());
        assertThat(frame.status()).isEqualTo(2);
        assertThat(frame.err()).contains("larger than the " + io.kflex.runtime.PacketBuffer.MAX_FRAME + "-byte limit");
        CliRun none = CliRun.of("run", OBJECTS.resolve("xdp_pong.bpf.o").toString(), "--program", "xdp_pong");
        assertThat(none.status()).as("as in Linux, a packet program's test run needs an Ethernet header").isEqualTo(2);
        assertThat(none.err()).contains("needs a frame of at least 14 bytes");
    }
}
