package io.kflex.heap;

/** A host thread could not take a heap lock: the wait timed out or the thread was interrupted. */
public final class HeapLockException extends RuntimeException {
    public HeapLockException(String message) {
        super(message);
    }
}
