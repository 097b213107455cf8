package io.kflex.heap;

import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * One extension heap (a KFlex heap, Linux's arena map): {@link #size()} bytes, a power of two up to
 * 4 GiB, in a segment of {@code GUARD + size + GUARD} bytes whose pages cost memory only once they
 * are touched. Heap offset {@code o} is at segment offset {@code GUARD + o}, so a guarded access
 *
 * <pre>{@code segment.get(layout, GUARD + (pointer & mask) + off)}</pre>
 *
 * with {@code off} a signed 16-bit displacement stays inside the segment for every 64-bit pointer
 * value: the heap confines the extension, never host memory. Pointers in the user view are
 * {@code userBase | offset} (NULL stays 0).
 *
 * <p>On top of the memory: a page allocator with Linux's {@code bpf_arena_alloc_pages} semantics,
 * {@code kflex_malloc}/{@code kflex_free} over it, a per-heap memory limit, a bitmap of allocated
 * pages for the checked mode, and a typed {@link HeapView} for the host. Everything is
 * thread-safe; allocation failure is a 0 result, never an exception. After {@link #close()} every
 * operation throws {@link IllegalStateException}.
 */
public final class Heap implements AutoCloseable, io.kflex.engine.HeapMemory {
    /** Bytes of guard before offset 0 and after the end: covers every signed 16-bit displacement. */
    public static final long GUARD = 64 * 1024;

    /** Heap pages are 4 KiB, as Linux's arena pages on x86-64. */
    public static final long PAGE_SIZE = NativeMemory.PAGE;

    private final HeapConfig config;
    private final Arena arena;
    private final MemorySegment segment;
    private final long size;
    private final long mask;
    private final PageAllocator pages;
    private final ObjectAllocator objects;
    private final Region region;
    private final HeapView view;
    private final HeapLockWords lockWords;
    private volatile boolean closed;

    private Heap(HeapConfig config, Arena arena, MemorySegment segment) {
        this.config = config;
        this.arena = arena;
        this.segment = segment;
        this.size = config.size();
        this.mask = size - 1;
        this.pages = new PageAllocator(size, config.memoryLimit());
        this.objects = new ObjectAllocator(pages, new ObjectAllocator.Zeroing() {
            @Override
            public void zeroBytes(long offset, long length) {
                segment.asSlice(GUARD + offset, length).fill((byte) 0);
            }

            @Override
            public void discardPages(long offset, long length) {
                Heap.this.discardPages(offset, length);
            }
        });
        this.region = new Region(Region.Kind.HEAP, segment.asSlice(GUARD, size), true, config.name());
        this.view = new HeapView(this);
        this.lockWords = new HeapLockWords(config.name(), segment);
    }

    /**
     * Creates a heap: reserves its address range (committed lazily), maps the backing file over
     * the heap part if there is one (created or grown sparsely to {@code size} bytes; the guards
     * stay private), and starts with nothing allocated.
     */
    public static Heap create(HeapConfig config) throws HeapException {
        config.validate();
        long length = config.size() + 2 * GUARD;
        Path file = config.backingFile().orElse(null);
        NativeMemory.Mapping mapping = NativeMemory.reserve(length, file, GUARD, config.size());
        Arena arena = config.lifetime() == HeapConfig.Lifetime.CLOSEABLE ? Arena.ofShared() : Arena.ofAuto();
        // The cleanup captures only the mapping record, never the segment: an automatic arena
        // unmaps once nothing references the segment, and the heap may be one of those things.
        MemorySegment segment = MemorySegment.ofAddress(mapping.address()).reinterpret(length, arena, _ -> NativeMemory.unmap(mapping));
        return new Heap(config, arena, segment);
    }

    /** The memory: {@code GUARD + size + GUARD} bytes; heap offset {@code o} is at {@code GUARD + o}. */
    public MemorySegment segment() {
        checkOpen();
        return segment;
    }

    /**
     * The memory without the closed check of {@link #segment()}: for callers on a hot path that
     * check {@link #isClosed()} themselves (and turn the {@link IllegalStateException} of an access
     * racing with {@link #close()} into their own error).
     */
    MemorySegment memory() {
        return segment;
    }

    /** The heap's lock words as the lock family held {@code kflex_spin_lock}s are recorded in. */
    HeapLockWords lockWords() {
        return lockWords;
    }

    /** Bytes in the heap: a power of two. */
    public long size() { return size; }

    /** {@code size - 1}: the low bits of a pointer that are the heap offset. */
    public long mask() { return mask; }

    /** The upper 32 bits of user-view pointers, which are {@code userBase | offset}. */
    public long userBase() { return config.userBase(); }

    /** Whether engines check page allocation on every heap access ({@link #checkAccess}). */
    public boolean checked() { return config.checked(); }

    public HeapConfig config() { return config; }

    public String name() { return config.name(); }

    /** Whether the page holding heap offset {@code offset} is allocated; false outside the heap. Lock-free. */
    public boolean isAllocated(long offset) {
        return pages.isAllocated(offset >> PageAllocator.PAGE_SHIFT);
    }

    /**
     * The checked mode's test of one heap access of {@code size} bytes at heap offset
     * {@code pointer & mask} plus the displacement {@code off}: returns quietly when every byte is
     * on an allocated page, else throws an {@link ExtensionFault} naming the address (the engine
     * adds the instruction).
     */
    public void checkAccess(long pointer, long off, int size) {
        long offset = (pointer & mask) + off;
        if (isAllocated(offset) && isAllocated(offset + size - 1)) return;
        throw new ExtensionFault(String.format("checked heap %s: %d-byte access at heap offset %s (pointer 0x%x%+d) touches a page that is not allocated",
                config.name(), size, offset < 0 ? "-0x" + Long.toHexString(-offset) : "0x" + Long.toHexString(offset), pointer, off));
    }

    /** The user-view pointer of heap offset {@code offset}. */
    public long userPointer(long offset) {
        return config.userBase() | (offset & 0xffff_ffffL);
    }

    /**
     * {@code bpf_arena_alloc_pages}: {@code count} zeroed pages at {@code addrHint} (a user-view
     * pointer or a heap offset, page aligned; the pages must all be free) or, when the hint is 0,
     * wherever there is room. Returns the user-view pointer of the first page, or 0 when that is
     * impossible (no room, a taken or misaligned hint, the memory limit).
     */
    public long allocPages(long addrHint, int count) {
        checkOpen();
        if (count <= 0) return 0;
        long at = -1;
        if (addrHint != 0) {
            long offset = addrHint & 0xffff_ffffL;
            if ((offset & (PAGE_SIZE - 1)) != 0 || offset >= size) return 0;
            at = offset >>> PageAllocator.PAGE_SHIFT;
        }
        long first = pages.allocate(at, count, false);
        if (first < 0) return 0;
        long offset = first << PageAllocator.PAGE_SHIFT;
        // Pages are zero unless an unchecked extension wrote to them while they were free.
        discardPages(offset, (long) count << PageAllocator.PAGE_SHIFT);
        return userPointer(offset);
    }

    /**
     * {@code bpf_arena_free_pages}: frees the pages among {@code count} pages from
     * {@code userPtr} (rounded down to a page) that {@link #allocPages} handed out, and returns
     * their memory to the system. Pages of the object allocator and free pages are left alone.
     */
    public void freePages(long userPtr, int count) {
        checkOpen();
        if (userPtr == 0 || count <= 0) return;
        long first = (userPtr & 0xffff_ffffL) >>> PageAllocator.PAGE_SHIFT;
        pages.free(first, count, false, (p, n) -> discardPages((long) p << PageAllocator.PAGE_SHIFT, (long) n << PageAllocator.PAGE_SHIFT));
    }

    /**
     * {@code kflex_malloc}: {@code size} zeroed bytes, aligned to their size class (16 B … 2 KiB)
     * or to a page for larger sizes. Returns a user-view pointer, or 0 when {@code size} is 0 or
     * the heap or its memory limit is exhausted.
     */
    public long malloc(long size) {
        checkOpen();
        if (size <= 0 || size > this.size) return 0;
        long offset = objects.malloc(size);
        return offset < 0 ? 0 : userPointer(offset);
    }

    /** {@code kflex_free}: ignores NULL, and anything else that is not a live object. */
    public void free(long userPtr) {
        checkOpen();
        if (userPtr == 0) return;
        long offset = userPtr & 0xffff_ffffL;
        if (offset < size) objects.free(offset);
    }

    /** Bytes usable in the object {@code userPtr} points to (its size class or pages), 0 if it is not a live object. */
    public long usableSize(long userPtr) {
        checkOpen();
        long offset = userPtr & 0xffff_ffffL;
        return userPtr == 0 || offset >= size ? 0 : objects.usableSize(offset);
    }

    /** Bytes of pages allocated now, by both allocators: what the memory limit bounds. */
    public long allocatedBytes() {
        return pages.allocatedPages() << PageAllocator.PAGE_SHIFT;
    }

    /**
     * Bytes of the heap's memory (guards included) resident now: what the heap really costs, as
     * opposed to what is allocated. -1 if the system cannot tell.
     */
    public long residentBytes() {
        checkOpen();
        return NativeMemory.residentBytes(segment);
    }

    /** Bytes the allocators may hand out at once. */
    public long memoryLimit() {
        return pages.limitPages() << PageAllocator.PAGE_SHIFT;
    }

    /** The host's typed view. */
    public HeapView view() {
        checkOpen();
        return view;
    }

    /** The heap as a region ({@code [GUARD, GUARD + size)}) for the generic address-space path. */
    public Region region() {
        checkOpen();
        return region;
    }

    /**
     * Shows the heap in every address space over {@code shared}, at the window of its user base,
     * so that user-view pointers work as plain addresses there. Returns the window's base.
     */
    public long mapInto(SharedRegions shared) {
        return shared.mapAt(config.userBase() >>> 32, region());
    }

    public boolean isClosed() { return closed; }

    /**
     * Closes the heap: every later operation throws {@link IllegalStateException}. Memory goes
     * back as {@link HeapConfig.Lifetime} says; a backing file keeps its data. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        objects.clear();
        pages.clear();
        if (config.lifetime() == HeapConfig.Lifetime.CLOSEABLE) {
            closeArena(); // unmaps through the segment's cleanup
        } else {
            NativeMemory.decommit(segment);
        }
    }

    @Override
    public String toString() {
        return String.format("Heap[%s, %d bytes at 0x%x%s%s]", config.name(), size, config.userBase(),
                config.checked() ? ", checked" : "", closed ? ", closed" : "");
    }

    /** Closes the shared arena, waiting out system calls that hold it for their few microseconds. */
    private void closeArena() {
        while (arena.scope().isAlive()) {
            try {
                arena.close();
            } catch (IllegalStateException heldByACall) {
                Thread.onSpinWait();
            }
        }
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("heap " + config.name() + " is closed");
    }

    private void discardPages(long offset, long length) {
        boolean fileBacked = config.backingFile().isPresent();
        MemorySegment range = segment.asSlice(GUARD + offset, length);
        boolean zeroed = fileBacked ? NativeMemory.punch(range) : NativeMemory.decommit(range);
        if (!zeroed) range.fill((byte) 0);
    }
}
