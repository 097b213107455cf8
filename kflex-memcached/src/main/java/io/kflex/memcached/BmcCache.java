package io.kflex.memcached;

import io.kflex.heap.SpinLocks;
import io.kflex.maps.BpfArray;
import io.kflex.maps.BpfMap;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/**
 * The host's side of {@code extensions/bmc_cache.bpf.c}: a direct-mapped cache of GET replies in
 * the BPF array {@code bmc_cache}, one fixed-size entry per slot, each guarded by the {@code
 * struct bpf_spin_lock} at its start (the same word and protocol as the extension's {@code
 * bpf_spin_lock}). The extension answers GET hits from it at the UDP hook; this class fills an
 * entry after the server answered a GET from its store, and invalidates the key's entry after
 * every write, as BMC's egress program and its invalidation do.
 *
 * <p>No stale value: a fill takes the entry's generation under the lock before the store is
 * read ({@link #ticket}) and writes the entry only if the generation is unchanged when it locks
 * the entry again ({@link #filled}). Every invalidation bumps the generation under the lock and
 * comes after the write it reports, so a fill that read the store before a write either sees the
 * bump and gives up, or lands before the invalidation, which then clears it.
 */
final class BmcCache implements LookasideCache {
    /** The layout of {@code struct bmc_entry}. */
    static final int LOCK = 0, VALID = 4, HASH = 8, GEN = 16, KEY_LEN = 20, REPLY_LEN = 24, KEY = 32, REPLY = 288;
    static final int REPLY_MAX = 1288, ENTRY_SIZE = REPLY + REPLY_MAX;
    /** The largest value cached, as in BMC; longer ones are always served by the server. */
    static final int VALUE_MAX = 1000;
    static final String MAP = "bmc_cache";
    /** How long the host waits for an entry's lock (an extension holds it for microseconds; a stuck one is cancelled). */
    private static final Duration LOCK_WAIT = Duration.ofSeconds(2);

    private final MemorySegment memory;
    private final long stride;
    private final int entries;
    private final Runnable disable;
    private final LongAdder fills = new LongAdder(), raced = new LongAdder(), invalidations = new LongAdder();
    private volatile boolean disabled;

    /**
     * @param disable run when an entry's lock cannot be had for an invalidation: the caller must
     *     stop the extension from answering from the cache (its entry could be stale)
     */
    BmcCache(BpfMap map, Runnable disable) {
        if (!(map instanceof BpfArray array) || array.perCpu()) {
            throw new IllegalArgumentException("map " + map.name() + " is not a BPF_MAP_TYPE_ARRAY");
        }
        if (map.spec().valueSize() != ENTRY_SIZE || map.spec().keySize() != 4) {
            throw new IllegalArgumentException("map " + map.name() + " has " + map.spec().valueSize() + "-byte values, struct bmc_entry has "
                    + ENTRY_SIZE + " (see bmc_cache.bpf.c)");
        }
        int n = map.spec().maxEntries();
        if (Integer.bitCount(n) != 1) throw new IllegalArgumentException("map " + map.name() + ": " + n + " entries is not a power of two");
        this.memory = array.region().segment();
        this.stride = n > 1 ? array.valueAddress(1, 0) - array.valueAddress(0, 0) : ENTRY_SIZE;
        this.entries = n;
        this.disable = disable;
    }

    int entries() { return entries; }

    long fills() { return fills.sum(); }

    long racedFills() { return raced.sum(); }

    long invalidations() { return invalidations.sum(); }

    /** The entry of a key: its FNV-1a hash (the store's, and the extension's) masked to the table. */
    int slotOf(byte[] key) { return (int) (HeapStore.hash(key) & (entries - 1)); }

    /** Whether {@code value} could be cached at all (BMC's bound, no expiry). */
    static boolean cacheable(HeapStore.Item item) {
        return item.exptime() == 0 && item.value().length <= VALUE_MAX && item.key().length <= HeapStore.KEY_MAX;
    }

    /** The reply the extension sends for a hit. */
    static byte[] reply(HeapStore.Item item) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(item.key().length + item.value().length + 32);
        b.writeBytes("VALUE ".getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(item.key());
        b.writeBytes((" " + Integer.toUnsignedString(item.flags()) + " " + item.value().length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        b.writeBytes(item.value());
        b.writeBytes("\r\nEND\r\n".getBytes(StandardCharsets.US_ASCII));
        return b.toByteArray();
    }

    @Override
    public long ticket(byte[] key) {
        long at = offsetOf(slotOf(key));
        if (!lock(at)) return -1; // no fill for this read
        try {
            return memory.get(ValueLayout.JAVA_INT_UNALIGNED, at + GEN) & 0xffff_ffffL;
        } finally {
            SpinLocks.unlock(memory, at + LOCK);
        }
    }

    @Override
    public void filled(byte[] key, long ticket, HeapStore.Item item) {
        if (ticket < 0 || disabled || !cacheable(item)) return;
        byte[] reply = reply(item);
        if (reply.length > REPLY_MAX) return;
        long at = offsetOf(slotOf(key));
        if (!lock(at)) return;
        try {
            if ((memory.get(ValueLayout.JAVA_INT_UNALIGNED, at + GEN) & 0xffff_ffffL) != ticket) {
                raced.increment(); // the key (or another of this slot) was written since the store was read
                return;
            }
            memory.set(ValueLayout.JAVA_LONG_UNALIGNED, at + HASH, HeapStore.hash(key));
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, at + KEY_LEN, key.length);
            MemorySegment.copy(key, 0, memory, ValueLayout.JAVA_BYTE, at + KEY, key.length);
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, at + REPLY_LEN, reply.length);
            MemorySegment.copy(reply, 0, memory, ValueLayout.JAVA_BYTE, at + REPLY, reply.length);
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, at + VALID, 1);
            fills.increment();
        } finally {
            SpinLocks.unlock(memory, at + LOCK);
        }
    }

    @Override
    public void written(byte[] key) {
        invalidate(slotOf(key));
    }

    @Override
    public void flushed() {
        for (int i = 0; i < entries; i++) invalidate(i);
    }

    private void invalidate(int slot) {
        long at = offsetOf(slot);
        if (!lock(at)) {
            // The entry may now be stale and cannot be cleared: the cache must not answer any more.
            disabled = true;
            disable.run();
            return;
        }
        try {
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, at + VALID, 0);
            memory.set(ValueLayout.JAVA_INT_UNALIGNED, at + GEN, memory.get(ValueLayout.JAVA_INT_UNALIGNED, at + GEN) + 1);
            invalidations.increment();
        } finally {
            SpinLocks.unlock(memory, at + LOCK);
        }
    }

    /** Whether the entry at {@code slot} holds a reply now (for tests and stats). */
    boolean valid(int slot) {
        long at = offsetOf(slot);
        if (!lock(at)) throw new IllegalStateException("entry " + slot + " stays locked");
        try {
            return memory.get(ValueLayout.JAVA_INT_UNALIGNED, at + VALID) != 0;
        } finally {
            SpinLocks.unlock(memory, at + LOCK);
        }
    }

    private long offsetOf(int slot) { return slot * stride; }

    private boolean lock(long at) {
        return SpinLocks.acquire(() -> SpinLocks.tryLock(memory, at + LOCK), LOCK_WAIT, null) == SpinLocks.Wait.ACQUIRED;
    }
}
