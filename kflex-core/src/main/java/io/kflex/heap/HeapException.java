package io.kflex.heap;

/** A heap that cannot be created: a bad size or base, no memory, an unusable backing file. */
public final class HeapException extends Exception {
    public HeapException(String message) {
        super(message);
    }

    public HeapException(String message, Throwable cause) {
        super(message, cause);
    }
}
