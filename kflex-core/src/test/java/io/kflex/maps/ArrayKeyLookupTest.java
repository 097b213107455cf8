package io.kflex.maps;

import static io.kflex.maps.BpfMap.BPF_ANY;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A map's bound lookup of keys in arrays ({@link BpfMap#arrayKeyLookup}) answers exactly what
 * {@link BpfMap#lookupElem(byte[], int, int)} answers — for every map type, key size and CPU,
 * through insertion, replacement (a plain hash installs a new value slot) and deletion — and a
 * plain hash map makes its own, with the parts that never change as record components.
 */
class ArrayKeyLookupTest {
    private static final int KEYS = 300, OFFSET = 5;
    private final MapHarness h = new MapHarness(3);

    /** Key {@code n} of {@code size} bytes; keys of more than 8 bytes share their first word and differ only in their last byte. */
    private static byte[] key(int size, int n) {
        byte[] k = new byte[size];
        if (size > 8) {
            Arrays.fill(k, 0, 8, (byte) 0x5a);
            k[size - 1] = (byte) n;
            k[size - 2] = (byte) (n >>> 8);
        } else {
            for (int i = 0; i < size; i++) k[i] = (byte) (n >>> (8 * i));
        }
        return k;
    }

    /** The key at {@link #OFFSET} of a larger array, with other bytes around it (a key on a program's stack). */
    private static byte[] onStack(byte[] key) {
        byte[] stack = new byte[OFFSET + key.length + 11];
        Arrays.fill(stack, (byte) 0xee);
        System.arraycopy(key, 0, stack, OFFSET, key.length);
        return stack;
    }

    private void assertSameAnswers(BpfMap map, ArrayKeyLookup lookup, int keySize, int keys) {
        for (int n = 0; n < keys + 20; n++) {
            byte[] stack = onStack(key(keySize, n));
            for (int cpu = 0; cpu < 3; cpu++) {
                long expected = map.lookupElem(stack, OFFSET, cpu);
                assertThat(lookup.lookup(stack, OFFSET, cpu)).as("key %d on cpu %d", n, cpu).isEqualTo(expected);
            }
        }
    }

    @ParameterizedTest(name = "map type {0}, {1}-byte keys")
    @CsvSource({"1, 1", "1, 4", "1, 8", "1, 12", "1, 16", "1, 21", "5, 8", "5, 12", "9, 8", "9, 16", "10, 4", "2, 4"})
    void answersAsTheMapsOwnLookupThroughInsertionReplacementAndDeletion(int type, int keySize) throws Exception {
        int keys = type == MapSpec.ARRAY ? 64 : keySize == 1 ? 200 : KEYS;
        BpfMap map = h.table.create(MapSpec.of("m", type, keySize, 16, keys, 0));
        ArrayKeyLookup lookup = map.arrayKeyLookup();
        for (int n = 0; n < keys; n++) map.update(key(keySize, n), value(n), BPF_ANY);
        assertSameAnswers(map, lookup, keySize, keys);
        for (int n = 0; n < (type == MapSpec.ARRAY ? 0 : keys); n++) {
            assertThat(lookup.lookup(onStack(key(keySize, n)), OFFSET, 0)).as("key %d is there", n).isNotZero();
        }

        for (int n = 0; n < keys; n += 3) map.update(key(keySize, n), value(n + 1000), BPF_ANY); // a new slot, for a plain hash
        if (type != MapSpec.ARRAY) {
            for (int n = 1; n < keys; n += 3) map.delete(key(keySize, n));
        }
        assertSameAnswers(map, lookup, keySize, keys);
        if (type != MapSpec.ARRAY && type != MapSpec.LRU_HASH) {
            assertThat(lookup.lookup(onStack(key(keySize, 1)), OFFSET, 0)).as("deleted").isZero();
        }
    }

    @org.junit.jupiter.api.Test
    void aPlainHashMapsLookupIsItsOwnRecordAndOtherHashesKeepTheGenericOne() throws Exception {
        ArrayKeyLookup plain = h.table.create(MapSpec.of("plain", MapSpec.HASH, 8, 8, 4, 0)).arrayKeyLookup();
        ArrayKeyLookup perCpu = h.table.create(MapSpec.of("percpu", MapSpec.PERCPU_HASH, 8, 8, 4, 0)).arrayKeyLookup();
        ArrayKeyLookup lru = h.table.create(MapSpec.of("lru", MapSpec.LRU_HASH, 8, 8, 4, 0)).arrayKeyLookup();
        assertThat(plain.getClass().isRecord()).isTrue();
        assertThat(plain.getClass()).isNotEqualTo(perCpu.getClass());
        assertThat(perCpu.getClass()).isEqualTo(lru.getClass());
    }

    private static byte[] value(int n) {
        byte[] v = new byte[16];
        Arrays.fill(v, (byte) n);
        return v;
    }
}
