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
        // collatz has no provable bound: its back-edge is a cancellation point.
        assertThat(r.out().strip()).startsWith("{\"program\":\"collatz\",\"accepted\":true,\"error\":null,\"processed_insns\":")
                .endsWith("\"guards_needed\":0,\"guards_elided\":0,\"cancellation_points\":1}");
    }

    @Test
    void rejectionExitsOneAndNamesInstructionSourceLineAndRule() {
        CliRun r = CliRun.of("verify", OBJECTS.resolve("heap_list.bpf.o").toString());
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).contains("build_and_walk: rejected: insn 10:").contains("heap_list.bpf.c:").contains("[UNKNOWN_HELPER]");
    }

    @Test
    void badLogLevelIsAUsageError() {
        assertThat(CliRun.of("verify", OBJECTS.resolve("loop_bounded.bpf.o").toString(), "--log-level", "7").status()).isEqualTo(2);
    }
}
