package io.kflex.maps;

import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.ExtensionFault;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RingBufferTest {
    private static final java.util.concurrent.Executor THREADS = r -> Thread.ofPlatform().daemon().start(r);
    private final MapHarness h = new MapHarness();
    private final AddressSpace memory = new AddressSpace(h.regions);

    private BpfRingBuf ring(int size) throws MapException {
        return (BpfRingBuf) h.table.create(MapSpec.of("rb", MapSpec.RINGBUF, 0, 0, size, 0));
    }

    private long reserveWith(BpfRingBuf rb, long value) {
        long at = rb.reserve(8, 0);
        assertThat(at).isNotZero();
        memory.store(at, 8, value);
        return at;
    }

    @Test
    void recordsComeOutInReservationOrderAndAnUncommittedOneHoldsBackLaterOnes() throws Exception {
        BpfRingBuf rb = ring(4096);
        RingBufferConsumer consumer = rb.consumer();
        long first = reserveWith(rb, 1);
        long second = reserveWith(rb, 2);
        rb.commit(second, false, 0);
        assertThat(consumer.poll(Duration.ofMillis(5))).as("the first record is still reserved").isEmpty();
        rb.commit(first, false, 0);
        assertThat(u64(consumer.poll(Duration.ZERO).orElseThrow())).isEqualTo(1);
        assertThat(u64(consumer.poll(Duration.ZERO).orElseThrow())).isEqualTo(2);
        assertThat(consumer.poll(Duration.ZERO)).isEmpty();
    }

    @Test
    void discardedRecordsKeepTheirPlaceUntilSkipped() throws Exception {
        BpfRingBuf rb = ring(4096);
        long a = reserveWith(rb, 1);
        long b = reserveWith(rb, 2);
        long c = reserveWith(rb, 3);
        rb.commit(b, true, 0);
        rb.commit(a, false, 0);
        rb.commit(c, false, 0);
        assertThat(rb.query(BpfRingBuf.RB_AVAIL_DATA)).isEqualTo(48);
        assertThat(rb.query(BpfRingBuf.RB_PROD_POS)).isEqualTo(48);
        List<Long> got = new ArrayList<>();
        rb.consumer().drain(r -> got.add(u64(r)));
        assertThat(got).containsExactly(1L, 3L);
        assertThat(rb.query(BpfRingBuf.RB_AVAIL_DATA)).isZero();
        assertThat(rb.query(BpfRingBuf.RB_CONS_POS)).isEqualTo(48);
        assertThat(rb.query(BpfRingBuf.RB_RING_SIZE)).isEqualTo(4096);
    }

    @Test
    void aSubmitWakesAWaitingConsumer() throws Exception {
        BpfRingBuf rb = ring(4096);
        // Own threads: the common pool may have a single worker on a small machine.
        CompletableFuture<byte[]> polled = CompletableFuture.supplyAsync(() -> {
            try {
                return rb.consumer().poll(Duration.ofSeconds(20)).orElseThrow();
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, THREADS);
        Thread.sleep(50);
        assertThat(polled).isNotDone();
        long start = System.nanoTime();
        rb.commit(reserveWith(rb, 77), false, 0);
        assertThat(u64(polled.get(10, TimeUnit.SECONDS))).isEqualTo(77);
        assertThat(System.nanoTime() - start).as("woken, not timed out").isLessThan(TimeUnit.SECONDS.toNanos(10));
    }

    @Test
    void aFullRingRefusesAndRecordsWrapAroundContiguously() throws Exception {
        BpfRingBuf rb = ring(4096);
        long big = rb.reserve(4000, 0); // 4008 bytes with its header
        assertThat(rb.reserve(200, 0)).as("no room").isZero();
        rb.commit(big, false, 0);
        assertThat(rb.consumer().poll(Duration.ZERO).orElseThrow()).hasSize(4000);
        // The producer is at 4008: a 200-byte record wraps past the end of the ring.
        long wrapped = rb.reserve(200, 0);
        assertThat(wrapped).isNotZero();
        for (int i = 0; i < 200; i += 8) memory.store(wrapped + i, 8, 1000 + i);
        rb.commit(wrapped, false, 0);
        byte[] record = rb.consumer().poll(Duration.ZERO).orElseThrow();
        assertThat(record).hasSize(200);
        for (int i = 0; i < 200; i += 8) {
            assertThat(MemorySegment.ofArray(record).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i)).isEqualTo(1000 + i);
        }
        assertThat(rb.reserve(4096, 0)).as("larger than the ring").isZero();
        assertThat(rb.reserve(8, 1)).as("flags must be 0").isZero();
    }

    @Test
    void committingTwiceOrAForeignAddressFaults() throws Exception {
        BpfRingBuf rb = ring(4096);
        long r = reserveWith(rb, 1);
        rb.commit(r, false, 0);
        assertThatThrownBy(() -> rb.commit(r, false, 0)).isInstanceOf(ExtensionFault.class);
        assertThatThrownBy(() -> rb.commit(r + 8, true, 0)).isInstanceOf(ExtensionFault.class);
    }

    @Test
    void outputCopiesAndReportsAFullRing() throws Exception {
        BpfRingBuf rb = ring(4096);
        MemorySegment data = MemorySegment.ofArray(new byte[1000]);
        int written = 0;
        long result;
        while ((result = rb.output(data, 0)) == 0) written++;
        assertThat(result).isEqualTo(-Errno.EAGAIN);
        assertThat(written).isEqualTo(4);
        assertThat(rb.output(data, 4)).isEqualTo(-Errno.EINVAL);
    }

    @Test
    void concurrentProducersKeepTheirOwnOrderAndNothingIsLost() throws Exception {
        BpfRingBuf rb = ring(1 << 16);
        int producers = 3, perProducer = 2000;
        List<Long> received = java.util.Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Void> consumer = CompletableFuture.runAsync(() -> {
            try {
                while (received.size() < producers * perProducer) {
                    rb.consumer().poll(Duration.ofSeconds(5)).ifPresent(r -> received.add(u64(r)));
                }
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }, THREADS);
        List<CompletableFuture<Void>> writers = new ArrayList<>();
        for (int p = 0; p < producers; p++) {
            long id = p;
            writers.add(CompletableFuture.runAsync(() -> {
                AddressSpace own = new AddressSpace(h.regions);
                for (int i = 0; i < perProducer; i++) {
                    long at;
                    while ((at = rb.reserve(8, 0)) == 0) Thread.onSpinWait(); // full: wait for the consumer
                    own.store(at, 8, id << 32 | i);
                    rb.commit(at, false, 0);
                }
            }, THREADS));
        }
        for (CompletableFuture<Void> w : writers) w.get(30, TimeUnit.SECONDS);
        consumer.get(30, TimeUnit.SECONDS);
        assertThat(received).hasSize(producers * perProducer);
        for (long p = 0; p < producers; p++) {
            long id = p;
            assertThat(received.stream().filter(v -> v >>> 32 == id).map(v -> v & 0xffffffffL).toList())
                    .as("producer %d", p).isSorted().hasSize(perProducer);
        }
    }
}
