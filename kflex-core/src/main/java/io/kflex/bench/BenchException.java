package io.kflex.bench;

/** A benchmark could not be set up or one of its runs gave a wrong result (it is never timed then). */
public final class BenchException extends RuntimeException {
    public BenchException(String message) {
        super(message);
    }

    public BenchException(String message, Throwable cause) {
        super(message, cause);
    }
}
