package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * kv_store.bpf.o keeps a hash table in its heap; the host reads and writes the very same table
 * through its heap view, with the same bucket locks and pointers (layout in kv_store.bpf.c).
 */
@Timeout(120)
class SharedKvStoreTest {
    private static final int BUCKET_BITS = 10;
    private static final long BUCKET_SIZE = 16, ENTRY_SIZE = 24;

    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    /** The Java side of the table: same hash, same layout, same lock protocol. */
    record JavaTable(HeapView heap, long table) {
        static JavaTable of(Extension ext) {
            BpfMap bss = ext.maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst().orElseThrow();
            long table = ByteBuffer.wrap(bss.lookup(new byte[4]).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat(table).as("the extension published its table").isNotZero();
            return new JavaTable(ext.maps().heap().view(), table);
        }

        long bucket(long key) {
            return table + ((key * 0x9e3779b97f4a7c15L) >>> (64 - BUCKET_BITS)) * BUCKET_SIZE;
        }

        Long get(long key) {
            long b = bucket(key);
            return heap.withLock(b, () -> {
                for (long e = heap.getPointer(b + 8); e != 0; e = heap.getPointer(e)) {
                    if (heap.getU64(e + 8) == key) return heap.getU64(e + 16);
                }
                return null;
            });
        }

        void put(long key, long value) {
            long fresh = heap.malloc(ENTRY_SIZE);
            assertThat(fresh).isNotZero();
            long b = bucket(key);
            heap.lock(b);
            try {
                heap.setU64(fresh + 8, key);
                heap.setU64(fresh + 16, value);
                heap.setPointer(fresh, heap.getPointer(b + 8));
                heap.setPointer(b + 8, fresh);
            } finally {
                heap.unlock(b);
            }
        }
    }

    private static byte[] args(long key, long value) {
        return ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(key).putLong(value).array();
    }

    private static long value(TestRunResult r) {
        return ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void whatTheExtensionStoresTheHostReadsAndTheReverse(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
             Extension ext = runtime.open(TestObjects.object("kv_store.bpf.o"))) {
            LoadedProgram put = ext.load("kv_put"), get = ext.load("kv_get"), delete = ext.load("kv_delete");
            for (long k = 1; k <= 500; k++) {
                assertThat(put.testRun(TestRun.once().withContext(args(k, k * 100))).retval()).isZero();
            }
            assertThat(put.testRun(TestRun.once().withContext(args(7, 701))).retval()).as("replaced").isEqualTo(1);
            JavaTable java = JavaTable.of(ext);
            for (long k = 1; k <= 500; k++) assertThat(java.get(k)).isEqualTo(k == 7 ? 701 : k * 100);
            assertThat(java.get(501)).isNull();

            for (long k = 1000; k < 1200; k++) java.put(k, -k);
            for (long k = 1000; k < 1200; k++) {
                TestRunResult r = get.testRun(TestRun.once().withContext(args(k, 0)));
                assertThat(r.retval()).isZero();
                assertThat(value(r)).isEqualTo(-k);
            }
            assertThat(delete.testRun(TestRun.once().withContext(args(1100, 0))).retval()).isZero();
            assertThat(java.get(1100)).as("deleted by the extension").isNull();
            assertThat(get.testRun(TestRun.once().withContext(args(1100, 0))).retval()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void extensionsAndJavaThreadsUpdateTheTableAtTheSameTime(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
             Extension ext = runtime.open(TestObjects.object("kv_store.bpf.o"))) {
            LoadedProgram put = ext.load("kv_put");
            put.testRun(TestRun.once().withContext(args(0, 0))); // creates the table
            JavaTable java = JavaTable.of(ext);
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Map<Long, Long>>> writers = new ArrayList<>();
                for (int t = 0; t < 4; t++) {
                    int thread = t;
                    writers.add(pool.submit(() -> {
                        Map<Long, Long> written = new HashMap<>();
                        Random random = new Random(thread);
                        for (int i = 0; i < 300; i++) {
                            long key = thread * 1_000_000L + i + 1; // key 0 was put by the first run
                            long v = random.nextLong();
                            if (thread % 2 == 0) assertThat(put.testRun(TestRun.once().withContext(args(key, v))).retval()).isZero();
                            else java.put(key, v);
                            written.put(key, v);
                        }
                        return written;
                    }));
                }
                for (Future<Map<Long, Long>> w : writers) {
                    for (var e : w.get().entrySet()) assertThat(java.get(e.getKey())).isEqualTo(e.getValue());
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
