package io.kflex.conformance;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the public conformance suite is: the {@code kflex.conformance.dir} system property set by the build. */
final class ConformanceSuite {
    /** Number of {@code .data} files in the pinned suite. */
    static final int FILES = 313;

    private ConformanceSuite() {}

    /** The suite's directory; skips the calling test, with the reason, when it is not there. */
    static Path directory() {
        String dir = System.getProperty("kflex.conformance.dir");
        assumeTrue(dir != null, "system property kflex.conformance.dir is not set (the Maven build sets it)");
        Path path = Path.of(dir);
        assumeTrue(Files.isDirectory(path), "conformance suite not found at " + path);
        return path;
    }
}
