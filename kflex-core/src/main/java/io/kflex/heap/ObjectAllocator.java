package io.kflex.heap;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code kflex_malloc}/{@code kflex_free}: power-of-two size classes from 16 bytes to 2 KiB carved
 * out of one-page slabs, larger objects as whole pages. Every piece of metadata lives here, on the
 * Java side, so an extension scribbling over its heap can corrupt its own data but never the
 * allocator; {@link #free} checks its argument against that metadata and ignores anything that is
 * not a live object (NULL, garbage, a double free).
 *
 * <p>The common paths are lock-free: an allocation reserves a slot in its class's current slab
 * with a CAS on the slab's count and claims a bit in the slab's bitmap with another; a free clears
 * the bit and drops the count. A class lock is taken only to switch slabs, and the page allocator's
 * lock only to get or return a page.
 */
final class ObjectAllocator {
    static final int MIN_SHIFT = 4;                    // 16 bytes
    static final int MAX_SHIFT = 11;                   // 2 KiB
    static final long MAX_SMALL = 1L << MAX_SHIFT;
    private static final int PAGE_SHIFT = PageAllocator.PAGE_SHIFT;
    private static final long PAGE = 1L << PAGE_SHIFT;

    private final PageAllocator pages;
    private final Zeroing zeroing;
    private final SizeClass[] classes = new SizeClass[MAX_SHIFT - MIN_SHIFT + 1];
    /** Page index → the {@link Slab} or {@link Large} object that owns it (first page only for Large). */
    private final PageOwners owners;

    /** How the heap zeroes memory: a range of bytes, or whole pages given back to the system. */
    interface Zeroing {
        void zeroBytes(long offset, long length);

        void discardPages(long offset, long length);
    }

    ObjectAllocator(PageAllocator pages, Zeroing zeroing) {
        this.pages = pages;
        this.zeroing = zeroing;
        this.owners = new PageOwners(pages.pageCount());
        for (int i = 0; i < classes.length; i++) classes[i] = new SizeClass(MIN_SHIFT + i);
    }

    /** The heap offset of {@code size} zeroed bytes, or -1 when the heap or its limit is exhausted. */
    long malloc(long size) {
        if (size <= 0) return -1;
        if (size > MAX_SMALL) return mallocLarge(size);
        SizeClass c = classes[classIndex(size)];
        while (true) {
            Slab s = c.current;
            if (s != null && s.reserve()) {
                long offset = s.offset + ((long) s.claim() << c.shift);
                zeroing.zeroBytes(offset, 1L << c.shift);
                return offset;
            }
            if (!c.refill(s)) return -1;
        }
    }

    /** Frees the object at heap offset {@code offset}; anything that is not a live object is ignored. */
    void free(long offset) {
        if (offset < 0) return;
        int page = (int) (offset >>> PAGE_SHIFT);
        Object owner = owners.get(page);
        switch (owner) {
            case Slab s -> {
                long rel = offset - s.offset;
                if ((rel & ((1L << s.shift) - 1)) != 0) return;
                if (s.release((int) (rel >>> s.shift))) classes[s.shift - MIN_SHIFT].released(s);
            }
            case Large l -> {
                if ((offset & (PAGE - 1)) == 0 && owners.remove(page, l)) {
                    pages.free(page, l.pages, true, (first, n) -> zeroing.discardPages((long) first << PAGE_SHIFT, (long) n << PAGE_SHIFT));
                }
            }
            case null, default -> { }
        }
    }

    /** Bytes usable at {@code offset} if it is a live object's start, else 0. */
    long usableSize(long offset) {
        if (offset < 0) return 0;
        int page = (int) (offset >>> PAGE_SHIFT);
        return switch (owners.get(page)) {
            case Slab s -> {
                long rel = offset - s.offset;
                yield (rel & ((1L << s.shift) - 1)) == 0 && s.isLive((int) (rel >>> s.shift)) ? 1L << s.shift : 0;
            }
            case Large l -> (offset & (PAGE - 1)) == 0 ? (long) l.pages << PAGE_SHIFT : 0;
            case null, default -> 0;
        };
    }

    /** Forgets every object (the heap was closed). */
    void clear() {
        owners.clear();
        for (SizeClass c : classes) c.clear();
    }

    static int classIndex(long size) {
        int log = 64 - Long.numberOfLeadingZeros(size - 1);
        return Math.max(0, log - MIN_SHIFT);
    }

    private long mallocLarge(long size) {
        long count = (size + PAGE - 1) >>> PAGE_SHIFT;
        if (count > pages.pageCount()) return -1;
        long first = pages.allocate(-1, count, true);
        if (first < 0) return -1;
        long offset = first << PAGE_SHIFT;
        zeroing.discardPages(offset, count << PAGE_SHIFT);
        owners.put((int) first, new Large((int) count));
        return offset;
    }

    private record Large(int pages) {}

    /** A one-page slab of equal objects; {@code count} is how many slots are taken or reserved. */
    private static final class Slab {
        private static final int RETIRED = Integer.MIN_VALUE;

        final long offset;
        final int shift;
        final int capacity;
        final AtomicLongArray used;
        final AtomicInteger count = new AtomicInteger();
        /** Whether the slab is in its class's partial queue (keeps it there at most once). */
        final AtomicBoolean queued = new AtomicBoolean();

        Slab(long offset, int shift) {
            this.offset = offset;
            this.shift = shift;
            this.capacity = (int) (PAGE >>> shift);
            int words = (capacity + 63) >>> 6;
            this.used = new AtomicLongArray(words);
            if ((capacity & 63) != 0) used.set(0, -1L << capacity); // slots past the end read as taken
        }

        /** Reserves one slot; false when the slab is full or retired. */
        boolean reserve() {
            while (true) {
                int n = count.get();
                if (n < 0 || n >= capacity) return false;
                if (count.compareAndSet(n, n + 1)) return true;
            }
        }

        /** Claims a free slot after a successful {@link #reserve}: one is guaranteed to exist. */
        int claim() {
            while (true) {
                for (int w = 0; w < used.length(); w++) {
                    long bits = used.get(w);
                    while (bits != -1L) {
                        int bit = Long.numberOfTrailingZeros(~bits);
                        if (used.compareAndSet(w, bits, bits | (1L << bit))) return (w << 6) + bit;
                        bits = used.get(w);
                    }
                }
                Thread.onSpinWait(); // slots being freed right now: their bits clear before the count drops
            }
        }

        /** Frees slot {@code i}; false when it was not taken (a double free). */
        boolean release(int i) {
            if (i >= capacity) return false;
            int w = i >>> 6;
            long bit = 1L << i;
            while (true) {
                long bits = used.get(w);
                if ((bits & bit) == 0) return false;
                if (used.compareAndSet(w, bits, bits & ~bit)) break;
            }
            count.decrementAndGet();
            return true;
        }

        boolean isLive(int i) {
            return i < capacity && (used.get(i >>> 6) & (1L << i)) != 0;
        }

        boolean hasRoom() {
            int n = count.get();
            return n >= 0 && n < capacity;
        }

        /** Marks an empty slab dead so that no allocation can reserve in it any more. */
        boolean retire() {
            return count.compareAndSet(0, RETIRED);
        }
    }

    /** One size class: the slab allocations go to, and the slabs with room behind it. */
    private final class SizeClass {
        final int shift;
        volatile Slab current;
        final ConcurrentLinkedQueue<Slab> partial = new ConcurrentLinkedQueue<>();
        final ReentrantLock lock = new ReentrantLock();

        SizeClass(int shift) {
            this.shift = shift;
        }

        /**
         * Replaces {@code stale}, the current slab that had no room, with a slab that has some.
         * Returns false only when no page is left for a new slab.
         */
        boolean refill(Slab stale) {
            lock.lock();
            try {
                if (current != stale) return true; // another thread refilled already
                Slab next;
                while ((next = partial.poll()) != null) {
                    next.queued.set(false);
                    if (next.hasRoom()) break;
                }
                if (next == null) {
                    long page = pages.allocate(-1, 1, true);
                    if (page < 0) return false;
                    // No zeroing here: malloc zeroes every object it hands out.
                    next = new Slab(page << PAGE_SHIFT, shift);
                    owners.put((int) page, next);
                }
                current = next;
                // Frees that raced with the switch saw `stale` as current and did not queue it.
                if (stale != null && stale.hasRoom()) enqueue(stale);
                return true;
            } finally {
                lock.unlock();
            }
        }

        /** Called after a slot of {@code s} was freed. */
        void released(Slab s) {
            if (s == current) return;
            if (s.count.get() == 0) {
                retire(s);
            } else {
                enqueue(s);
            }
        }

        private void enqueue(Slab s) {
            if (s.queued.compareAndSet(false, true)) partial.add(s);
        }

        /** Returns an empty slab's page, unless it became current or got a reservation meanwhile. */
        private void retire(Slab s) {
            lock.lock();
            try {
                if (s == current || !s.retire()) {
                    if (s != current && s.hasRoom()) enqueue(s);
                    return;
                }
                // A retired slab may still sit in the partial queue; refill drops it (it has no room).
                int page = (int) (s.offset >>> PAGE_SHIFT);
                owners.remove(page, s);
                pages.free(page, 1, true, (first, n) -> zeroing.discardPages((long) first << PAGE_SHIFT, (long) n << PAGE_SHIFT));
            } finally {
                lock.unlock();
            }
        }

        void clear() {
            lock.lock();
            try {
                current = null;
                partial.clear();
            } finally {
                lock.unlock();
            }
        }
    }
}
