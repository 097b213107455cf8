package io.kflex.verifier;

/**
 * A host resource the program may hold when it is cancelled at a back-edge: a referenced object
 * acquired by the helper call at {@code acquiredAt}, a heap spin lock taken by the
 * {@code kflex_spin_lock} call at {@code acquiredAt} (which lock is known only at run time), or the
 * spin lock at {@code offset} in a value of map {@code map}. The runtime releases these when it
 * cancels the program there.
 */
public record HeldResource(Kind kind, int acquiredAt, int map, long offset) {

    public enum Kind { SOCKET, RINGBUF_RECORD, SPIN_LOCK, HEAP_LOCK }

    static HeldResource of(VerifierState.Reference ref) {
        Kind kind = switch (ref.kind()) {
            case SOCKET -> Kind.SOCKET;
            case HEAP_LOCK -> Kind.HEAP_LOCK;
            default -> Kind.RINGBUF_RECORD;
        };
        return new HeldResource(kind, ref.pc(), -1, 0);
    }

    static HeldResource of(VerifierState.Lock lock) {
        return new HeldResource(Kind.SPIN_LOCK, -1, lock.map(), lock.offset());
    }
}
