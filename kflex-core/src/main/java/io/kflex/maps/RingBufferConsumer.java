package io.kflex.maps;

import java.time.Duration;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The host's reader of a {@link BpfRingBuf}, like libbpf's {@code ring_buffer}: records come out
 * in reservation order; a submit wakes a waiting {@link #poll} (unless the program passed
 * {@code BPF_RB_NO_WAKEUP}).
 */
public final class RingBufferConsumer {
    private final BpfRingBuf ring;

    RingBufferConsumer(BpfRingBuf ring) {
        this.ring = ring;
    }

    /**
     * The next record's data, waiting up to {@code timeout}; empty when no committed record is
     * ready in time (discarded records are skipped, a reserved one blocks those after it).
     */
    public Optional<byte[]> poll(Duration timeout) throws InterruptedException {
        return ring.poll(timeout);
    }

    /** Hands every record that is ready now to {@code sink}; returns how many. */
    public int drain(Consumer<byte[]> sink) throws InterruptedException {
        int n = 0;
        for (Optional<byte[]> r = ring.poll(Duration.ZERO); r.isPresent(); r = ring.poll(Duration.ZERO)) {
            sink.accept(r.get());
            n++;
        }
        return n;
    }

    /** The ring this consumer reads. */
    public BpfRingBuf ring() { return ring; }
}
