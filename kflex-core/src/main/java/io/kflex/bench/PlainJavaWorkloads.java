package io.kflex.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;

/**
 * The benchmark algorithms written in plain Java, as a Java developer would write them: the
 * yardstick for what the JIT's output could reach on the same JVM.
 */
public final class PlainJavaWorkloads {
    private PlainJavaWorkloads() {}

    /** splitmix64's step, exactly {@code mix()} of {@code bench_hashmix.bpf.c}. */
    static long mix(long x) {
        x += 0x9e3779b97f4a7c15L;
        x = (x ^ (x >>> 30)) * 0xbf58476d1ce4e5b9L;
        x = (x ^ (x >>> 27)) * 0x94d049bb133111ebL;
        return x ^ (x >>> 31);
    }

    /** The hash-mix loop: {@code iters} steps from {@code seed}; the result goes to {@code out[0]}. */
    public static Workload.PlainJava hashMix(long seed, int iters, long[] out) {
        return () -> {
            long x = seed;
            int i;
            for (i = 0; i < iters; i++) x = mix(x);
            out[0] = x;
            return i;
        };
    }

    /**
     * A linked list of {@code n} 16-byte nodes ({@code next} offset, value) in an off-heap
     * segment, shuffled exactly as {@code list_build} shuffles it (xorshift32 Fisher-Yates), and
     * its walk: returns the node count, sums the values into {@code out[0]}.
     */
    public static Workload.PlainJava listWalk(int n, int seed, long[] out) {
        MemorySegment nodes = Arena.ofAuto().allocate(16L * n, 16);
        int[] perm = permutation(n, seed);
        for (int i = 0; i < n; i++) nodes.set(ValueLayout.JAVA_LONG, 16L * i + 8, i);
        for (int i = 0; i + 1 < n; i++) nodes.set(ValueLayout.JAVA_LONG, 16L * perm[i], 16L * perm[i + 1]);
        nodes.set(ValueLayout.JAVA_LONG, 16L * perm[n - 1], -1L);
        long head = 16L * perm[0];
        return () -> {
            long count = 0, sum = 0;
            for (long p = head; p >= 0; p = nodes.get(ValueLayout.JAVA_LONG, p)) {
                sum += nodes.get(ValueLayout.JAVA_LONG, p + 8);
                count++;
            }
            out[0] = sum;
            return count;
        };
    }

    /** {@code list_build}'s shuffle: Fisher-Yates with xorshift32 and multiply-shift range reduction. */
    static int[] permutation(int n, int seed) {
        int[] pm = new int[n];
        for (int i = 0; i < n; i++) pm[i] = i;
        int state = seed == 0 ? 1 : seed;
        for (int i = n - 1; i > 0; i--) {
            state ^= state << 13;
            state ^= state >>> 17;
            state ^= state << 5;
            int j = (int) (((state & 0xffff_ffffL) * (i + 1)) >>> 32);
            int t = pm[i];
            pm[i] = pm[j];
            pm[j] = t;
        }
        return pm;
    }

    /** 64-bit FNV-1a, the hash {@code bench_memcached_get.bpf.c} computes over the key. */
    public static long fnv1a64(byte[] bytes, int from, int to) {
        long h = 0xcbf29ce484222325L;
        for (int i = from; i < to; i++) h = (h ^ (bytes[i] & 0xff)) * 0x100000001b3L;
        return h;
    }

    /** A cached entry: the key zero-padded to 32 bytes, as four longs. */
    record CachedKey(long k0, long k1, long k2, long k3, int length) {}

    /**
     * The memcached GET fast path on a frame: the same checks, parse, hash and key comparison
     * as {@code memcached_get}, over a {@link HashMap} keyed by the FNV-1a hash. Returns
     * XDP_TX (3) on a hit, XDP_PASS (2) otherwise.
     */
    public static Workload.PlainJava memcachedGet(byte[] frame, Map<Long, byte[]> entries) {
        Map<Long, CachedKey> cache = new HashMap<>();
        entries.forEach((hash, key) -> {
            ByteBuffer b = ByteBuffer.wrap(java.util.Arrays.copyOf(key, 32)).order(ByteOrder.LITTLE_ENDIAN);
            cache.put(hash, new CachedKey(b.getLong(), b.getLong(), b.getLong(), b.getLong(), key.length));
        });
        byte[] packet = frame.clone();
        return () -> serveGet(packet, cache);
    }

    private static final int PASS = 2, TX = 3;
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static long serveGet(byte[] p, Map<Long, CachedKey> cache) {
        int end = p.length;
        if (end < 14 || p[12] != 0x08 || p[13] != 0x00) return PASS;
        if (end < 34 || (p[14] & 0x0f) != 5 || p[23] != 17) return PASS;
        if (end < 42 || (((p[36] & 0xff) << 8) | (p[37] & 0xff)) != 11211) return PASS;
        int start = 42 + 8;
        if (start + 4 > end || p[start] != 'g' || p[start + 1] != 'e' || p[start + 2] != 't' || p[start + 3] != ' ') return PASS;
        start += 4;
        byte[] key = new byte[32];
        long hash = 0xcbf29ce484222325L;
        int len = 0;
        for (; len < 32; len++) {
            if (start + len + 1 > end) return PASS;
            byte c = p[start + len];
            if (c == '\r') break;
            key[len] = c;
            hash = (hash ^ (c & 0xff)) * 0x100000001b3L;
        }
        if (len == 0 || len >= 32) return PASS;
        if (start + len + 2 > end || p[start + len + 1] != '\n') return PASS;
        CachedKey e = cache.get(hash);
        if (e == null || e.length() != len) return PASS;
        MemorySegment k = MemorySegment.ofArray(key);
        return e.k0() == k.get(LE64, 0) && e.k1() == k.get(LE64, 8) && e.k2() == k.get(LE64, 16) && e.k3() == k.get(LE64, 24)
                ? TX : PASS;
    }

    /** {@code kv_store.bpf.c}'s bucket of a key among 1,024: Fibonacci hashing, the top 10 bits. */
    static int kvBucket(long key) {
        return (int) ((key * 0x9e3779b97f4a7c15L) >>> (64 - 10));
    }

    /** An entry of a bucket's chain. */
    private record KvEntry(long key, long value, KvEntry next) {}

    /**
     * {@code kv_get_batch}: a chained hash table of 1,024 buckets, each with a spin lock taken
     * around its walk (a compare-and-set, as {@code kflex_spin_lock}), holding k -> 3k for keys
     * 1..{@code keys} (each put at the head of its chain, as {@code kv_put} does); one run looks
     * up keys 1..{@code keys}, sums the values into {@code out[0]} and returns the number found.
     */
    public static Workload.PlainJava kvGet(int keys, long[] out) {
        KvEntry[] heads = new KvEntry[1024];
        java.util.concurrent.atomic.AtomicIntegerArray locks = new java.util.concurrent.atomic.AtomicIntegerArray(1024);
        for (long k = 1; k <= keys; k++) heads[kvBucket(k)] = new KvEntry(k, 3 * k, heads[kvBucket(k)]);
        return () -> {
            long sum = 0, found = 0;
            for (long key = 1; key <= keys; key++) {
                int b = kvBucket(key);
                while (!locks.compareAndSet(b, 0, 1)) Thread.onSpinWait();
                for (KvEntry e = heads[b]; e != null; e = e.next()) {
                    if (e.key() == key) {
                        sum += e.value();
                        found++;
                        break;
                    }
                }
                locks.set(b, 0);
            }
            out[0] = sum;
            return found;
        };
    }

    /** A skip-list node: its key, value and tower of forward pointers. */
    private static final class SlNode {
        final long key, value;
        final SlNode[] next;

        SlNode(long key, long value, int level) {
            this.key = key;
            this.value = value;
            this.next = new SlNode[level];
        }
    }

    private static final int SL_LEVELS = 8;

    /**
     * {@code sl_lookup_batch}: the skip list of {@code skip_list.bpf.c} (8 levels, a node's level
     * from the same xorshift64 draws from the same seed) holding 2j -> j for j = 1..{@code keys},
     * inserted in that order, so its towers are the extension's; one run does a ceiling lookup of
     * 1, 3, ..., sums the values into {@code out[0]} and returns the number found.
     */
    public static Workload.PlainJava skipListLookup(int keys, long[] out) {
        SlNode head = new SlNode(0, 0, SL_LEVELS);
        long seed = 0x2545f4914f6cdd1dL;
        SlNode[] update = new SlNode[SL_LEVELS];
        for (long j = 1; j <= keys; j++) {
            long key = 2 * j;
            SlNode x = head;
            for (int i = SL_LEVELS - 1; i >= 0; i--) {
                for (SlNode n = x.next[i]; n != null && n.key < key; n = n.next[i]) x = n;
                update[i] = x;
            }
            seed ^= seed << 13;
            seed ^= seed >>> 7;
            seed ^= seed << 17;
            int level = 1 + Math.min(Long.numberOfTrailingZeros(~seed), SL_LEVELS - 1);
            SlNode n = new SlNode(key, j, level);
            for (int i = 0; i < level; i++) {
                n.next[i] = update[i].next[i];
                update[i].next[i] = n;
            }
        }
        return () -> {
            long sum = 0, found = 0;
            for (long q = 1, i = 0; i < keys; i++, q += 2) {
                SlNode x = head;
                for (int l = SL_LEVELS - 1; l >= 0; l--) {
                    for (SlNode n = x.next[l]; n != null && n.key < q; n = n.next[l]) x = n;
                }
                SlNode n = x.next[0];
                if (n != null) {
                    sum += n.value;
                    found++;
                }
            }
            out[0] = sum;
            return found;
        };
    }

    private static final long[] CM_SEEDS = {0x9e3779b97f4a7c15L, 0xc2b2ae3d27d4eb4fL, 0x165667b19e3779f9L, 0xd6e8feb86659fd93L};

    /**
     * {@code cm_add_batch}: a 4 x 1024 count-min sketch of {@code int} counters, each update four
     * atomic adds at the columns {@code count_min.bpf.c} computes; one run adds 1 for keys
     * 1..{@code keys} and returns {@code keys}.
     */
    public static Workload.PlainJava countMinAdd(int keys) {
        java.util.concurrent.atomic.AtomicIntegerArray rows = new java.util.concurrent.atomic.AtomicIntegerArray(4 * 1024);
        return () -> {
            for (long key = 1; key <= keys; key++) {
                for (int r = 0; r < 4; r++) rows.getAndAdd(r * 1024 + (int) ((key * CM_SEEDS[r]) >>> 54), 1);
            }
            return keys;
        };
    }

    /** The count-min sketch's estimate of {@code key} after {@code runs} runs of {@link #countMinAdd}: for tests. */
    static long countMinEstimate(int keys, int runs, long key) {
        int[] rows = new int[4 * 1024];
        for (int run = 0; run < runs; run++) {
            for (long k = 1; k <= keys; k++) for (int r = 0; r < 4; r++) rows[r * 1024 + (int) ((k * CM_SEEDS[r]) >>> 54)]++;
        }
        long min = Long.MAX_VALUE;
        for (int r = 0; r < 4; r++) min = Math.min(min, rows[r * 1024 + (int) ((key * CM_SEEDS[r]) >>> 54)]);
        return min;
    }
}
