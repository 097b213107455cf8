package io.kflex.maps;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The plain hash map's index: in-place keys at any offset, growth, removal, and lookups concurrent with changes. */
class HashIndexTest {

    private static byte[] key(int size, int n) {
        byte[] k = new byte[size];
        for (int i = 0; i < size; i++) k[i] = (byte) ((n >>> (8 * (i % 4))) + i);
        return k;
    }

    /** The key placed at an odd offset of a larger segment, with other bytes around it. */
    private static MemorySegment at(byte[] key, int offset) {
        byte[] buffer = new byte[offset + key.length + 7];
        java.util.Arrays.fill(buffer, (byte) 0xee);
        System.arraycopy(key, 0, buffer, offset, key.length);
        return MemorySegment.ofArray(buffer);
    }

    @ParameterizedTest(name = "{0}-byte keys")
    @ValueSource(ints = {1, 2, 7, 8, 9, 15, 16, 24, 33, 512})
    void keysAreFoundWhereverTheyLieThroughGrowthAndRemoval(int size) {
        HashIndex index = new HashIndex(size);
        int n = size == 1 ? 256 : 3000; // every distinct key of the size, or 3000
        synchronized (index) {
            for (int i = 0; i < n; i++) index.insert(MemorySegment.ofArray(key(size, i)), 0, i);
        }
        assertThat(index.size()).isEqualTo(n);
        for (int i = 0; i < n; i += 7) {
            assertThat(index.find(at(key(size, i), 3), 3)).isEqualTo(i);
            // The array form (a key on a program's stack) hashes and compares the same bytes.
            assertThat(index.find(at(key(size, i), 3).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), 3)).isEqualTo(i);
        }
        synchronized (index) {
            for (int i = 0; i < n; i += 2) assertThat(index.remove(at(key(size, i), 5), 5)).isEqualTo(i);
            assertThat(index.remove(MemorySegment.ofArray(key(size, 0)), 0)).as("already removed").isEqualTo(-1);
        }
        for (int i = 0; i < n; i++) {
            assertThat(index.find(MemorySegment.ofArray(key(size, i)), 0)).isEqualTo(i % 2 == 0 ? -1 : i);
            assertThat(index.find(at(key(size, i), 1).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), 1)).isEqualTo(i % 2 == 0 ? -1 : i);
        }
        Map<String, Integer> entries = new HashMap<>();
        for (HashIndex.Entry e : index.entries()) entries.put(java.util.HexFormat.of().formatHex(e.key()), e.slot());
        assertThat(entries).hasSize(n / 2);
        assertThat(entries.get(java.util.HexFormat.of().formatHex(key(size, 11)))).isEqualTo(11);
    }

    @Test
    void aReplacedSlotIsWhatTheNextLookupFinds() {
        HashIndex index = new HashIndex(12);
        MemorySegment k = MemorySegment.ofArray(key(12, 5));
        synchronized (index) {
            index.insert(k, 0, 1);
            index.setSlot(index.node(k, 0), 9);
        }
        assertThat(index.find(k, 0)).isEqualTo(9);
    }

    /**
     * Readers never miss a key that stays in the index while a writer inserts and removes others
     * (growing the table as it goes), and never see a slot the key never had.
     */
    @Test
    void lookupsConcurrentWithChangesSeeEveryStableKey() throws Exception {
        int size = 11;
        HashIndex index = new HashIndex(size);
        int stable = 200;
        synchronized (index) {
            for (int i = 0; i < stable; i++) index.insert(MemorySegment.ofArray(key(size, i)), 0, i);
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> failure = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            readers.add(Thread.ofPlatform().start(() -> {
                while (!stop.get() && failure.get() == null) {
                    for (int i = 0; i < stable; i++) {
                        int slot = index.find(MemorySegment.ofArray(key(size, i)), 0);
                        if (slot != i) failure.compareAndSet(null, "key " + i + " gave slot " + slot);
                    }
                }
            }));
        }
        Random random = new Random(1);
        for (int round = 0; round < 20_000; round++) {
            int churn = stable + random.nextInt(5_000);
            MemorySegment k = MemorySegment.ofArray(key(size, churn));
            synchronized (index) {
                if (index.node(k, 0) == null) index.insert(k, 0, churn);
                else index.remove(k, 0);
            }
        }
        stop.set(true);
        for (Thread r : readers) r.join();
        assertThat(failure.get()).isNull();
    }
}
