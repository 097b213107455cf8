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
        LockingView locking = heap == null ? null : new LockingView(heap);
        kfuncs.put(SPIN_LOCK, heap == null ? noHeap(SPIN_LOCK) : new SpinLock(locking));
        kfuncs.put(SPIN_UNLOCK, heap == null ? noHeap(SPIN_UNLOCK) : new SpinUnlock(locking));
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
        return new BpfSpinLock(Objects.requireNonNull(timeout));
    }

    /** Helper 94: frees the {@code struct bpf_spin_lock} at r1, which the invocation must hold. */
    public static Helper bpfSpinUnlock() {
        return new BpfSpinUnlock();
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

    /**
     * Faults unless {@code ptr} is a lock word: not NULL, inside the heap (its offset at most
     * {@code lastWord}, the heap's size minus 4), 4-byte aligned, and in checked mode allocated.
     */
    private static void checkLockWord(Heap h, long lastWord, boolean checked, long ptr, String fn) {
        long offset = ptr & 0xffff_ffffL;
        if (ptr == 0) throw new ExtensionFault(fn + ": NULL lock");
        if (offset > lastWord) throw new ExtensionFault(String.format("%s: 0x%x is outside heap %s", fn, ptr, h.name()));
        if ((offset & 3) != 0) throw new ExtensionFault(String.format("%s: lock 0x%x is not 4-byte aligned", fn, ptr));
        if (checked) h.checkAccess(offset, 0, 4);
    }

    /** The fault of taking a lock ({@code what} describes it) that the invocation already holds. */
    private static ExtensionFault alreadyHeld(String what) {
        return new ExtensionFault(what + " is already held by this invocation");
    }

    /** The fault of a heap kfunc called on a closed heap (the message {@link Heap}'s operations throw). */
    private static ExtensionFault closed(Heap h) {
        return new ExtensionFault("heap " + h.name() + " is closed");
    }

    /** A heap kfunc of a program that declares no heap: it faults. */
    private static Helper noHeap(String fn) {
        return (_, _, _, _, _, _) -> {
            throw new ExtensionFault(fn + ": the program has no heap (declare one with kflex_heap())");
        };
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
    private static long call(Heap h, java.util.function.LongSupplier op) {
        try {
            return op.getAsLong();
        } catch (IllegalStateException e) {
            throw new ExtensionFault(e.getMessage());
        }
    }

    /*
     * kflex_spin_lock and kflex_spin_unlock run on every operation of a hot data structure (a
     * bucket lock per lookup), so their fast paths allocate nothing: a held lock is recorded as
     * (the heap's lock family, offset) in the invocation's HeldResources. They are records so that
     * the compiled program, which holds a kfunc in a static final field, sees their fields as
     * constants: the compare-and-set then goes to a constant segment, whose bounds and liveness
     * checks C2 can fold. The closed-heap check reads the heap's flag on every call; an access that
     * races with a concurrent close throws IllegalStateException, which becomes the same fault.
     */

    /**
     * The heap as a lock or unlock call reads it: its memory, lock family, last lock word and
     * checked mode (a record of records, all constants to a compiled program holding the kfunc).
     */
    private record LockingView(Heap heap, MemorySegment memory, HeapLockWords locks, long lastWord, boolean checked) {
        LockingView(Heap heap) {
            this(heap, heap.memory(), heap.lockWords(), heap.size() - 4, heap.checked());
        }

        /** The offset of lock word {@code ptr}; faults unless it is one ({@link HeapKfuncs#checkLockWord}). */
        long offsetOf(long ptr, String fn) {
            long offset = ptr & 0xffff_ffffL;
            if (ptr == 0 || offset > lastWord || (offset & 3) != 0 || checked) checkLockWord(heap, lastWord, checked, ptr, fn);
            return offset;
        }
    }

    /** {@code void kflex_spin_lock(kflex_spinlock_t *lock)} on the heap {@code view} shows. */
    private record SpinLock(LockingView view) implements Helper {
        // Kept small: a compiled program inlines this call only while its own compiled code is
        // small, so everything but an uncontended acquisition is in lockSlowly. The lock is
        // recorded before the compare-and-set, whose fence would otherwise make the record's
        // loads wait for it; a record whose word turns out to be taken is withdrawn at once.
        @Override
        public long call(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
            long offset = view.offsetOf(ptr, SPIN_LOCK);
            if (view.heap().isClosed()) throw closed(view.heap());
            HeldResources held = inv.resourcesIfMade();
            if (held == null || !held.acquiredLock(view.locks(), offset)) {
                lockSlowly(inv, offset);
                return 0;
            }
            boolean taken;
            try {
                taken = SpinLocks.tryLock(view.memory(), Heap.GUARD + offset);
            } catch (IllegalStateException closedMeanwhile) {
                held.forgetLock(view.locks(), offset);
                throw closed(view.heap());
            }
            if (!taken) {
                held.forgetLock(view.locks(), offset);
                lockSlowly(inv, offset);
            }
            return 0;
        }

        private boolean tryLock(long offset) {
            try {
                return SpinLocks.tryLock(view.memory(), Heap.GUARD + offset);
            } catch (IllegalStateException closedMeanwhile) {
                throw closed(view.heap());
            }
        }

        /** Takes a lock and nothing else: the invocation's regions stay where they are. */
        @Override
        public boolean keepsRegions() { return true; }

        /**
         * The first lock of an invocation (which makes its table of held resources), a lock the
         * invocation already holds (a fault), or a lock word someone else holds (wait, resiliently).
         */
        private void lockSlowly(Invocation inv, long offset) {
            HeldResources held = inv.resources();
            HeapLockWords locks = view.locks();
            if (held.holdsLock(locks, offset)) throw alreadyHeld(locks.describe(offset));
            if (!tryLock(offset)) waitFor(() -> tryLock(offset), view.heap().config().lockTimeout(), inv, () -> locks.describe(offset));
            held.acquiredLock(locks, offset); // not held before the wait, and the table is this thread's
        }

    }

    /** {@code void kflex_spin_unlock(kflex_spinlock_t *lock)} on the heap {@code view} shows: the invocation must hold the lock. */
    private record SpinUnlock(LockingView view) implements Helper {
        @Override
        public long call(Invocation inv, long ptr, long r2, long r3, long r4, long r5) {
            long offset = view.offsetOf(ptr, SPIN_UNLOCK);
            HeldResources held = inv.resourcesIfMade();
            if (view.heap().isClosed() || held == null || !held.forgetLock(view.locks(), offset)) throw unlockFault(inv, offset);
            try {
                SpinLocks.unlock(view.memory(), Heap.GUARD + offset);
            } catch (IllegalStateException closedMeanwhile) {
                throw closed(view.heap());
            }
            return 0;
        }

        /** Frees a lock and nothing else: the invocation's regions stay where they are. */
        @Override
        public boolean keepsRegions() { return true; }

        /** Why an unlock cannot be done: the heap is closed (the record goes: its memory is gone), or the lock is not held. */
        private ExtensionFault unlockFault(Invocation inv, long offset) {
            if (view.heap().isClosed()) {
                inv.resources().forgetLock(view.locks(), offset);
                return closed(view.heap());
            }
            return notHeld(offset);
        }

        private ExtensionFault notHeld(long offset) {
            return new ExtensionFault(String.format("%s %s+0x%x: the lock is not held by this invocation", SPIN_UNLOCK, view.heap().name(), offset));
        }
    }

    /*
     * bpf_spin_lock and bpf_spin_unlock guard a map value on every run of a program that updates
     * it, so a lock in a shared window (where map values live) is recorded as (the window's lock
     * family, offset), with no object per call; the family is the table's, made once per window
     * (MapLockWords). A lock word in one of the invocation's own windows has no such family (the
     * verifier admits only map values, but an unverified program may pass any address): it is
     * recorded as an object, released through the invocation's address space.
     */

    /** {@code long bpf_spin_lock(struct bpf_spin_lock *lock)}, waiting at most {@code timeout}. */
    private record BpfSpinLock(Duration timeout) implements Helper {
        @Override
        public long call(Invocation inv, long address, long r2, long r3, long r4, long r5) {
            AddressSpace memory = inv.memory();
            MapLockWords family = MapLockWords.at(memory, address);
            if (family == null) return lockOwnWindow(inv, memory, address);
            long offset = address & 0xffff_ffffL;
            HeldResources held = inv.resources();
            if (held.holdsLock(family, offset)) throw alreadyHeld(family.describe(offset));
            memory.resolve(address, 4, true); // faults on a bad address before any waiting
            if (!tryLock(memory, address)) waitFor(() -> tryLock(memory, address), timeout, inv, () -> family.describe(offset));
            held.acquiredLock(family, offset); // not held before, and the table is this thread's
            return 0;
        }

        private long lockOwnWindow(Invocation inv, AddressSpace memory, long address) {
            OwnWindowLock key = new OwnWindowLock(address);
            Supplier<String> what = key::describe;
            if (inv.resources().holds(key)) throw alreadyHeld(what.get());
            memory.resolve(address, 4, true); // faults on a bad address before any waiting
            waitFor(() -> tryLock(memory, address), timeout, inv, what);
            inv.resources().acquired(key, what, () -> memory.getAndApply(address, 4, AtomicOp.XCHG, SpinLocks.UNLOCKED));
            return 0;
        }

        /** Takes the lock word if it is free; faults on a misaligned one. */
        private static boolean tryLock(AddressSpace memory, long address) {
            return memory.compareAndExchange(address, 4, SpinLocks.UNLOCKED, SpinLocks.LOCKED) == SpinLocks.UNLOCKED;
        }

    }

    /** {@code long bpf_spin_unlock(struct bpf_spin_lock *lock)}: the invocation must hold the lock. */
    private record BpfSpinUnlock() implements Helper {
        @Override
        public long call(Invocation inv, long address, long r2, long r3, long r4, long r5) {
            MapLockWords family = MapLockWords.at(inv.memory(), address);
            long offset = address & 0xffff_ffffL;
            HeldResources held = inv.resourcesIfMade();
            boolean released = held != null && (family != null ? held.releaseLock(family, offset) : held.release(new OwnWindowLock(address)));
            if (!released) throw new ExtensionFault(String.format("bpf_spin_unlock 0x%x: the lock is not held by this invocation", address));
            return 0;
        }
    }

    /** A {@code bpf_spin_lock} held in one of the invocation's own windows, as the key of its record. */
    private record OwnWindowLock(long address) {
        String describe() {
            return MapLockWords.describeAt(address);
        }
    }
}
