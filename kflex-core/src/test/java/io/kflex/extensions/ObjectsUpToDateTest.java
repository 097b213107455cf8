package io.kflex.extensions;

import static org.assertj.core.api.Assertions.assertThat;
import static io.kflex.extensions.HostTools.onPath;
import static io.kflex.extensions.HostTools.repositoryDir;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The object files committed under {@code extensions/objects} are what their sources compile
 * to. Tests elsewhere use those objects without a compiler; this test catches a source edited
 * without rebuilding (or an object edited by hand) by running {@code make -C extensions check},
 * which rebuilds every object into a temporary directory and compares bytes.
 *
 * <p>It needs the pinned toolchain (recorded in {@code extensions/objects/TOOLCHAIN}); on a
 * machine without the compilers, or with other versions of them or of the header packages, it
 * is skipped, saying why.
 */
class ObjectsUpToDateTest {

    private static final List<String> TOOLS = List.of("make", "clang-19", "bpf-gcc", "setarch");

    @Test
    void committedObjectsAreRebuiltByteForByte() throws IOException, InterruptedException {
        for (String tool : TOOLS) {
            assumeTrue(onPath(tool), () -> tool + " is not on PATH: cannot rebuild extensions/ to compare");
        }
        Path extensions = repositoryDir().resolve("extensions");
        assertThat(extensions.resolve("Makefile")).isRegularFile();

        Process make = new ProcessBuilder("make", "-s", "--no-print-directory", "-C", extensions.toString(), "check")
                .redirectErrorStream(true)
                .start();
        make.getOutputStream().close();
        byte[] output = make.getInputStream().readAllBytes();
        boolean finished = make.waitFor(5, TimeUnit.MINUTES);
        if (!finished) {
            make.destroyForcibly();
        }
        String log = new String(output, StandardCharsets.UTF_8);

        assertThat(finished).as("make check finished within 5 minutes").isTrue();
        // Another compiler or other headers legitimately give other bytes: not a stale object.
        assumeTrue(!log.contains("toolchain differs"), () -> "not the pinned toolchain:\n" + log);
        assertThat(make.exitValue()).as("make -C extensions check:%n%s", log).isZero();
        assertThat(log).contains("objects are up to date");
    }
}
