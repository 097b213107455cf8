package io.kflex.conformance;

import java.nio.file.Path;

/** A {@code .data} file that does not follow the format; names the file and line. */
public final class ConformanceFormatException extends Exception {
    private final Path file;
    private final int line;

    public ConformanceFormatException(Path file, int line, String problem) {
        super(file + ":" + line + ": " + problem);
        this.file = file;
        this.line = line;
    }

    public Path file() { return file; }

    /** The 1-based line, or 0 when the problem concerns the whole file. */
    public int line() { return line; }
}
