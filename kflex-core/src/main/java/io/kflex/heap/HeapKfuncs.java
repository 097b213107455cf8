package io.kflex.heap;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.CallbackOutcome;
import io.kflex.engine.Outcome;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.HeldResources;
import io.kflex.engine.Invocation;
import io.kflex.helpers.Helper;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AtomicOp;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.function.LongFunction;

/**
 * The heap's host functions, as {@link Helper}s with the C signatures of {@code kflex.h}:
 *
 * <ul>
 *   <li>{@code void *bpf_arena_alloc_pages(void *map, void *addr, u32 page_cnt, int node_id, u64 flags)}
 *       and {@code void bpf_arena_free_pages(void *map, void *ptr, u32 page_cnt)}: the map argument is
 *       a map handle, decoded to its heap by the function the runtime provides;</li>
 *   <li>{@code void *kflex_malloc(u64 size)}, {@code void kflex_free(void *ptr)},
 *       {@code void kflex_spin_lock(kflex_spinlock_t *lock)},
 *       {@code void kflex_spin_unlock(kflex_spinlock_t *lock)}: on the program's own heap;</li>
 *   <li>helpers 93/94 {@code bpf_spin_lock}/{@code bpf_spin_unlock} on a {@code struct bpf_spin_lock}
 *       anywhere in the invocation's address space (a map value).</li>
 * </ul>
 *
 * Locks use the {@link SpinLocks} protocol and are recorded in
 * {@link Invocation#resources()}, so whatever an invocation still holds when it faults or is
 * cancelled is released. A wait never hangs the host: when the invocation is asked to cancel or
 * its thread is interrupted, the program ends as cancelled at the call; when the wait times out
 * it faults. Unlocking a lock the invocation does not hold, or taking one it already holds, faults.
 */
public final class HeapKfuncs {
    public static final String ARENA_ALLOC_PAGES = "bpf_arena_alloc_pages";
    public static final String ARENA_FREE_PAGES = "bpf_arena_free_pages";
    public static final String MALLOC = "kflex_malloc";
    public static final String FREE = "kflex_free";
    public static final String SPIN_LOCK = "kflex_spin_lock";
    public static final String SPIN_UNLOCK = "kflex_spin_unlock";

    /** Every kfunc this class provides, in a stable order. */
    public static final List<String> NAMES = List.of(ARENA_ALLOC_PAGES, ARENA_FREE_PAGES, MALLOC, FREE, SPIN_LOCK, SPIN_UNLOCK);

    /** Linux helper numbers of {@code bpf_spin_lock} and {@code bpf_spin_unlock}. */
    public static final int BPF_SPIN_LOCK = 93, BPF_SPIN_UNLOCK = 94;

    private static final int NUMA_NO_NODE = -1;

    private final Heap heap;
    private final LongFunction<Heap> heapOfMap;
    private final Map<String, Helper> kfuncs = new LinkedHashMap<>();

    /**
     * Kfuncs for a program whose heap is {@code heap} (null if it declares none: the heap kfuncs
     * then fault) and whose arena-map handles {@code heapOfMap} decodes (null for a handle that is
     * not an arena map).
     */
    public HeapKfuncs(Heap heap, LongFunction<Heap> heapOfMap) {
        this.heap = heap;
        this.heapOfMap = Objects.requireNonNull(heapOfMap);
        kfuncs.put(ARENA_ALLOC_PAGES, this::arenaAllocPages);
        kfuncs.put(ARENA_FREE_PAGES, this::arenaFreePages);
        kfuncs.put(MALLOC, this::malloc);
        kfuncs.put(FREE, this::free);
        kfuncs.put(SPIN_LOCK, this::spinLock);
        kfuncs.put(SPIN_UNLOCK, this::spinUnlock);
    }

    /** Kfuncs over one heap, which every map handle stands for (a program with one arena map). */
    public static HeapKfuncs forHeap(Heap heap) {
        Objects.requireNonNull(heap);
        return new HeapKfuncs(heap, _ -> heap);
    }

    /** The implementation of kfunc {@code name} (one of {@link #NAMES}). */
    public Helper get(String name) {
        Helper h = kfuncs.get(name);
        if (h == null) throw new IllegalArgumentException("no heap kfunc named " + name);
        return h;
    }

    /**
     * Binds every kfunc of {@link #NAMES} that {@code kfuncIds} (name → id the loader assigned)
     * names into {@code builder}; returns the builder.
     */
    public HelperTable.Builder register(HelperTable.Builder builder, Map<String, Integer> kfuncIds) {
        for (var e : kfuncs.entrySet()) {
            Integer id = kfuncIds.get(e.getKey());
            if (id != null) builder.addKfunc(id, e.getKey(), e.getValue());
        }
        return builder;
    }

    /** Binds helpers 93/94 ({@code bpf_spin_lock}/{@code bpf_spin_unlock}) into {@code builder}, waiting at most {@code timeout}. */
    public static HelperTable.Builder registerSpinLockHelpers(HelperTable.Builder builder, Duration timeout) {
        return builder.add(BPF_SPIN_LOCK, "bpf_spin_lock", bpfSpinLock(timeout))
                .add(BPF_SPIN_UNLOCK, "bpf_spin_unlock", bpfSpinUnlock());
    }

    /** Helper 93: takes the {@code struct bpf_spin_lock} at r1, waiting at most {@code timeout}. */
    public static Helper bpfSpinLock(Duration timeout) {
        Objects.requireNonNull(timeout);
        return (inv, r1, _, _, _, _) -> {
            AddressSpace memory = inv.memory();
            MapLock key = new MapLock(r1);
            Supplier<String> what = () -> String.format("bpf_spin_lock 0x%x", r1);
            if (inv.resources().holds(key)) throw new ExtensionFault(what.get() + " is already held by this invocation");
            memory.resolve(r1, 4, true); // faults on a bad address before any waiting
            waitFor(() -> memory.compareAndExchange(r1, 4, SpinLocks.UNLOCKED, SpinLocks.LOCKED) == SpinLocks.UNLOCKED, timeout, inv, what);
            inv.resources().acquired(key, what, () -> memory.getAndApply(r1, 4, AtomicOp.XCHG, SpinLocks.UNLOCKED));
            return 0;
        };
    }

    /** Helper 94: frees the {@code struct bpf_spin_lock} at r1, which the invocation must hold. */
    public static Helper bpfSpinUnlock() {
        return (inv, r1, _, _, _, _) -> {
            if (!inv.resources().release(new MapLock(r1))) {
                throw new ExtensionFault(String.format("bpf_spin_unlock 0x%x: the lock is not held by this invocation", r1));
            }
            return 0;
        };
    }

    private long arenaAllocPages(Invocation inv, long map, long addr, long pageCount, long node, long flags) {
        Heap h = arena(map, ARENA_ALLOC_PAGES);
        int nodeId = (int) node;
        if (flags != 0 || (nodeId != NUMA_NO_NODE && nodeId != 0)) return 0; // Linux: unknown flags or nodes fail
        long count = pageCount & 0xffff_ffffL;
        if (count == 0 || count > h.size() / Heap.PAGE_SIZE) return 0;
        return call(h, () -> h.allocPages(addr, (int) count));
    }

    private long arenaFreePages(Invocation inv, long map, long ptr, long pageCount, long r4, long r5) {
        Heap h = arena(map, ARENA_FREE_PAGES);
        long count = Math.min(pageCount & 0xffff_ffffL, h.size() / Heap.PAGE_SIZE);
        return call(h, () -> {
            h.freePages(ptr, (int) count);
            return 0;
        });
    }

    private long malloc(Invocation inv, long size, long r2, long r3, long r4, long r5) {
        Heap h = programHeap(MALLOC);
        return call(h, () -> h.malloc(size));
    }

    private long free(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
        Heap h = programHeap(FREE);
        return call(h, () -> {
            h.free(ptr);
            return 0;
        });
    }

    private long spinLock(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
        Heap h = programHeap(SPIN_LOCK);
        long offset = lockOffset(h, ptr, SPIN_LOCK);
        MemorySegment s = open(h, h::segment);
        // The lock is its own held-resource record, named only for a report: on this path (every
        // run of a hot program) formatting or extra objects would cost more than the lock.
        HeapLock lock = new HeapLock(h, offset, s);
        if (inv.resources().holds(lock)) throw new ExtensionFault(lock.description() + " is already held by this invocation");
        long at = Heap.GUARD + offset;
        if (!SpinLocks.tryLock(s, at)) waitFor(() -> SpinLocks.tryLock(s, at), h.config().lockTimeout(), inv, lock::description);
        inv.resources().acquired(lock);
        return 0;
    }

    private long spinUnlock(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
        Heap h = programHeap(SPIN_UNLOCK);
        long offset = lockOffset(h, ptr, SPIN_UNLOCK);
        if (h.isClosed()) {
            inv.resources().remove(new HeapLock(h, offset, null)); // its memory is gone with the heap
            throw new ExtensionFault("heap " + h.name() + " is closed");
        }
        if (!inv.resources().release(new HeapLock(h, offset, null))) {
            throw new ExtensionFault(String.format("%s %s+0x%x: the lock is not held by this invocation", SPIN_UNLOCK, h.name(), offset));
        }
        return 0;
    }

    /** The heap offset of a lock word: inside the heap, 4-byte aligned, allocated in checked mode. */
    private static long lockOffset(Heap h, long ptr, String fn) {
        long offset = ptr & 0xffff_ffffL;
        if (ptr == 0) throw new ExtensionFault(fn + ": NULL lock");
        if (offset > h.size() - 4) throw new ExtensionFault(String.format("%s: 0x%x is outside heap %s", fn, ptr, h.name()));
        if ((offset & 3) != 0) throw new ExtensionFault(String.format("%s: lock 0x%x is not 4-byte aligned", fn, ptr));
        if (h.checked()) h.checkAccess(offset, 0, 4);
        return offset;
    }

    private static void waitFor(java.util.function.BooleanSupplier tryAcquire, Duration timeout, Invocation inv, Supplier<String> what) {
        switch (SpinLocks.acquire(tryAcquire, timeout, inv)) {
            case ACQUIRED -> { }
            // A wait that ends because the invocation is stopped is a cancellation at the call
            // instruction (the engine fills in the pc), not a fault of the extension.
            case CANCELLED -> throw new CallbackOutcome(new Outcome.Cancelled(-1, inv.cancelRequested(), List.of()));
            case INTERRUPTED -> throw new CallbackOutcome(new Outcome.Cancelled(-1, "interrupted", List.of()));
            case TIMED_OUT -> throw new ExtensionFault(what.get() + ": not acquired within " + timeout);
        }
    }

    private Heap programHeap(String fn) {
        if (heap == null) throw new ExtensionFault(fn + ": the program has no heap (declare one with kflex_heap())");
        return heap;
    }

    private Heap arena(long map, String fn) {
        Heap h = heapOfMap.apply(map);
        if (h == null) throw new ExtensionFault(String.format("%s: 0x%x is not an arena map", fn, map));
        return h;
    }

    /** Runs a heap operation; a closed heap faults the extension instead of throwing into the engine. */
    private static <T> T open(Heap h, java.util.function.Supplier<T> op) {
        try {
            return op.get();
        } catch (IllegalStateException e) {
            throw new ExtensionFault(e.getMessage());
        }
    }

    private static long call(Heap h, java.util.function.LongSupplier op) {
        try {
            return op.getAsLong();
        } catch (IllegalStateException e) {
            throw new ExtensionFault(e.getMessage());
        }
    }

    /**
     * A held {@code kflex_spin_lock}: the lock word at {@code offset} of {@code heap}, whose
     * {@code segment} it unlocks. Equal (as a key) to any record of the same heap and offset.
     */
    private record HeapLock(Heap heap, long offset, MemorySegment segment) implements HeldResources.Held {
        @Override
        public Object key() { return this; }

        @Override
        public String description() { return String.format("%s %s+0x%x", SPIN_LOCK, heap.name(), offset); }

        @Override
        public void giveBack() { SpinLocks.unlock(segment, Heap.GUARD + offset); }

        @Override
        public boolean equals(Object o) { return o instanceof HeapLock l && l.heap == heap && l.offset == offset; }

        @Override
        public int hashCode() { return System.identityHashCode(heap) * 31 + Long.hashCode(offset); }
    }

    private record MapLock(long address) {}
}
