package io.kflex.memcached;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The heap table on its own, with a clock the test moves, and its layout as the extension reads it. */
class HeapStoreTest {
    private final AtomicLong now = new AtomicLong(1_800_000_000L);
    private KFlexRuntime runtime;
    private Extension extension;
    private HeapStore store;
    private HeapView heap;
    private BpfMap bss;

    @BeforeEach
    void open() throws Exception {
        runtime = KFlexRuntime.builder().build();
        byte[] object;
        try (InputStream in = MemcachedServer.class.getResourceAsStream(MemcachedServer.BUNDLED_OBJECT)) {
            object = in.readAllBytes();
        }
        extension = runtime.open(object, MemcachedServer.BUNDLED_OBJECT);
        heap = extension.maps().heap().view();
        bss = extension.maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst().orElseThrow();
        store = HeapStore.publish(heap, bss, MemcachedServer.bssOffsetOf(object, MemcachedServer.TABLE_SYMBOL), now::get);
    }

    @AfterEach
    void close() {
        runtime.close();
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void theTableIsPublishedWhereTheExtensionReadsItAndItemsHaveTheDocumentedLayout() {
        long published = ByteBuffer.wrap(bss.lookup(new byte[4]).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
        assertThat(published).isEqualTo(store.table()).isNotZero();
        assertThat(store.set(b("key"), 0x8000_0001, 0, b("value"))).isEqualTo(HeapStore.Result.STORED);
        long hash = HeapStore.hash(b("key"));
        long bucket = store.table() + (hash & (HeapStore.BUCKETS - 1)) * 16;
        long item = heap.getPointer(bucket + 8);
        assertThat(item).isNotZero();
        assertThat(heap.getPointer(item)).as("next").isZero();
        assertThat(heap.getU64(item + 8)).isEqualTo(hash);
        assertThat(heap.getU32(item + 16)).isEqualTo(3);
        assertThat(heap.getU32(item + 20)).isEqualTo(0x8000_0001L);
        assertThat(heap.getU32(item + 24)).isEqualTo(5);
        assertThat(heap.getU32(item + 28)).as("never expires").isZero();
        assertThat(heap.getU32(item + 40)).as("used: a new item survives one pass of the CLOCK hand").isEqualTo(1);
        assertThat(new String(heap.read(item + 48, 8), StandardCharsets.ISO_8859_1)).isEqualTo("keyvalue");
        assertThat(heap.isLocked(bucket)).isFalse();
        assertThat(HeapStore.hash(b(""))).as("FNV-1a 64 offset basis").isEqualTo(0xcbf29ce484222325L);
        assertThat(HeapStore.hash(b("a"))).isEqualTo(0xaf63dc4c8601ec8cL);
    }

    @Test
    void expiryIsRelativeUpToThirtyDaysThenAbsolute() {
        long t = now.get();
        assertThat(store.expiryOf(0)).isZero();
        assertThat(store.expiryOf(-5)).as("negative: already expired").isEqualTo(1);
        assertThat(store.expiryOf(HeapStore.RELATIVE_EXPTIME_MAX)).isEqualTo(t + HeapStore.RELATIVE_EXPTIME_MAX);
        assertThat(store.expiryOf(HeapStore.RELATIVE_EXPTIME_MAX + 1)).as("absolute, in the past").isEqualTo(1);
        assertThat(store.expiryOf(t + 10)).as("absolute, in the future").isEqualTo(t + 10);

        store.set(b("e"), 0, 10, b("x"));
        now.addAndGet(9);
        assertThat(store.get(b("e"))).isNotNull();
        now.addAndGet(1);
        assertThat(store.get(b("e"))).as("expired at its second").isNull();
        assertThat(store.currentItems()).as("unlinked when met").isZero();
        assertThat(store.add(b("e"), 0, 0, b("y"))).isEqualTo(HeapStore.Result.STORED);
        assertThat(store.touch(b("e"), 5)).isTrue();
        now.addAndGet(5);
        assertThat(store.get(b("e"))).isNull();
    }

    @Test
    void casUniquesChangeWithEveryStoreAndCountersFollowTheTable() {
        store.set(b("c"), 0, 0, b("1"));
        long first = store.get(b("c")).cas();
        assertThat(store.cas(b("c"), 0, 0, b("2"), first + 1)).isEqualTo(HeapStore.Result.EXISTS);
        assertThat(store.cas(b("c"), 0, 0, b("2"), first)).isEqualTo(HeapStore.Result.STORED);
        long second = store.get(b("c")).cas();
        assertThat(second).isNotEqualTo(first);
        HeapStore.Delta incremented = store.delta(b("c"), 5, true);
        assertThat(incremented).isEqualTo(new HeapStore.Delta.Value(7, store.get(b("c")).cas()));
        assertThat(store.get(b("c")).cas()).isNotEqualTo(second);
        assertThat(store.delta(b("c"), 10, false)).isInstanceOfSatisfying(HeapStore.Delta.Value.class, v -> assertThat(v.value()).isZero());
        assertThat(store.append(b("c"), b("9"))).isEqualTo(HeapStore.Result.STORED);
        assertThat(store.prepend(b("c"), b("1"))).isEqualTo(HeapStore.Result.STORED);
        assertThat(store.get(b("c")).value()).isEqualTo(b("109"));

        for (int i = 0; i < 1000; i++) store.set(b("k" + i), 0, 0, b("v"));
        assertThat(store.currentItems()).isEqualTo(1001);
        assertThat(store.bytes()).isEqualTo((1 + 3) + 1000 * 1 + 10 * 2 + 90 * 3 + 900 * 4);
        long allocated = heap.heap().allocatedBytes();
        store.flushAll();
        assertThat(store.currentItems()).isZero();
        assertThat(store.bytes()).isZero();
        assertThat(heap.heap().allocatedBytes()).as("items freed").isLessThan(allocated);
        assertThat(store.get(b("k5"))).isNull();
    }

    @Test
    void pastTheMemoryLimitTheLeastRecentlyUsedItemsAreEvicted() throws Exception {
        long itemSize = HeapStore.itemSize(4, 1000);
        HeapStore small = HeapStore.publish(heap, bss, 8, now::get, 40 * itemSize); // a second table, 40 items
        byte[] value = new byte[1000];
        List<String> hot = List.of("hot0", "hot1", "hot2", "hot3", "hot4");
        for (String k : hot) assertThat(small.set(b(k), 0, 0, value)).isEqualTo(HeapStore.Result.STORED);
        for (int i = 0; i < 35; i++) small.set(b(String.format("c%03d", i)), 0, 0, value);
        assertThat(small.evictions()).as("40 items fit").isZero();
        assertThat(small.memoryUsed()).isEqualTo(40 * itemSize);
        for (int i = 35; i < 400; i++) {
            assertThat(small.set(b(String.format("c%03d", i)), 0, 0, value)).isEqualTo(HeapStore.Result.STORED);
            if (i % 5 == 0) for (String k : hot) assertThat(small.get(b(k))).as(k).isNotNull();
            assertThat(small.memoryUsed()).isLessThanOrEqualTo(small.memoryLimit());
        }
        for (String k : hot) assertThat(small.get(b(k))).as("read often: %s survives", k).isNotNull();
        assertThat(small.get(b("c000"))).as("written once, never read: evicted").isNull();
        assertThat(small.evictions()).as("every item stored and not linked was evicted")
                .isEqualTo(small.totalItems() - small.currentItems()).isGreaterThanOrEqualTo(360);
        assertThat(small.memoryUsed()).as("the charge is what is linked").isEqualTo(HeapStore.DATA * small.currentItems() + small.bytes());

        // an item larger than the whole limit is refused; a failed set leaves nothing behind
        assertThat(small.store(HeapStore.Mode.SET, b("huge"), 0, 0, new byte[(int) (40 * itemSize)], 0).result())
                .isEqualTo(HeapStore.Result.TOO_LARGE);
        assertThat(small.set(b("hot0"), 0, 0, new byte[(int) (40 * itemSize)])).isEqualTo(HeapStore.Result.TOO_LARGE);
        // a value that needs every other item gone still fits: the hand evicts the hot ones too, in the end
        assertThat(small.set(b("big"), 0, 0, new byte[(int) (39 * itemSize)])).isEqualTo(HeapStore.Result.STORED);
        assertThat(small.memoryUsed()).isLessThanOrEqualTo(small.memoryLimit());
        assertThat(small.get(b("hot1"))).isNull();
        small.flushAll();
        assertThat(small.memoryUsed()).as("flush gives everything back").isZero();
    }
}
