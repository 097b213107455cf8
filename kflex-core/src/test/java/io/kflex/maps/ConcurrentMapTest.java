package io.kflex.maps;

import static io.kflex.maps.MapHarness.u32;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Several threads update, delete and look up the same keys as invocations would (inside epochs,
 * reading values through the address space). Every value written is 4 copies of one 64-bit
 * word derived from the key, so a reader can tell a consistent value from a torn or reused one.
 */
class ConcurrentMapTest {

    private static byte[] value(int key, long stamp) {
        long word = (long) key << 32 | (stamp & 0xffffffffL);
        byte[] b = new byte[32];
        for (int i = 0; i < 4; i++) MemorySegment.ofArray(b).set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 8L * i, word);
        return b;
    }

    @ParameterizedTest
    @ValueSource(ints = {MapSpec.HASH, MapSpec.LRU_HASH})
    void readersNeverSeeTornOrForeignValues(int type) throws Exception {
        MapHarness h = new MapHarness();
        int keys = 64;
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", type, 4, 32, keys / 2, 0));
        // Filled before the threads start: on a loaded machine the readers may finish before a
        // writer is ever scheduled, and they must still find values to check.
        for (int k = 0; k < keys / 2; k++) {
            m.updateElem(MemorySegment.ofArray(u32(k)), MemorySegment.ofArray(value(k, 0)), BpfMap.BPF_ANY, 0);
        }
        AtomicLong reads = new AtomicLong(), misses = new AtomicLong(), lookups = new AtomicLong();
        List<String> problems = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean readersDone = new java.util.concurrent.atomic.AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> writers = new ArrayList<>(), readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            writers.add(pool.submit(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                long stamp = 0;
                while (!readersDone.get()) {
                    int k = r.nextInt(keys);
                    try (var epoch = h.table.epochs().enter()) {
                        if (r.nextInt(3) == 0) m.deleteElem(MemorySegment.ofArray(u32(k)));
                        else m.updateElem(MemorySegment.ofArray(u32(k)), MemorySegment.ofArray(value(k, ++stamp)), BpfMap.BPF_ANY, 0);
                    }
                }
                return null;
            }));
        }
        for (int t = 0; t < 2; t++) {
            readers.add(pool.submit(() -> {
                ThreadLocalRandom r = ThreadLocalRandom.current();
                AddressSpace memory = new AddressSpace(h.regions);
                // At least 20,000 lookups, and on until 100 of them found a value: writers that
                // churn an LRU map faster than retired slots are reclaimed can leave it nearly
                // empty for a while on a loaded machine, and the check needs values to look at.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int found = 0;
                for (int n = 0; n < 20_000 || (found < 100 && System.nanoTime() < deadline); n++) {
                    lookups.incrementAndGet();
                    int k = r.nextInt(keys);
                    try (var epoch = h.table.epochs().enter()) {
                        long p = m.lookupElem(MemorySegment.ofArray(u32(k)), 0);
                        if (p == 0) {
                            misses.incrementAndGet();
                            continue;
                        }
                        long first = memory.load(p, 8);
                        // Dwell on the value while writers churn: it must not change under us.
                        Thread.onSpinWait();
                        for (int i = 1; i < 4; i++) {
                            long w = memory.load(p + 8L * i, 8);
                            if (w != first) problems.add("torn value for key " + k + ": " + Long.toHexString(first) + " vs " + Long.toHexString(w));
                        }
                        if (first >>> 32 != k) problems.add("key " + k + " shows a value of key " + (first >>> 32));
                        if (memory.load(p, 8) != first) problems.add("value of key " + k + " changed while held");
                        reads.incrementAndGet();
                        found++;
                    }
                }
                return null;
            }));
        }
        try {
            for (Future<?> f : readers) f.get(60, TimeUnit.SECONDS);
        } finally {
            readersDone.set(true);
            for (Future<?> f : writers) f.get(30, TimeUnit.SECONDS);
            pool.shutdown();
        }
        assertThat(problems).isEmpty();
        assertThat(lookups.get()).isGreaterThanOrEqualTo(40_000);
        assertThat(reads.get() + misses.get()).as("every lookup a read or a miss").isEqualTo(lookups.get());
        assertThat(reads.get()).as("values found").isPositive();
        assertThat(m.size()).isBetween(0, keys / 2);
        assertThat(m.keys()).hasSize(m.size());
        // The element count matches what iteration finds, and every stored value is consistent.
        for (BpfMap.Entry e : m.entries()) {
            long word = MemorySegment.ofArray(e.value()).get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0);
            assertThat(word >>> 32).isEqualTo(MemorySegment.ofArray(e.key()).get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, 0));
        }
    }

    @Test
    void concurrentInsertsNeverExceedMaxEntries() throws Exception {
        MapHarness h = new MapHarness();
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 100, 0));
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Integer>> inserted = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int base = t * 1000;
            inserted.add(pool.submit(() -> {
                int ok = 0;
                for (int k = 0; k < 100; k++) {
                    if (m.updateElem(MemorySegment.ofArray(u32(base + k)), MemorySegment.ofArray(new byte[8]), BpfMap.BPF_NOEXIST, 0) == 0) ok++;
                }
                return ok;
            }));
        }
        int total = 0;
        for (Future<Integer> f : inserted) total += f.get(10, TimeUnit.SECONDS);
        pool.shutdown();
        assertThat(total).isEqualTo(100);
        assertThat(m.size()).isEqualTo(100);
        assertThat(m.keys()).hasSize(100);
    }

    static Iterable<io.kflex.engine.Engine> engines() {
        return io.kflex.engine.TestEngines.all();
    }

    /**
     * Programs on several threads look values up and compare their four words while the host
     * replaces and deletes them: r0 = 0 consistent, 1 torn or foreign, 2 missing.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("engines")
    void programsReadConsistentValuesWhileTheHostChurns(io.kflex.engine.Engine engine) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("h", MapSpec.HASH, 4, 32, 16, 0));
        BpfMap m = maps.get(0);
        io.kflex.engine.Executable reader = h.load(engine, """
                *(u32 *)(r10 - 4) = r1
                r6 = r1
                r1 = map_idx(0) ll
                r2 = r10
                r2 += -4
                call 1
                if r0 == 0 goto missing
                r1 = *(u64 *)(r0 + 0)
                r2 = *(u64 *)(r0 + 8)
                if r1 != r2 goto torn
                r2 = *(u64 *)(r0 + 16)
                if r1 != r2 goto torn
                r2 = *(u64 *)(r0 + 24)
                if r1 != r2 goto torn
                r1 >>= 32
                if r1 != r6 goto torn
                r0 = 0
                exit
                torn:
                r0 = 1
                exit
                missing:
                r0 = 2
                exit
                """, maps);
        for (int k = 0; k < 8; k++) m.update(u32(k), value(k, 0), BpfMap.BPF_ANY);
        java.util.concurrent.atomic.AtomicBoolean readersDone = new java.util.concurrent.atomic.AtomicBoolean();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        Future<?> writer = pool.submit(() -> {
            long stamp = 1;
            while (!readersDone.get()) {
                int k = ThreadLocalRandom.current().nextInt(8);
                if (stamp % 5 == 0) m.delete(u32(k));
                else m.update(u32(k), value(k, stamp), BpfMap.BPF_ANY); // the host waits out readers if it runs out of slots
                stamp++;
            }
            return null;
        });
        int runs = 3000;
        List<Future<long[]>> readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            readers.add(pool.submit(() -> {
                long[] counts = new long[3];
                for (int i = 0; i < runs; i++) {
                    counts[(int) MapHarness.r0(h.run(reader, ThreadLocalRandom.current().nextInt(8)))]++;
                }
                return counts;
            }));
        }
        long consistent = 0;
        try {
            for (Future<long[]> f : readers) {
                long[] counts = f.get(60, TimeUnit.SECONDS);
                assertThat(counts[1]).as("torn or foreign values, counts %s", java.util.Arrays.toString(counts)).isZero();
                assertThat(counts[0] + counts[2]).isEqualTo(runs);
                consistent += counts[0];
            }
        } finally {
            readersDone.set(true);
            writer.get(30, TimeUnit.SECONDS);
            pool.shutdown();
        }
        assertThat(consistent).as("values found").isPositive();
    }
}
