package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class VerifyCommandTest {
    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects");

    @Test
    void acceptedProgramReportsStatisticsAsJson() {
        CliRun r = CliRun.of("verify", OBJECTS.resolve("loop_bounded.bpf.o").toString(), "--json");
        assertThat(r.status()).isZero();
        // collatz's loop is counted (at most 1000 steps): its back-edge needs no cancellation point.
        assertThat(r.out().strip()).startsWith("{\"program\":\"collatz\",\"accepted\":true,\"error\":null,\"processed_insns\":")
                .contains("\"guards_needed\":0,\"guards_elided\":0,\"cancellation_points\":0,\"verify_ns\":")
                .containsPattern("\"verify_ns\":[1-9][0-9]*,\"duration_ms\":[0-9]+\\.[0-9]{3}}$");
    }

    @Test
    void rejectionExitsOneAndNamesInstructionSourceLineAndRule() {
        CliRun r = CliRun.of("verify", OBJECTS.resolve("sk_leak.bpf.o").toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).contains("leaky_owner: rejected: insn 45:").contains("acquired at insn 36").contains("sk_leak.bpf.c:")
                .contains("[LEAKED_REFERENCE]");
        CliRun json = CliRun.of("verify", OBJECTS.resolve("sk_leak.bpf.o").toString(), "--json");
        assertThat(json.out().strip()).contains("\"accepted\":false").containsPattern("\"verify_ns\":[1-9][0-9]*,\"duration_ms\":");
    }

    @Test
    void heapProgramsWithKfuncsVerify() {
        CliRun r = CliRun.of("verify", OBJECTS.resolve("kflex_alloc.bpf.o").toString(), "--json");
        assertThat(r.status()).isZero();
        // The unbounded walk freeing every item is the one cancellation point; heap guards are reported.
        assertThat(r.out().strip()).startsWith("{\"program\":\"alloc_free\",\"accepted\":true").contains("\"cancellation_points\":1,")
                .doesNotContain("\"guards_elided\":0,");
        CliRun iter = CliRun.of("verify", OBJECTS.resolve("loop_bpf_for.bpf.o").toString());
        assertThat(iter.status()).isZero();
        // Two nested bpf_for loops: the inner one, up to 2^46 iterations in all, keeps a cancellation point.
        assertThat(iter.out()).contains("triangle: accepted").contains("1 cancellation points");
        assertThat(iter.err()).contains("numeric iterator");
    }

    @Test
    void badLogLevelIsAUsageError() {
        assertThat(CliRun.of("verify", OBJECTS.resolve("loop_bounded.bpf.o").toString(), "--log-level", "7").status()).isEqualTo(2);
    }
}
