package io.kflex.memcached;

import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The memcached store: a chained hash table in an extension heap, laid out as
 * {@code extensions/memcached_offload.bpf.c} documents, so that the offload extension reads the
 * very items this class writes. Every access to a bucket's chain, and to the items on it, happens
 * under that bucket's heap spin lock — the lock the extension takes with {@code kflex_spin_lock}.
 * Unlinked items are freed after the lock is released: nobody can still be reading them.
 *
 * <p>Expiry is lazy: an expired item is unlinked when an operation meets it. The extension only
 * serves and stores items that never expire, so it never needs the clock. The CAS counter and
 * the item and byte counts live in the heap after the buckets, so the extension's SETs count.
 *
 * <p>Memory limit: every item's size (header, key, value) is charged to a counter in the heap
 * before it is allocated — by either side — and given back after it is freed. When a charge
 * would pass the limit, this class evicts with a CLOCK hand over the buckets: under a bucket's
 * lock, items whose {@code used} count is above 0 have it lowered, the others are unlinked. A new
 * item starts at 1 and every read (the extension's included) sets 2, so an item read since the
 * hand last passed survives two more passes, and a run of new items never pushes out the ones
 * being read. The hand takes one bucket lock at a time and never runs while this thread holds
 * another, so it cannot deadlock with readers or writers.
 */
public final class HeapStore {
    public static final int BUCKET_BITS = 16;
    public static final int BUCKETS = 1 << BUCKET_BITS;
    public static final int KEY_MAX = 250;
    public static final int VALUE_MAX = 1 << 20;
    /** Relative expiration times are at most 30 days; larger values are absolute Unix times. */
    public static final long RELATIVE_EXPTIME_MAX = 60L * 60 * 24 * 30;

    static final long BUCKET_SIZE = 16, BUCKET_HEAD = 8;
    /** The counters after the bucket array (struct mc_counters), updated atomically by both sides. */
    static final long COUNTER_CAS = 0, COUNTER_ITEMS = 8, COUNTER_BYTES = 16, COUNTER_TOTAL_ITEMS = 24,
            COUNTER_MEMORY = 32, COUNTER_LIMIT = 40, COUNTER_EVICTIONS = 48;
    static final long NEXT = 0, HASH = 8, KEY_LEN = 16, FLAGS = 20, VALUE_LEN = 24, EXPTIME = 28, CAS = 32, USED = 40,
            DATA = 48;
    /** memcached's default memory limit ({@code -m 64}). */
    public static final long DEFAULT_MEMORY_LIMIT = 64L << 20;
    /**
     * The largest memory limit: the heap has 1 GiB of address space, and its allocator rounds
     * items up to a power of two (or to whole pages), so up to twice the limit may be in use.
     */
    public static final long MEMORY_LIMIT_MAX = 512L << 20;
    /** The {@code used} count of a new item, and of an item just read. */
    private static final int USED_NEW = 1, USED_READ = 2;
    /** How many buckets the hand may visit for one charge before giving up: three full turns bring any count to 0. */
    private static final long HAND_PATIENCE = 3L * BUCKETS + 1;
    private static final long FNV_OFFSET = 0xcbf29ce484222325L, FNV_PRIME = 0x100000001b3L;
    /** Stored as the expiry of an item that is already expired (a negative or past exptime). */
    private static final long EXPIRED = 1;

    /** An item as read from the heap. {@code exptime} is absolute Unix seconds, 0 = never. */
    public record Item(byte[] key, int flags, long exptime, long cas, byte[] value) {}

    /**
     * Outcome of a store or delete. {@code TOO_LARGE}: the item alone is larger than the memory
     * limit; {@code NO_MEMORY}: eviction found no room (or the heap is full).
     */
    public enum Result { STORED, NOT_STORED, EXISTS, NOT_FOUND, DELETED, TOO_LARGE, NO_MEMORY }

    /** A result and, when an item was stored, its CAS unique (0 otherwise). */
    public record Stored(Result result, long cas) {}

    /** How a store treats the key's current item. */
    public enum Mode {
        /** Stores whatever is there. */
        SET,
        /** Only when there is no item. */
        ADD,
        /** Only when there is an item. */
        REPLACE,
        /** Only when the item's CAS unique is the one given (NOT_FOUND without an item, EXISTS if it differs). */
        CAS,
        /** The value after the item's (NOT_STORED without one; EXISTS if a non-zero CAS given differs). */
        APPEND,
        /** The value before the item's, as APPEND. */
        PREPEND
    }

    /** Outcome of incr/decr. */
    public sealed interface Delta {
        /** The new value, and the new item's CAS unique. */
        record Value(long value, long cas) implements Delta {}
        record NotFound() implements Delta {}
        /** A non-zero CAS was given and the item's differs. */
        record Exists() implements Delta {}
        record NonNumeric() implements Delta {}
        record NoMemory() implements Delta {}
    }

    private final HeapView heap;
    private final long table;
    private final LongSupplier nowSeconds;
    private final long counters;
    private final long memoryLimit;
    /** The CLOCK hand: the next bucket to visit. */
    private final AtomicLong hand = new AtomicLong();

    private HeapStore(HeapView heap, long table, LongSupplier nowSeconds, long memoryLimit) {
        this.heap = heap;
        this.table = table;
        this.counters = table + BUCKETS * BUCKET_SIZE;
        this.nowSeconds = nowSeconds;
        this.memoryLimit = memoryLimit;
    }

    /** {@link #publish(HeapView, BpfMap, int, LongSupplier, long)} with memcached's default limit, 64 MiB. */
    public static HeapStore publish(HeapView heap, BpfMap bss, int tableOffset, LongSupplier nowSeconds) throws MapException {
        return publish(heap, bss, tableOffset, nowSeconds, DEFAULT_MEMORY_LIMIT);
    }

    /**
     * Creates the bucket array in {@code heap} and publishes it in the extension's {@code .bss}
     * at {@code tableOffset} (the offset of {@code mc_table}), where the extension finds it.
     * Items (header, key and value bytes) take at most {@code memoryLimit} bytes.
     */
    public static HeapStore publish(HeapView heap, BpfMap bss, int tableOffset, LongSupplier nowSeconds, long memoryLimit)
            throws MapException {
        if (memoryLimit <= 0 || memoryLimit > MEMORY_LIMIT_MAX) {
            throw new IllegalArgumentException("memory limit " + memoryLimit + " is not between 1 and " + MEMORY_LIMIT_MAX + " bytes");
        }
        int pages = (int) (BUCKETS * BUCKET_SIZE / 4096) + 1; // + the counters
        long table = heap.allocPages(pages);
        if (table == 0) throw new IllegalStateException("the heap has no room for the bucket array");
        heap.fill(table, pages * 4096L, (byte) 0);
        heap.setU64(table + BUCKETS * BUCKET_SIZE + COUNTER_LIMIT, memoryLimit); // before the extension can see the table
        byte[] globals = bss.lookup(new byte[4]).orElseThrow(() -> new IllegalStateException(".bss has no value"));
        if (tableOffset < 0 || tableOffset + 8 > globals.length) {
            throw new IllegalArgumentException("mc_table at " + tableOffset + " is outside .bss (" + globals.length + " bytes)");
        }
        ByteBuffer.wrap(globals).order(ByteOrder.LITTLE_ENDIAN).putLong(tableOffset, heap.pointerTo(table));
        bss.update(new byte[4], globals, BpfMap.BPF_ANY);
        return new HeapStore(heap, heap.pointerTo(table), nowSeconds, memoryLimit);
    }

    /** FNV-1a 64 of the key: the extension computes the same while parsing. */
    public static long hash(byte[] key) {
        long h = FNV_OFFSET;
        for (byte b : key) h = (h ^ (b & 0xff)) * FNV_PRIME;
        return h;
    }

    /** The heap bytes an item of these lengths takes under the memory limit. */
    public static long itemSize(int keyLength, int valueLength) {
        return DATA + keyLength + valueLength;
    }

    /** The heap pointer of the bucket array (what {@code mc_table} holds). */
    public long table() { return table; }

    /** Items linked now, by either side. */
    public long currentItems() { return heap.getU64(counters + COUNTER_ITEMS); }

    /** Items ever stored, by either side. */
    public long totalItems() { return heap.getU64(counters + COUNTER_TOTAL_ITEMS); }

    /** Key and value bytes of the items linked now. */
    public long bytes() { return heap.getU64(counters + COUNTER_BYTES); }

    /** Item bytes (headers included) charged to the memory limit now, by either side. */
    public long memoryUsed() { return heap.getU64(counters + COUNTER_MEMORY); }

    /** The most {@link #memoryUsed} may reach (memcached's {@code limit_maxbytes}). */
    public long memoryLimit() { return memoryLimit; }

    /** Items evicted to make room. */
    public long evictions() { return heap.getU64(counters + COUNTER_EVICTIONS); }

    /**
     * The absolute expiry of a protocol exptime: 0 never; negative, or an absolute time in
     * the past, already expired; up to 30 days relative to now; otherwise absolute.
     */
    public long expiryOf(long exptime) {
        if (exptime == 0) return 0;
        if (exptime < 0) return EXPIRED;
        long now = nowSeconds.getAsLong();
        long at = exptime <= RELATIVE_EXPTIME_MAX ? now + exptime : exptime;
        return at <= now ? EXPIRED : Math.min(at, 0xffff_ffffL);
    }

    private boolean expired(long exptime) {
        return exptime != 0 && exptime <= nowSeconds.getAsLong();
    }

    private long bucket(long hash) {
        return table + (hash & (BUCKETS - 1)) * BUCKET_SIZE;
    }

    /** The key's item, marked as recently used; null if there is none. */
    public Item get(byte[] key) {
        return locked(key, (link, item, freed) -> {
            if (item == 0) return null;
            reference(item);
            return read(item, true);
        });
    }

    /** Sets a new expiry and returns the item (get-and-touch); null if there is none. */
    public Item touchAndGet(byte[] key, long exptime) {
        long expiry = expiryOf(exptime);
        return locked(key, (link, item, freed) -> {
            if (item == 0) return null;
            heap.setU32(item + EXPTIME, expiry);
            reference(item);
            return read(item, true);
        });
    }

    public Result set(byte[] key, int flags, long exptime, byte[] value) {
        return store(Mode.SET, key, flags, exptime, value, 0).result();
    }

    public Result add(byte[] key, int flags, long exptime, byte[] value) {
        return store(Mode.ADD, key, flags, exptime, value, 0).result();
    }

    public Result replace(byte[] key, int flags, long exptime, byte[] value) {
        return store(Mode.REPLACE, key, flags, exptime, value, 0).result();
    }

    public Result cas(byte[] key, int flags, long exptime, byte[] value, long casUnique) {
        return store(Mode.CAS, key, flags, exptime, value, casUnique).result();
    }

    public Result append(byte[] key, byte[] value) {
        return store(Mode.APPEND, key, 0, 0, value, 0).result();
    }

    public Result prepend(byte[] key, byte[] value) {
        return store(Mode.PREPEND, key, 0, 0, value, 0).result();
    }

    public boolean delete(byte[] key) {
        return delete(key, 0) == Result.DELETED;
    }

    /** DELETED, NOT_FOUND, or EXISTS when {@code casUnique} is not 0 and the item's differs. */
    public Result delete(byte[] key, long casUnique) {
        return locked(key, (link, item, freed) -> {
            if (item == 0) return Result.NOT_FOUND;
            if (casUnique != 0 && heap.getU64(item + CAS) != casUnique) return Result.EXISTS;
            unlink(link, item, freed);
            return Result.DELETED;
        });
    }

    /** Sets a new expiry without touching the value. */
    public boolean touch(byte[] key, long exptime) {
        long expiry = expiryOf(exptime);
        return locked(key, (link, item, freed) -> {
            if (item == 0) return false;
            heap.setU32(item + EXPTIME, expiry);
            return true;
        });
    }

    /** incr (or decr, floored at 0) of a decimal value; incr wraps around at 2^64. */
    public Delta delta(byte[] key, long amount, boolean increment) {
        return delta(key, amount, increment, 0, null, 0);
    }

    /**
     * incr/decr as the binary protocol has it: with a non-zero {@code casUnique} only if the
     * item's matches; without an item, {@code initial} (when not null) is stored with {@code
     * exptime} and returned.
     */
    public Delta delta(byte[] key, long amount, boolean increment, long casUnique, Long initial, long exptime) {
        while (true) {
            Item old = locked(key, (link, item, freed) -> item == 0 ? null : read(item, true));
            if (old == null) {
                if (initial == null) return new Delta.NotFound();
                byte[] digits = Long.toUnsignedString(initial).getBytes(StandardCharsets.US_ASCII);
                Stored s = store(Mode.ADD, key, 0, exptime, digits, 0);
                switch (s.result()) {
                    case STORED -> { return new Delta.Value(initial, s.cas()); }
                    case NOT_STORED -> { continue; } // added meanwhile: apply the delta to it
                    default -> { return new Delta.NoMemory(); }
                }
            }
            if (casUnique != 0 && old.cas() != casUnique) return new Delta.Exists();
            long current;
            try {
                current = parseUnsigned(old.value());
            } catch (NumberFormatException e) {
                return new Delta.NonNumeric();
            }
            long next = increment ? current + amount : (Long.compareUnsigned(current, amount) < 0 ? 0 : current - amount);
            byte[] digits = Long.toUnsignedString(next).getBytes(StandardCharsets.US_ASCII);
            Stored s = replaceIfUnchanged(key, old, old.flags(), digits);
            switch (s.result()) {
                case STORED -> { return new Delta.Value(next, s.cas()); }
                case EXISTS, NOT_FOUND -> { } // changed meanwhile: read it again
                default -> { return new Delta.NoMemory(); }
            }
        }
    }

    private static long parseUnsigned(byte[] value) {
        int end = value.length;
        while (end > 0 && value[end - 1] == ' ') end--; // values written by other servers may be space-padded
        if (end == 0 || end > 20) throw new NumberFormatException();
        for (int i = 0; i < end; i++) if (value[i] < '0' || value[i] > '9') throw new NumberFormatException();
        return Long.parseUnsignedLong(new String(value, 0, end, StandardCharsets.US_ASCII));
    }

    /** Removes every item. */
    public void flushAll() {
        for (int i = 0; i < BUCKETS; i++) {
            long b = table + i * BUCKET_SIZE;
            List<Long> freed = new ArrayList<>();
            heap.lock(b);
            try {
                for (long item = heap.getPointer(b + BUCKET_HEAD); item != 0; ) {
                    long next = heap.getPointer(item + NEXT);
                    forget(item);
                    freed.add(item);
                    item = next;
                }
                heap.setPointer(b + BUCKET_HEAD, 0);
            } finally {
                heap.unlock(b);
            }
            release(freed);
        }
    }

    /**
     * Stores {@code value} under {@code key} as {@code mode} says. The new item is charged and
     * allocated before the bucket is locked (evicting needs other buckets' locks), and dropped
     * again if the mode's condition does not hold.
     */
    public Stored store(Mode mode, byte[] key, int flags, long exptime, byte[] value, long casUnique) {
        checkKey(key);
        if (mode == Mode.APPEND || mode == Mode.PREPEND) return concat(key, value, mode == Mode.APPEND, casUnique);
        if (itemSize(key.length, value.length) > memoryLimit) return new Stored(Result.TOO_LARGE, 0);
        long fresh = allocate(key, flags, expiryOf(exptime), value);
        if (fresh == 0) return new Stored(Result.NO_MEMORY, 0);
        Result result = locked(key, (link, item, freed) -> {
            switch (mode) {
                case ADD -> { if (item != 0) return Result.NOT_STORED; }
                case REPLACE -> { if (item == 0) return Result.NOT_STORED; }
                case CAS -> {
                    if (item == 0) return Result.NOT_FOUND;
                    if (heap.getU64(item + CAS) != casUnique) return Result.EXISTS;
                }
                default -> { }
            }
            if (item != 0) swap(link, item, fresh, freed);
            else insert(bucket(hash(key)), fresh);
            return Result.STORED;
        });
        if (result != Result.STORED) {
            release(List.of(fresh));
            return new Stored(result, 0);
        }
        return new Stored(result, heap.getU64(fresh + CAS));
    }

    private Stored concat(byte[] key, byte[] value, boolean after, long casUnique) {
        while (true) {
            Item old = locked(key, (link, item, freed) -> item == 0 ? null : read(item, true));
            if (old == null) return new Stored(Result.NOT_STORED, 0);
            if (casUnique != 0 && old.cas() != casUnique) return new Stored(Result.EXISTS, 0);
            if ((long) old.value().length + value.length > VALUE_MAX) return new Stored(Result.NO_MEMORY, 0);
            byte[] joined = new byte[old.value().length + value.length];
            byte[] first = after ? old.value() : value, second = after ? value : old.value();
            System.arraycopy(first, 0, joined, 0, first.length);
            System.arraycopy(second, 0, joined, first.length, second.length);
            Stored s = replaceIfUnchanged(key, old, old.flags(), joined);
            switch (s.result()) {
                case EXISTS, NOT_FOUND -> { } // changed meanwhile: read it again
                default -> { return s; }
            }
        }
    }

    /**
     * Replaces the item {@code old} (read earlier) with one holding {@code value}, if it is still
     * the key's item: EXISTS or NOT_FOUND if it has changed meanwhile.
     */
    private Stored replaceIfUnchanged(byte[] key, Item old, int flags, byte[] value) {
        if (itemSize(key.length, value.length) > memoryLimit) return new Stored(Result.TOO_LARGE, 0);
        long fresh = allocate(key, flags, old.exptime(), value);
        if (fresh == 0) return new Stored(Result.NO_MEMORY, 0);
        Result result = locked(key, (link, item, freed) -> {
            if (item == 0) return Result.NOT_FOUND;
            if (heap.getU64(item + CAS) != old.cas()) return Result.EXISTS;
            swap(link, item, fresh, freed);
            return Result.STORED;
        });
        if (result != Result.STORED) {
            release(List.of(fresh));
            return new Stored(result, 0);
        }
        return new Stored(result, heap.getU64(fresh + CAS));
    }

    /** What a locked operation does with the live item (0 if none) and the pointer linking to it. */
    @FunctionalInterface
    private interface Locked<T> {
        T apply(long link, long item, List<Long> freed);
    }

    private static void checkKey(byte[] key) {
        if (key.length == 0 || key.length > KEY_MAX) throw new IllegalArgumentException("key length " + key.length);
    }

    /**
     * Runs {@code body} under the key's bucket lock with the live item for the key (unlinking
     * expired items met on the way), then frees what was unlinked.
     */
    private <T> T locked(byte[] key, Locked<T> body) {
        checkKey(key);
        long hash = hash(key);
        long b = bucket(hash);
        List<Long> freed = new ArrayList<>(1);
        T result;
        heap.lock(b);
        try {
            long link = b + BUCKET_HEAD, found = 0;
            for (long item = heap.getPointer(link); item != 0; item = heap.getPointer(link)) {
                if (expired(heap.getU32(item + EXPTIME))) {
                    unlink(link, item, freed);
                    continue;
                }
                if (heap.getU64(item + HASH) == hash && matches(item, key)) {
                    found = item;
                    break;
                }
                link = item + NEXT;
            }
            result = body.apply(link, found, freed);
        } finally {
            heap.unlock(b);
        }
        release(freed);
        return result;
    }

    private boolean matches(long item, byte[] key) {
        if (heap.getU32(item + KEY_LEN) != key.length) return false;
        for (int i = 0; i < key.length; i++) {
            if ((byte) heap.getU8(item + DATA + i) != key[i]) return false;
        }
        return true;
    }

    /** Marks a linked item as recently used (under its bucket lock). */
    private void reference(long item) {
        if (heap.getU32(item + USED) != USED_READ) heap.setU32(item + USED, USED_READ);
    }

    private Item read(long item, boolean withValue) {
        int keyLength = (int) heap.getU32(item + KEY_LEN);
        int valueLength = (int) heap.getU32(item + VALUE_LEN);
        return new Item(heap.read(item + DATA, keyLength), (int) heap.getU32(item + FLAGS), heap.getU32(item + EXPTIME),
                heap.getU64(item + CAS), withValue ? heap.read(item + DATA + keyLength, valueLength) : null);
    }

    /**
     * A new, unlinked item, charged to the memory limit (evicting to make room); 0 when no room
     * could be made or the heap is full. Must not be called under a bucket lock.
     */
    private long allocate(byte[] key, int flags, long expiry, byte[] value) {
        long size = itemSize(key.length, value.length);
        if (!charge(size)) return 0;
        long item = heap.malloc(size);
        // The heap itself may be full before the limit is reached (its size classes round up): evict a little more.
        for (long visited = 0; item == 0 && visited < HAND_PATIENCE; visited++) {
            evictAt(hand.getAndIncrement() & (BUCKETS - 1));
            item = heap.malloc(size);
        }
        if (item == 0) {
            heap.getAndAddU64(counters + COUNTER_MEMORY, -size);
            return 0;
        }
        heap.setU64(item + HASH, hash(key));
        heap.setU32(item + KEY_LEN, key.length);
        heap.setU32(item + FLAGS, flags & 0xffff_ffffL);
        heap.setU32(item + VALUE_LEN, value.length);
        heap.setU32(item + EXPTIME, expiry);
        heap.setU32(item + USED, USED_NEW); // a new item survives one pass of the hand
        heap.setU64(item + CAS, heap.getAndAddU64(counters + COUNTER_CAS, 1) + 1);
        heap.write(item + DATA, key);
        heap.write(item + DATA + key.length, value);
        return item;
    }

    /**
     * Charges {@code size} bytes to the memory limit, moving the CLOCK hand until they fit;
     * false when three full turns of the hand did not make room. The extension charges with an
     * atomic add that it takes back when it overshoots, so the counter may briefly read high:
     * at worst the hand visits one bucket more than it had to.
     */
    private boolean charge(long size) {
        long visited = 0;
        while (true) {
            long used = heap.getU64(counters + COUNTER_MEMORY);
            if (used + size <= memoryLimit) {
                if (heap.compareAndSetU64(counters + COUNTER_MEMORY, used, used + size)) return true;
                continue;
            }
            if (visited++ >= HAND_PATIENCE) return false;
            evictAt(hand.getAndIncrement() & (BUCKETS - 1));
        }
    }

    /**
     * One step of the CLOCK hand: under the bucket's lock, lowers the used count of the items
     * above 0 and unlinks the others (and expired ones); frees them after unlocking.
     */
    private void evictAt(long index) {
        long b = table + index * BUCKET_SIZE;
        if (heap.getPointer(b + BUCKET_HEAD) == 0) return; // an unlocked peek: an empty bucket is skipped cheaply
        List<Long> freed = new ArrayList<>(2);
        heap.lock(b);
        try {
            long link = b + BUCKET_HEAD;
            for (long item = heap.getPointer(link); item != 0; item = heap.getPointer(link)) {
                if (expired(heap.getU32(item + EXPTIME))) {
                    unlink(link, item, freed);
                } else if (heap.getU32(item + USED) > 0) {
                    // clamped: a count the extension scribbled over still reaches 0 within three turns
                    heap.setU32(item + USED, Math.min(heap.getU32(item + USED), USED_READ) - 1);
                    link = item + NEXT;
                } else {
                    unlink(link, item, freed);
                    heap.getAndAddU64(counters + COUNTER_EVICTIONS, 1);
                }
            }
        } finally {
            heap.unlock(b);
        }
        release(freed);
    }

    /** Frees unlinked items (no reader can hold them) and gives their bytes back to the limit. */
    private void release(List<Long> items) {
        for (long item : items) {
            long size = itemSize((int) heap.getU32(item + KEY_LEN), (int) heap.getU32(item + VALUE_LEN));
            heap.free(item);
            heap.getAndAddU64(counters + COUNTER_MEMORY, -size);
        }
    }

    private void insert(long bucket, long fresh) {
        heap.setPointer(fresh + NEXT, heap.getPointer(bucket + BUCKET_HEAD));
        heap.setPointer(bucket + BUCKET_HEAD, fresh);
        remember(fresh);
    }

    private void swap(long link, long old, long fresh, List<Long> freed) {
        heap.setPointer(fresh + NEXT, heap.getPointer(old + NEXT));
        heap.setPointer(link, fresh);
        forget(old);
        remember(fresh);
        freed.add(old);
    }

    private void unlink(long link, long item, List<Long> freed) {
        heap.setPointer(link, heap.getPointer(item + NEXT));
        forget(item);
        freed.add(item);
    }

    private void remember(long item) {
        heap.getAndAddU64(counters + COUNTER_ITEMS, 1);
        heap.getAndAddU64(counters + COUNTER_TOTAL_ITEMS, 1);
        heap.getAndAddU64(counters + COUNTER_BYTES, heap.getU32(item + KEY_LEN) + heap.getU32(item + VALUE_LEN));
    }

    private void forget(long item) {
        heap.getAndAddU64(counters + COUNTER_ITEMS, -1);
        heap.getAndAddU64(counters + COUNTER_BYTES, -(heap.getU32(item + KEY_LEN) + heap.getU32(item + VALUE_LEN)));
    }
}
