package io.kflex.heap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Which pages of a heap are allocated, and to whom: a bitmap of allocated pages that engines read
 * without locking ({@link #isAllocated}, the checked mode's test), a second bitmap marking the
 * pages the object allocator owns (so that {@code bpf_arena_free_pages} on a malloc slab cannot
 * pull it from under the allocator), a next-fit search for free runs, and the memory limit. All
 * mutation happens under one lock; page allocation is rare next to object allocation.
 */
final class PageAllocator {
    static final int PAGE_SHIFT = 12;

    private static final VarHandle WORDS = MethodHandles.arrayElementVarHandle(long[].class);

    private final int pages;
    private final long limitPages;
    private final long[] allocated;
    private final long[] internal;
    private final ReentrantLock lock = new ReentrantLock();
    private long allocatedPages;
    private int cursor;

    PageAllocator(long heapSize, long memoryLimit) {
        this.pages = (int) (heapSize >>> PAGE_SHIFT);
        this.limitPages = Math.min(pages, memoryLimit >>> PAGE_SHIFT);
        int words = (pages + 63) >>> 6;
        this.allocated = new long[words];
        this.internal = new long[words];
        // Bits past the last page read as allocated, so searches never return them.
        int tail = pages & 63;
        if (tail != 0) allocated[words - 1] = -1L << tail;
        // Page 0 is handed out last: a pointer whose low 32 bits are zero is NULL to a cast, so
        // automatic placement avoids it while any other run fits.
        this.cursor = pages > 1 ? 1 : 0;
    }

    int pageCount() { return pages; }

    long limitPages() { return limitPages; }

    /** Pages allocated now, by either allocator. */
    long allocatedPages() {
        lock.lock();
        try {
            return allocatedPages;
        } finally {
            lock.unlock();
        }
    }

    /** Whether heap page {@code page} is allocated; lock-free, safe from any thread. */
    boolean isAllocated(long page) {
        if (page < 0 || page >= pages) return false;
        long word = (long) WORDS.getAcquire(allocated, (int) (page >>> 6));
        return (word & (1L << page)) != 0;
    }

    /**
     * Allocates {@code count} pages at page {@code at}, or wherever there is room when {@code at}
     * is negative. Returns the first page, or -1 when the pages are taken, out of range, or over
     * the memory limit. {@code owned} marks them as the object allocator's.
     */
    long allocate(long at, long count, boolean owned) {
        if (count <= 0 || count > pages) return -1;
        lock.lock();
        try {
            if (allocatedPages + count > limitPages) return -1;
            int first;
            if (at >= 0) {
                if (at + count > pages || !allClear((int) at, (int) (at + count))) return -1;
                first = (int) at;
            } else {
                first = findRun(cursor, pages, (int) count);
                if (first < 0 && cursor > 1) first = findRun(1, pages, (int) count);
                if (first < 0) first = findRun(0, pages, (int) count); // page 0 as the last resort
                if (first < 0) return -1;
                cursor = first + (int) count < pages ? first + (int) count : (pages > 1 ? 1 : 0);
            }
            setRange(allocated, first, first + (int) count, true);
            if (owned) setRange(internal, first, first + (int) count, true);
            allocatedPages += count;
            return first;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Frees the allocated pages among {@code [first, first + count)} that belong to the caller
     * ({@code owned}: the object allocator's, else the page API's) and returns them as runs to
     * {@code release} before they become free, so nobody can allocate them while they are being
     * zeroed. Returns how many pages were freed.
     */
    long free(long first, long count, boolean owned, RunConsumer release) {
        if (first < 0 || first >= pages || count <= 0) return 0;
        int end = (int) Math.min(pages, first + count);
        lock.lock();
        try {
            long freed = 0;
            int runStart = -1;
            for (int p = (int) first; p <= end; p++) {
                boolean mine = p < end && bit(allocated, p) && bit(internal, p) == owned;
                if (mine && runStart < 0) runStart = p;
                if (!mine && runStart >= 0) {
                    release.accept(runStart, p - runStart);
                    setRange(allocated, runStart, p, false);
                    setRange(internal, runStart, p, false);
                    freed += p - runStart;
                    runStart = -1;
                }
            }
            allocatedPages -= freed;
            return freed;
        } finally {
            lock.unlock();
        }
    }

    /** Forgets every allocation (the heap was closed). */
    void clear() {
        lock.lock();
        try {
            for (int w = 0; w < allocated.length; w++) {
                WORDS.setRelease(allocated, w, 0L);
                internal[w] = 0;
            }
            allocatedPages = 0;
        } finally {
            lock.unlock();
        }
    }

    @FunctionalInterface
    interface RunConsumer {
        void accept(int firstPage, int count);
    }

    private static boolean bit(long[] map, int p) {
        return (map[p >>> 6] & (1L << p)) != 0;
    }

    private boolean allClear(int from, int to) {
        return nextSet(from) >= to;
    }

    /** The first run of {@code count} free pages starting in {@code [from, to)}, or -1. */
    private int findRun(int from, int to, int count) {
        int start = nextClear(from);
        while (start + count <= to) {
            int end = nextSet(start);
            if (end - start >= count) return start;
            start = nextClear(end);
        }
        return -1;
    }

    /** The first free page at or after {@code from}, or {@code pages}. */
    private int nextClear(int from) {
        int w = from >>> 6;
        if (w >= allocated.length) return pages;
        long word = ~allocated[w] & (-1L << from);
        while (word == 0) {
            if (++w >= allocated.length) return pages;
            word = ~allocated[w];
        }
        return Math.min(pages, (w << 6) + Long.numberOfTrailingZeros(word));
    }

    /** The first allocated page at or after {@code from}, or {@code pages}. */
    private int nextSet(int from) {
        int w = from >>> 6;
        if (w >= allocated.length) return pages;
        long word = allocated[w] & (-1L << from);
        while (word == 0) {
            if (++w >= allocated.length) return pages;
            word = allocated[w];
        }
        return Math.min(pages, (w << 6) + Long.numberOfTrailingZeros(word));
    }

    private static void setRange(long[] map, int from, int to, boolean value) {
        for (int p = from; p < to; ) {
            int w = p >>> 6;
            int hi = Math.min(to, (w + 1) << 6);
            int n = hi - p;
            long mask = (n == 64 ? -1L : ((1L << n) - 1)) << p;
            long old = map[w];
            WORDS.setRelease(map, w, value ? old | mask : old & ~mask);
            p = hi;
        }
    }
}
