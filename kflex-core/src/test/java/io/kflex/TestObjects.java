package io.kflex;

import java.nio.file.Path;

/** Where tests find the committed extension objects ({@code extensions/objects}). */
public final class TestObjects {
    private TestObjects() {}

    /** The repository root: Maven passes it; a run from the module directory falls back to "..". */
    public static Path repositoryDir() {
        String dir = System.getProperty("kflex.repo.dir");
        return dir != null && !dir.isBlank() ? Path.of(dir) : Path.of("..").toAbsolutePath().normalize();
    }

    public static Path objectsDir() {
        return repositoryDir().resolve("extensions").resolve("objects");
    }

    /** The committed object {@code name} ({@code xdp_pong.bpf.o}). */
    public static Path object(String name) {
        return objectsDir().resolve(name);
    }
}
