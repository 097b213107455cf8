package io.kflex.heap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterProperty;

/**
 * Random sequences of kflex_malloc/kflex_free/bpf_arena_alloc_pages/bpf_arena_free_pages (and
 * frees of garbage) never hand out overlapping memory, stay inside the heap, keep to the memory
 * limit, and give back zeroed memory whose contents survive until it is freed.
 */
class AllocatorProperties {
    private static final long PAGE = Heap.PAGE_SIZE;
    private static final long HEAP_SIZE = 64 * PAGE;

    sealed interface Op permits Malloc, Free, FreeAgain, FreeGarbage, AllocPages, FreePages {}

    record Malloc(long size) implements Op {}

    record Free(int pick) implements Op {}

    /** Frees a pointer that was freed before (a double free, unless it was handed out again). */
    record FreeAgain(int pick) implements Op {}

    record FreeGarbage(long value) implements Op {}

    record AllocPages(int count, int hintPage) implements Op {}

    record FreePages(int pick) implements Op {}

    /** A live block: where, how long, and the tag written into it. */
    record Block(long pointer, long length, boolean pages, long tag) {
        long offset() { return pointer & 0xffff_ffffL; }
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        // Many objects of the largest classes (two or four to a slab), so slabs fill, empty and retire.
        Arbitrary<Op> malloc = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.longs().between(1, 2048)),
                net.jqwik.api.Tuple.of(3, Arbitraries.longs().between(1025, 2048)),
                net.jqwik.api.Tuple.of(1, Arbitraries.longs().between(2049, 5 * PAGE)),
                net.jqwik.api.Tuple.of(1, Arbitraries.of(0L, -1L, HEAP_SIZE + 1, 1L << 40))).map(Malloc::new);
        Arbitrary<Op> free = Arbitraries.integers().between(0, 1000).map(Free::new);
        Arbitrary<Op> again = Arbitraries.integers().between(0, 1000).map(FreeAgain::new);
        Arbitrary<Op> garbage = Arbitraries.longs().map(FreeGarbage::new);
        Arbitrary<Op> pages = net.jqwik.api.Combinators.combine(Arbitraries.integers().between(0, 5), Arbitraries.integers().between(-1, 70))
                .as(AllocPages::new);
        Arbitrary<Op> freePages = Arbitraries.integers().between(0, 1000).map(FreePages::new);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, malloc), net.jqwik.api.Tuple.of(4, free), net.jqwik.api.Tuple.of(1, garbage), net.jqwik.api.Tuple.of(2, again),
                net.jqwik.api.Tuple.of(2, pages), net.jqwik.api.Tuple.of(2, freePages)).list().ofMaxSize(200);
    }

    private Heap heap;

    @AfterProperty
    void close() {
        if (heap != null) heap.close();
    }

    @Property(tries = 150)
    void allocationsNeverOverlapAndRespectTheLimit(@ForAll("ops") List<Op> ops, @ForAll @IntRange(min = 4, max = 64) int limitPages) throws HeapException {
        if (heap != null) heap.close();
        heap = Heap.create(HeapConfig.ofSize(HEAP_SIZE).withMemoryLimit(limitPages * PAGE));
        HeapView view = heap.view();
        List<Block> live = new ArrayList<>();
        List<Long> freed = new ArrayList<>();
        long tags = 0;
        for (Op op : ops) {
            switch (op) {
                case Malloc(long size) -> {
                    long before = heap.allocatedBytes();
                    long p = heap.malloc(size);
                    if (size <= 0 || size > HEAP_SIZE) {
                        assertThat(p).isZero();
                    } else if (p == 0) {
                        if (size <= ObjectAllocator.MAX_SMALL) {
                            assertThat(before + PAGE).as("a small object fails only at the limit").isGreaterThan(limitPages * PAGE);
                        }
                    } else {
                        long usable = heap.usableSize(p);
                        assertThat(usable).isGreaterThanOrEqualTo(size);
                        long align = size <= ObjectAllocator.MAX_SMALL ? Long.highestOneBit(usable) : PAGE;
                        assertThat(p % align).isZero();
                        live.add(admit(view, new Block(p, usable, false, ++tags)));
                    }
                }
                case Free(int pick) -> {
                    Block b = pick(live, pick, false);
                    if (b != null) {
                        check(view, b);
                        heap.free(b.pointer());
                        live.remove(b);
                        freed.add(b.pointer());
                        assertThat(heap.usableSize(b.pointer())).isZero();
                    }
                }
                case FreeAgain(int pick) -> {
                    if (!freed.isEmpty()) {
                        long p = freed.get(pick % freed.size());
                        if (live.stream().noneMatch(b -> b.pointer() == p)) heap.free(p);
                    }
                }
                case FreeGarbage(long value) -> {
                    // Harmless unless it hits a live object's start exactly, which would be a real free.
                    if (live.stream().noneMatch(b -> !b.pages() && b.offset() == (value & 0xffff_ffffL))) heap.free(value);
                }
                case AllocPages(int count, int hintPage) -> {
                    long hint = hintPage < 0 ? 0 : heap.userBase() | hintPage * PAGE;
                    long p = heap.allocPages(hint, count);
                    if (p != 0) {
                        if (hint != 0) assertThat(p).isEqualTo(hint);
                        live.add(admit(view, new Block(p, count * PAGE, true, ++tags)));
                    }
                }
                case FreePages(int pick) -> {
                    Block b = pick(live, pick, true);
                    if (b != null) {
                        check(view, b);
                        heap.freePages(b.pointer(), (int) (b.length() / PAGE));
                        live.remove(b);
                        assertThat(heap.isAllocated(b.offset())).isFalse();
                    }
                }
            }
            assertThat(heap.allocatedBytes()).isLessThanOrEqualTo(limitPages * PAGE);
        }
        // Every live block is inside the heap, on allocated pages, disjoint from the others, intact.
        live.sort(Comparator.comparingLong(Block::offset));
        for (int i = 0; i < live.size(); i++) {
            Block b = live.get(i);
            assertThat(b.pointer() & ~0xffff_ffffL).isEqualTo(heap.userBase());
            assertThat(b.offset() + b.length()).isLessThanOrEqualTo(HEAP_SIZE);
            assertThat(heap.isAllocated(b.offset())).isTrue();
            assertThat(heap.isAllocated(b.offset() + b.length() - 1)).isTrue();
            if (i > 0) assertThat(live.get(i - 1).offset() + live.get(i - 1).length()).as("overlap").isLessThanOrEqualTo(b.offset());
            check(view, b);
        }
    }

    private static Block pick(List<Block> live, int pick, boolean pages) {
        List<Block> candidates = live.stream().filter(b -> b.pages() == pages).toList();
        return candidates.isEmpty() ? null : candidates.get(pick % candidates.size());
    }

    /** Checks the block is zeroed, then tags its first and last 8 bytes. */
    private static Block admit(HeapView view, Block b) {
        assertThat(view.getU64(b.pointer())).as("fresh memory is zero").isZero();
        assertThat(view.getU64(b.pointer() + b.length() - 8)).isZero();
        view.setU64(b.pointer(), b.tag());
        view.setU64(b.pointer() + b.length() - 8, ~b.tag());
        return b;
    }

    private static void check(HeapView view, Block b) {
        assertThat(view.getU64(b.pointer())).as("block %s intact", b).isEqualTo(b.tag());
        assertThat(view.getU64(b.pointer() + b.length() - 8)).as("block %s intact", b).isEqualTo(~b.tag());
    }
}
