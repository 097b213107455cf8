package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DemoCommandTest {
    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects");

    @Test
    void theShowcaseServesPingsFromTheExtensionAndSurvivesARunawayOne() {
        CliRun r = CliRun.of("demo", "--extensions", OBJECTS.toString());
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("xdp_pong.bpf.o             xdp_pong               accepted")
                .contains("sk_leak.bpf.o              leaky_owner            rejected")
                .containsPattern("jit +returned 0x3dc990225692b48b")
                .containsPattern("\"ping 1\" +-> \"pong 1\" +answered by the extension")
                .containsPattern("\"hello\" +-> \"app: hello\" +answered by the Java application")
                .containsPattern("\"ping 2\" +-> \"app: ping 2\" +answered by the Java application")
                .contains("runaway: 1 cancellation(s); policy UNLOAD detached it: hook now runs nothing")
                .containsPattern("\"ping 3\" +-> \"pong 3\" +answered by the extension");
    }

    @Test
    void jsonGivesOneObjectPerResult() {
        CliRun r = CliRun.of("demo", "--extensions", OBJECTS.toString(), "--json");
        assertThat(r.status()).as(r.err()).isZero();
        assertThat(r.out().lines()).allSatisfy(line -> assertThat(line).startsWith("{\"step\":\"").endsWith("}"));
        assertThat(r.out()).contains("{\"step\":\"verify\",\"object\":\"xdp_pong.bpf.o\",\"program\":\"xdp_pong\",\"accepted\":true,")
                .contains("{\"step\":\"exchange\",\"request\":\"ping 1\",\"answer\":\"pong 1\",\"answered_by\":\"extension\",")
                .contains("{\"step\":\"exchange\",\"request\":\"ping 2\",\"answer\":\"app: ping 2\",\"answered_by\":\"application\",")
                .contains("{\"step\":\"cancellation\",\"program\":\"runaway\",\"cancellations\":1,\"hook_runs\":\"nothing\"}");
    }

    @Test
    void aMissingObjectDirectoryIsAUsageError() {
        assertThat(CliRun.of("demo", "--extensions", "/nonexistent").status()).isEqualTo(2);
    }
}
