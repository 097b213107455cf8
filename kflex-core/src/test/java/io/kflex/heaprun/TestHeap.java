package io.kflex.heaprun;

import io.kflex.engine.ExtensionFault;
import io.kflex.engine.HeapMemory;
import io.kflex.engine.Invocation;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.Kfuncs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal heap for engine tests: the {@link HeapMemory} layout over an auto arena, a page
 * bitmap, whole-page allocation for the allocation kfuncs and a spinning lock. It stands in for
 * the heap runtime in tests of the engines only.
 */
public final class TestHeap implements HeapMemory {
    public static final int PAGE = 4096;
    public static final long USER_BASE = 0x0000_1000_0000_0000L;

    private final long size;
    private final boolean checked;
    private final MemorySegment segment;
    private final BitSet pages = new BitSet();
    private final Map<Long, Integer> mallocPages = new HashMap<>();

    public TestHeap(long size, boolean checked) {
        this(Arena.ofAuto().allocate(size + 2 * GUARD, PAGE), size, checked);
    }

    /** A heap over {@code segment} ({@code GUARD + size + GUARD} bytes), e.g. a slice of a larger segment. */
    public TestHeap(MemorySegment segment, long size, boolean checked) {
        if (segment.byteSize() != size + 2 * GUARD) throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes");
        this.size = size;
        this.checked = checked;
        this.segment = segment;
    }

    @Override public MemorySegment segment() { return segment; }
    @Override public long size() { return size; }
    @Override public long userBase() { return USER_BASE; }
    @Override public boolean checked() { return checked; }

    @Override
    public synchronized boolean isAllocated(long offset) {
        return offset >= 0 && offset < size && pages.get((int) (offset / PAGE));
    }

    /** Allocates {@code n} zeroed pages (never page 0, whose user pointer would be NULL); a user pointer or 0. */
    public synchronized long allocPages(int n) {
        int total = (int) (size / PAGE);
        if (n <= 0) return 0;
        for (int first = 1; first + n <= total; first++) {
            int used = pages.nextSetBit(first);
            if (used >= 0 && used < first + n) {
                first = used;
                continue;
            }
            pages.set(first, first + n);
            segment.asSlice(GUARD + (long) first * PAGE, (long) n * PAGE).fill((byte) 0);
            return USER_BASE | ((long) first * PAGE);
        }
        return 0;
    }

    public synchronized void freePages(long ptr, int n) {
        long offset = ptr & 0xffffffffL;
        if (offset % PAGE != 0 || n <= 0 || offset + (long) n * PAGE > size) return;
        pages.clear((int) (offset / PAGE), (int) (offset / PAGE) + n);
    }

    public synchronized long malloc(long bytes) {
        if (bytes <= 0 || bytes > size) return 0;
        int n = (int) ((bytes + PAGE - 1) / PAGE);
        long p = allocPages(n);
        if (p != 0) mallocPages.put(p & 0xffffffffL, n);
        return p;
    }

    public synchronized void free(long ptr) {
        Integer n = mallocPages.remove(ptr & 0xffffffffL);
        if (n != null) freePages(ptr, n);
    }

    /** The 64-bit word at heap offset {@code offset}, for assertions. */
    public long word(long offset) { return segment.get(ValueLayout.JAVA_LONG_UNALIGNED, GUARD + offset); }

    private static final VarHandle LOCK = ValueLayout.JAVA_INT.varHandle();

    /** Binds the heap kfuncs to this heap and the iterator kfuncs. */
    public HelperTable.Builder kfuncs(HelperTable.Builder b) {
        io.kflex.helpers.IteratorKfuncs.register(b);
        return b.addKfunc(Kfuncs.BPF_ARENA_ALLOC_PAGES, "bpf_arena_alloc_pages", (inv, map, addr, n, node, flags) -> addr != 0 ? 0 : allocPages((int) n))
                .addKfunc(Kfuncs.BPF_ARENA_FREE_PAGES, "bpf_arena_free_pages", (inv, map, ptr, n, r4, r5) -> {
                    freePages(ptr, (int) n);
                    return 0;
                })
                .addKfunc(Kfuncs.KFLEX_MALLOC, "kflex_malloc", (inv, bytes, r2, r3, r4, r5) -> malloc(bytes))
                .addKfunc(Kfuncs.KFLEX_FREE, "kflex_free", (inv, ptr, r2, r3, r4, r5) -> {
                    free(ptr);
                    return 0;
                })
                .addKfunc(Kfuncs.KFLEX_SPIN_LOCK, "kflex_spin_lock", this::lock)
                .addKfunc(Kfuncs.KFLEX_SPIN_UNLOCK, "kflex_spin_unlock", (inv, ptr, r2, r3, r4, r5) -> {
                    LOCK.setRelease(segment, GUARD + (ptr & (size - 1) & ~3L), 0);
                    return 0;
                });
    }

    private long lock(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
        long at = GUARD + (ptr & (size - 1) & ~3L);
        while (!LOCK.compareAndSet(segment, at, 0, 1)) {
            if (inv.cancelRequested() != null) throw new ExtensionFault("cancelled while waiting for a heap lock");
            Thread.onSpinWait();
        }
        return 0;
    }
}
