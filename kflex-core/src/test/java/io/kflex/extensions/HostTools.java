package io.kflex.extensions;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/** What tests that drive the extension toolchain need to know about the machine and the checkout. */
final class HostTools {
    private HostTools() {}

    /** Whether an executable named {@code tool} is on PATH. */
    static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** The repository root: Maven passes it; a run from the module directory falls back to "..". */
    static Path repositoryDir() {
        String dir = System.getProperty("kflex.repo.dir");
        return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of("..").toAbsolutePath().normalize();
    }
}
