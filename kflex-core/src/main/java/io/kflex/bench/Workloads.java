package io.kflex.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The benchmark suites (issue: JIT as fast as Linux's JIT): hash-mix, list walk, memcached GET,
 * and the heap data structures (hash table, skip list, count-min sketch).
 */
public final class Workloads {
    private Workloads() {}

    /** Nodes of the list-walk suite. */
    public static final int LIST_NODES = 65_536;
    /** Entries the host stores in the memcached suite's cache, and the key every request asks for. */
    public static final int MEMCACHED_KEYS = 1024;
    public static final String MEMCACHED_KEY = "key-0042";

    /** Keys in the data-structure suites, and the operations one of their runs does. */
    public static final int STRUCTURE_KEYS = 4096;

    /** Why Linux has no column for the data-structure suites. */
    static final String KFLEX_ONLY = "KFlex only: the object calls kflex_malloc, a kfunc Linux does not have";

    /** Every suite, in table order. */
    public static List<Workload> all() {
        return List.of(hashMix(1000), hashMix(100_000), listWalk(), memcachedGet(), kvStoreGet(), skipListLookup(),
                countMinUpdate());
    }

    /** The suite called {@code name}, if any. */
    public static Optional<Workload> named(String name) {
        return all().stream().filter(w -> w.name().equals(name)).findFirst();
    }

    /** Names of every suite. */
    public static List<String> names() {
        return all().stream().map(Workload::name).toList();
    }

    /** {@code hashmix_can_loop} of {@code bench_hashmix.bpf.o}: {@code iters} splitmix64 steps from seed 0. */
    public static Workload hashMix(int iters) {
        byte[] ctx = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(iters).putInt(0).putLong(0).array();
        return new Workload("hashmix-" + iters, "64-bit hash-mix loop (may_goto), " + iters + " iterations", "iteration", iters,
                "bench_hashmix.bpf.o", "hashmix_can_loop", ctx, new byte[0], iters, List.of(), List.of(), 0,
                () -> PlainJavaWorkloads.hashMix(0, iters, new long[1]));
    }

    /** {@code list_walk} of {@code bench_list_walk.bpf.o} over a list {@code list_build} shuffled with seed 42. */
    public static Workload listWalk() {
        return listWalk(LIST_NODES);
    }

    /**
     * {@link #listWalk()} over a list of {@code nodes} nodes (1 to 65,536; 16 bytes each): the same
     * program with a working set from a few cache lines to past the second-level cache.
     */
    public static Workload listWalk(int nodes) {
        if (nodes < 1 || nodes > LIST_NODES) throw new IllegalArgumentException("list of " + nodes + " nodes (1 to " + LIST_NODES + ")");
        byte[] ctx = listArgs(nodes, 42);
        return new Workload("listwalk-" + nodes, "heap linked-list walk, " + nodes + " shuffled nodes", "node", nodes,
                "bench_list_walk.bpf.o", "list_walk", listArgs(0, 0), new byte[0], nodes,
                List.of(new Workload.SetupRun("list_build", ctx, nodes)), List.of(), 1024,
                () -> PlainJavaWorkloads.listWalk(nodes, 42, new long[1]));
    }

    private static byte[] listArgs(int n, int seed) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(n).putInt(seed).array();
    }

    /** {@code memcached_get} of {@code bench_memcached_get.bpf.o}: a GET that hits a cache of {@value #MEMCACHED_KEYS} keys. */
    public static Workload memcachedGet() {
        Map<Long, byte[]> keys = new LinkedHashMap<>();
        List<Workload.MapFill.Entry> entries = new ArrayList<>();
        for (int i = 0; i < MEMCACHED_KEYS; i++) {
            byte[] key = "key-%04d".formatted(i).getBytes(StandardCharsets.US_ASCII);
            long hash = PlainJavaWorkloads.fnv1a64(key, 0, key.length);
            keys.put(hash, key);
            ByteBuffer value = ByteBuffer.allocate(72).order(ByteOrder.LITTLE_ENDIAN);
            value.put(key).position(32);
            value.putInt(key.length).putInt(32);
            for (int b = 0; b < 32; b++) value.put((byte) ('a' + b % 26));
            entries.add(new Workload.MapFill.Entry(
                    ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hash).array(), value.array()));
        }
        byte[] frame = udpFrame(11211, memcachedRequest("get " + MEMCACHED_KEY + "\r\n"));
        return new Workload("memcached-get", "memcached UDP GET parse + hash lookup (hit)", "request", 1,
                "bench_memcached_get.bpf.o", "memcached_get", new byte[0], frame, 3, List.of(),
                List.of(new Workload.MapFill("mc_cache", entries)), 0,
                () -> PlainJavaWorkloads.memcachedGet(frame, keys));
    }

    /**
     * {@code kv_get_batch} of {@code kv_store.bpf.o}: {@value #STRUCTURE_KEYS} lookups (keys 1, 2, ...)
     * in the heap hash table (1,024 chained buckets, a spin lock each) after {@code kv_put} stored
     * key k -> 3k for every one of them. Returns the number found; the values sum to 3 n (n + 1) / 2.
     */
    public static Workload kvStoreGet() {
        List<Workload.SetupRun> puts = new ArrayList<>();
        for (long k = 1; k <= STRUCTURE_KEYS; k++) puts.add(new Workload.SetupRun("kv_put", longs(k, 3 * k), 0));
        return new Workload("kvstore-get", "heap hash table (kv_store): " + STRUCTURE_KEYS + " lookups, all hits", "lookup",
                STRUCTURE_KEYS, "kv_store.bpf.o", "kv_get_batch", longs(1, 1, STRUCTURE_KEYS, 0), new byte[0], STRUCTURE_KEYS,
                puts, List.of(), 0, () -> PlainJavaWorkloads.kvGet(STRUCTURE_KEYS, new long[1]), KFLEX_ONLY);
    }

    /**
     * {@code sl_lookup_batch} of {@code skip_list.bpf.o}: {@value #STRUCTURE_KEYS} ceiling lookups of
     * the odd keys 1, 3, ... in a skip list of the even keys 2, 4, ..., 2n (key 2j -> j, inserted in
     * that order, so the towers are always the same). Every lookup finds the next even key.
     */
    public static Workload skipListLookup() {
        List<Workload.SetupRun> inserts = new ArrayList<>();
        for (long j = 1; j <= STRUCTURE_KEYS; j++) inserts.add(new Workload.SetupRun("sl_insert", longs(2 * j, j), 0));
        return new Workload("skiplist-lookup", "heap skip list: " + STRUCTURE_KEYS + " ceiling lookups in " + STRUCTURE_KEYS + " keys",
                "lookup", STRUCTURE_KEYS, "skip_list.bpf.o", "sl_lookup_batch", longs(1, 2, STRUCTURE_KEYS, 0), new byte[0],
                STRUCTURE_KEYS, inserts, List.of(), 0, () -> PlainJavaWorkloads.skipListLookup(STRUCTURE_KEYS, new long[1]),
                KFLEX_ONLY);
    }

    /** {@code cm_add_batch} of {@code count_min.bpf.o}: {@value #STRUCTURE_KEYS} updates (keys 1, 2, ...) of a 4 x 1024 count-min sketch. */
    public static Workload countMinUpdate() {
        return new Workload("countmin-update", "heap count-min sketch: " + STRUCTURE_KEYS + " updates (4 atomic adds each)", "update",
                STRUCTURE_KEYS, "count_min.bpf.o", "cm_add_batch", longs(1, 1, STRUCTURE_KEYS), new byte[0], STRUCTURE_KEYS,
                List.of(), List.of(), 0, () -> PlainJavaWorkloads.countMinAdd(STRUCTURE_KEYS), KFLEX_ONLY);
    }

    /** A context of little-endian 64-bit fields. */
    static byte[] longs(long... fields) {
        ByteBuffer b = ByteBuffer.allocate(8 * fields.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long f : fields) b.putLong(f);
        return b.array();
    }

    /** A memcached UDP datagram: the 8-byte frame header (request 1, sequence 0 of 1 datagrams) and the text. */
    public static byte[] memcachedRequest(String text) {
        byte[] body = text.getBytes(StandardCharsets.US_ASCII);
        return ByteBuffer.allocate(8 + body.length).putShort((short) 1).putShort((short) 0).putShort((short) 1).putShort((short) 0)
                .put(body).array();
    }

    /** An Ethernet/IPv4/UDP frame 10.0.0.1:4242 → 10.0.0.2:{@code port} with a valid IPv4 checksum. */
    public static byte[] udpFrame(int port, byte[] payload) {
        ByteBuffer f = ByteBuffer.allocate(Math.max(64, 42 + payload.length));
        f.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).putShort((short) 0x0800);
        int ipStart = f.position();
        f.put((byte) 0x45).put((byte) 0).putShort((short) (28 + payload.length)).putShort((short) 1).putShort((short) 0)
                .put((byte) 64).put((byte) 17).putShort((short) 0).put(new byte[] {10, 0, 0, 1}).put(new byte[] {10, 0, 0, 2});
        int sum = 0;
        for (int i = 0; i < 20; i += 2) sum += f.getShort(ipStart + i) & 0xffff;
        sum = (sum >>> 16) + (sum & 0xffff);
        sum += sum >>> 16;
        f.putShort(ipStart + 10, (short) ~sum);
        f.putShort((short) 4242).putShort((short) port).putShort((short) (8 + payload.length)).putShort((short) 0).put(payload);
        return f.array();
    }
}
