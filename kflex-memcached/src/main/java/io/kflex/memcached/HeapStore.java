package io.kflex.memcached;

import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
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
    static final long COUNTER_CAS = 0, COUNTER_ITEMS = 8, COUNTER_BYTES = 16, COUNTER_TOTAL_ITEMS = 24;
    static final long NEXT = 0, HASH = 8, KEY_LEN = 16, FLAGS = 20, VALUE_LEN = 24, EXPTIME = 28, CAS = 32, DATA = 40;
    private static final long FNV_OFFSET = 0xcbf29ce484222325L, FNV_PRIME = 0x100000001b3L;
    /** Stored as the expiry of an item that is already expired (a negative or past exptime). */
    private static final long EXPIRED = 1;

    /** An item as read from the heap. {@code exptime} is absolute Unix seconds, 0 = never. */
    public record Item(byte[] key, int flags, long exptime, long cas, byte[] value) {}

    public enum Result { STORED, NOT_STORED, EXISTS, NOT_FOUND, NO_MEMORY }

    /** Outcome of incr/decr. */
    public sealed interface Delta {
        record Value(long value) implements Delta {}
        record NotFound() implements Delta {}
        record NonNumeric() implements Delta {}
        record NoMemory() implements Delta {}
    }

    private final HeapView heap;
    private final long table;
    private final LongSupplier nowSeconds;
    private final long counters;

    private HeapStore(HeapView heap, long table, LongSupplier nowSeconds) {
        this.heap = heap;
        this.table = table;
        this.counters = table + BUCKETS * BUCKET_SIZE;
        this.nowSeconds = nowSeconds;
    }

    /**
     * Creates the bucket array in {@code heap} and publishes it in the extension's {@code .bss}
     * at {@code tableOffset} (the offset of {@code mc_table}), where the extension finds it.
     */
    public static HeapStore publish(HeapView heap, BpfMap bss, int tableOffset, LongSupplier nowSeconds) throws MapException {
        int pages = (int) (BUCKETS * BUCKET_SIZE / 4096) + 1; // + the counters
        long table = heap.allocPages(pages);
        if (table == 0) throw new IllegalStateException("the heap has no room for the bucket array");
        heap.fill(table, pages * 4096L, (byte) 0);
        byte[] globals = bss.lookup(new byte[4]).orElseThrow(() -> new IllegalStateException(".bss has no value"));
        if (tableOffset < 0 || tableOffset + 8 > globals.length) {
            throw new IllegalArgumentException("mc_table at " + tableOffset + " is outside .bss (" + globals.length + " bytes)");
        }
        ByteBuffer.wrap(globals).order(ByteOrder.LITTLE_ENDIAN).putLong(tableOffset, heap.pointerTo(table));
        bss.update(new byte[4], globals, BpfMap.BPF_ANY);
        return new HeapStore(heap, heap.pointerTo(table), nowSeconds);
    }

    /** FNV-1a 64 of the key: the extension computes the same while parsing. */
    public static long hash(byte[] key) {
        long h = FNV_OFFSET;
        for (byte b : key) h = (h ^ (b & 0xff)) * FNV_PRIME;
        return h;
    }

    /** The heap pointer of the bucket array (what {@code mc_table} holds). */
    public long table() { return table; }

    /** Items linked now, by either side. */
    public long currentItems() { return heap.getU64(counters + COUNTER_ITEMS); }

    /** Items ever stored, by either side. */
    public long totalItems() { return heap.getU64(counters + COUNTER_TOTAL_ITEMS); }

    /** Key and value bytes of the items linked now. */
    public long bytes() { return heap.getU64(counters + COUNTER_BYTES); }

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

    public Item get(byte[] key) {
        return locked(key, (link, item, freed) -> item == 0 ? null : read(item, true));
    }

    public Result set(byte[] key, int flags, long exptime, byte[] value) {
        return store(key, flags, exptime, value, Mode.SET, 0);
    }

    public Result add(byte[] key, int flags, long exptime, byte[] value) {
        return store(key, flags, exptime, value, Mode.ADD, 0);
    }

    public Result replace(byte[] key, int flags, long exptime, byte[] value) {
        return store(key, flags, exptime, value, Mode.REPLACE, 0);
    }

    public Result cas(byte[] key, int flags, long exptime, byte[] value, long casUnique) {
        return store(key, flags, exptime, value, Mode.CAS, casUnique);
    }

    public Result append(byte[] key, byte[] value) {
        return concat(key, value, true);
    }

    public Result prepend(byte[] key, byte[] value) {
        return concat(key, value, false);
    }

    public boolean delete(byte[] key) {
        return locked(key, (link, item, freed) -> {
            if (item == 0) return false;
            unlink(link, item, freed);
            return true;
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
        return locked(key, (link, item, freed) -> {
            if (item == 0) return new Delta.NotFound();
            Item old = read(item, true);
            long current;
            try {
                current = parseUnsigned(old.value());
            } catch (NumberFormatException e) {
                return new Delta.NonNumeric();
            }
            long next = increment ? current + amount : (Long.compareUnsigned(current, amount) < 0 ? 0 : current - amount);
            byte[] digits = Long.toUnsignedString(next).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            long fresh = allocate(old.key(), old.flags(), old.exptime(), digits);
            if (fresh == 0) return new Delta.NoMemory();
            swap(link, item, fresh, freed);
            return new Delta.Value(next);
        });
    }

    private static long parseUnsigned(byte[] value) {
        int end = value.length;
        while (end > 0 && value[end - 1] == ' ') end--; // values written by other servers may be space-padded
        if (end == 0 || end > 20) throw new NumberFormatException();
        for (int i = 0; i < end; i++) if (value[i] < '0' || value[i] > '9') throw new NumberFormatException();
        return Long.parseUnsignedLong(new String(value, 0, end, java.nio.charset.StandardCharsets.US_ASCII));
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
            freed.forEach(heap::free);
        }
    }

    private enum Mode { SET, ADD, REPLACE, CAS }

    private Result store(byte[] key, int flags, long exptime, byte[] value, Mode mode, long casUnique) {
        long expiry = expiryOf(exptime);
        return locked(key, (link, item, freed) -> {
            switch (mode) {
                case ADD -> { if (item != 0) return Result.NOT_STORED; }
                case REPLACE -> { if (item == 0) return Result.NOT_STORED; }
                case CAS -> {
                    if (item == 0) return Result.NOT_FOUND;
                    if (heap.getU64(item + CAS) != casUnique) return Result.EXISTS;
                }
                case SET -> { }
            }
            long fresh = allocate(key, flags, expiry, value);
            if (fresh == 0) return Result.NO_MEMORY;
            if (item != 0) swap(link, item, fresh, freed);
            else insert(bucket(hash(key)), fresh);
            return Result.STORED;
        });
    }

    private Result concat(byte[] key, byte[] value, boolean after) {
        return locked(key, (link, item, freed) -> {
            if (item == 0) return Result.NOT_STORED;
            Item old = read(item, true);
            if ((long) old.value().length + value.length > VALUE_MAX) return Result.NO_MEMORY;
            byte[] joined = new byte[old.value().length + value.length];
            System.arraycopy(after ? old.value() : value, 0, joined, 0, after ? old.value().length : value.length);
            System.arraycopy(after ? value : old.value(), 0, joined, after ? old.value().length : value.length,
                    after ? value.length : old.value().length);
            long fresh = allocate(key, old.flags(), old.exptime(), joined);
            if (fresh == 0) return Result.NO_MEMORY;
            swap(link, item, fresh, freed);
            return Result.STORED;
        });
    }

    /** What a locked operation does with the live item (0 if none) and the pointer linking to it. */
    @FunctionalInterface
    private interface Locked<T> {
        T apply(long link, long item, List<Long> freed);
    }

    /**
     * Runs {@code body} under the key's bucket lock with the live item for the key (unlinking
     * expired items met on the way), then frees what was unlinked.
     */
    private <T> T locked(byte[] key, Locked<T> body) {
        if (key.length == 0 || key.length > KEY_MAX) throw new IllegalArgumentException("key length " + key.length);
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
        for (long p : freed) heap.free(p);
        return result;
    }

    private boolean matches(long item, byte[] key) {
        if (heap.getU32(item + KEY_LEN) != key.length) return false;
        for (int i = 0; i < key.length; i++) {
            if ((byte) heap.getU8(item + DATA + i) != key[i]) return false;
        }
        return true;
    }

    private Item read(long item, boolean withValue) {
        int keyLength = (int) heap.getU32(item + KEY_LEN);
        int valueLength = (int) heap.getU32(item + VALUE_LEN);
        return new Item(heap.read(item + DATA, keyLength), (int) heap.getU32(item + FLAGS), heap.getU32(item + EXPTIME),
                heap.getU64(item + CAS), withValue ? heap.read(item + DATA + keyLength, valueLength) : null);
    }

    /** A new, unlinked item; 0 when the heap is full. */
    private long allocate(byte[] key, int flags, long expiry, byte[] value) {
        long item = heap.malloc(DATA + key.length + value.length);
        if (item == 0) return 0;
        heap.setU64(item + HASH, hash(key));
        heap.setU32(item + KEY_LEN, key.length);
        heap.setU32(item + FLAGS, flags & 0xffff_ffffL);
        heap.setU32(item + VALUE_LEN, value.length);
        heap.setU32(item + EXPTIME, expiry);
        heap.setU64(item + CAS, heap.getAndAddU64(counters + COUNTER_CAS, 1) + 1);
        heap.write(item + DATA, key);
        heap.write(item + DATA + key.length, value);
        return item;
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
