package io.kflex.verifier;

/**
 * A host resource the program may hold when it is cancelled at a back-edge: a referenced object
 * acquired by the helper call at {@code acquiredAt}, or the spin lock at {@code offset} in a value
 * of map {@code map}. The runtime releases these when it cancels the program there.
 */
public record HeldResource(Kind kind, int acquiredAt, int map, long offset) {

    public enum Kind { SOCKET, RINGBUF_RECORD, SPIN_LOCK }

    static HeldResource of(VerifierState.Reference ref) {
        return new HeldResource(ref.kind() == PointerKind.SOCKET ? Kind.SOCKET : Kind.RINGBUF_RECORD, ref.pc(), -1, 0);
    }

    static HeldResource of(VerifierState.Lock lock) {
        return new HeldResource(Kind.SPIN_LOCK, -1, lock.map(), lock.offset());
    }
}
