package io.kflex.heap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HeapTest {
    private static final long PAGE = Heap.PAGE_SIZE;

    @Test
    void layoutPutsTheHeapBetweenTwoGuards() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20))) {
            assertThat(heap.size()).isEqualTo(1 << 20);
            assertThat(heap.mask()).isEqualTo((1 << 20) - 1);
            assertThat(heap.segment().byteSize()).isEqualTo((1 << 20) + 2 * Heap.GUARD);
            assertThat(heap.userBase()).isEqualTo(HeapConfig.DEFAULT_USER_BASE);
            assertThat(heap.checked()).isFalse();
            // Guards and untouched pages read as zeros.
            assertThat(heap.segment().get(ValueLayout.JAVA_LONG, 0)).isZero();
            assertThat(heap.segment().get(ValueLayout.JAVA_LONG, heap.segment().byteSize() - 8)).isZero();
            Region r = heap.region();
            assertThat(r.kind()).isEqualTo(Region.Kind.HEAP);
            assertThat(r.size()).isEqualTo(heap.size());
            r.segment().set(ValueLayout.JAVA_BYTE, 5, (byte) 7);
            assertThat(heap.segment().get(ValueLayout.JAVA_BYTE, Heap.GUARD + 5)).isEqualTo((byte) 7);
        }
    }

    @Test
    void everyPointerValueStaysInsideTheSegment() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 16))) {
            long[] pointers = {0, -1, Long.MIN_VALUE, Long.MAX_VALUE, heap.userBase() | 0xffff_ffffL, 0x1234_5678_9abc_def0L};
            for (long p : pointers) {
                for (int off : new int[] {Short.MIN_VALUE, -1, 0, 1, Short.MAX_VALUE}) {
                    long at = Heap.GUARD + (p & heap.mask()) + off;
                    assertThat(at).isBetween(0L, heap.segment().byteSize() - 8);
                    heap.segment().get(ValueLayout.JAVA_LONG_UNALIGNED, at);
                }
            }
        }
    }

    @Test
    void badConfigurationsAreRejectedWithAReason() {
        assertThatThrownBy(() -> Heap.create(HeapConfig.ofSize(3000))).isInstanceOf(HeapException.class).hasMessageContaining("power of two");
        assertThatThrownBy(() -> Heap.create(HeapConfig.ofSize(1L << 33))).isInstanceOf(HeapException.class).hasMessageContaining("4 GiB");
        assertThatThrownBy(() -> Heap.create(HeapConfig.ofSize(1 << 20).withUserBase(0x1234_0000L))).isInstanceOf(HeapException.class).hasMessageContaining("aligned");
        assertThatThrownBy(() -> Heap.create(HeapConfig.ofSize(1 << 20).withUserBase(0))).isInstanceOf(HeapException.class);
    }

    @Test
    void anObjectsDeclarationGivesNameSizeAndUserBase() throws Exception {
        var declared = new io.kflex.loader.HeapDeclaration("kflex_heap_map", 3, 1 << 20, 0);
        try (Heap heap = Heap.create(HeapConfig.forDeclaration(declared))) {
            assertThat(heap.name()).isEqualTo("kflex_heap_map");
            assertThat(heap.size()).isEqualTo(1 << 20);
            assertThat(heap.userBase()).isEqualTo(HeapConfig.DEFAULT_USER_BASE);
        }
        try (Heap heap = Heap.create(HeapConfig.forDeclaration(new io.kflex.loader.HeapDeclaration("arena", 0, 1 << 16, 1L << 44)))) {
            assertThat(heap.userBase()).isEqualTo(1L << 44);
            assertThat(heap.malloc(8) >>> 32).isEqualTo(1L << 12);
        }
        assertThatThrownBy(() -> Heap.create(HeapConfig.forDeclaration(new io.kflex.loader.HeapDeclaration("arena", 0, 1 << 16, (1L << 44) | 0x1000))))
                .isInstanceOf(HeapException.class).hasMessageContaining("4 GiB aligned");
    }

    @Test
    void theLargestHeapCostsNothingUntilTouched() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1L << 32))) {
            long p = heap.allocPages(0, 1);
            assertThat(p).isNotZero();
            heap.view().setU64(p, 42);
            assertThat(heap.view().getU64(p)).isEqualTo(42);
            assertThat(heap.mask()).isEqualTo(0xffff_ffffL);
        }
    }

    @Test
    void allocPagesFollowsLinuxArenaSemantics() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(16 * PAGE))) {
            long a = heap.allocPages(0, 2);
            assertThat(a & ~0xffff_ffffL).isEqualTo(heap.userBase());
            assertThat(a & (PAGE - 1)).isZero();
            assertThat(a & 0xffff_ffffL).as("automatic placement avoids page 0").isNotZero();
            assertThat(heap.isAllocated(a & heap.mask())).isTrue();
            assertThat(heap.isAllocated((a & heap.mask()) + 2 * PAGE)).isFalse();

            // A hint places exactly there or fails; offsets and user pointers both work.
            long at5 = heap.allocPages(5 * PAGE, 1);
            assertThat(at5).isEqualTo(heap.userBase() | 5 * PAGE);
            assertThat(heap.allocPages(heap.userBase() | 5 * PAGE, 1)).as("taken").isZero();
            assertThat(heap.allocPages(4 * PAGE, 2)).as("overlaps a taken page").isZero();
            assertThat(heap.allocPages(7 * PAGE + 8, 1)).as("misaligned").isZero();
            assertThat(heap.allocPages(15 * PAGE, 2)).as("runs past the end").isZero();
            assertThat(heap.allocPages(0, 0)).isZero();
            assertThat(heap.allocPages(0, 17)).isZero();

            // Pages come zeroed even if somebody scribbled on them while they were free.
            heap.view().setU64(9 * PAGE, -1);
            long at9 = heap.allocPages(9 * PAGE, 1);
            assertThat(heap.view().getU64(at9)).isZero();

            heap.view().setU64(at5, 99);
            heap.freePages(at5, 1);
            assertThat(heap.isAllocated(5 * PAGE)).isFalse();
            assertThat(heap.view().getU64(5 * PAGE)).as("freed pages are zeroed").isZero();
            assertThat(heap.allocPages(5 * PAGE, 1)).isEqualTo(at5);

            // Everything fits until it does not: 16 pages in all, page 0 last.
            heap.freePages(heap.userBase(), 16);
            assertThat(heap.allocatedBytes()).isZero();
            assertThat(heap.allocPages(0, 16)).isEqualTo(heap.userBase());
            assertThat(heap.allocPages(0, 1)).isZero();
        }
    }

    @Test
    void theMemoryLimitBoundsBothAllocators() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20).withMemoryLimit(4 * PAGE))) {
            assertThat(heap.memoryLimit()).isEqualTo(4 * PAGE);
            long pages = heap.allocPages(0, 3);
            assertThat(pages).isNotZero();
            assertThat(heap.allocPages(0, 2)).isZero();
            long small = heap.malloc(100); // takes the fourth page as a slab
            assertThat(small).isNotZero();
            assertThat(heap.malloc(3000)).as("a large object needs a page, none left").isZero();
            assertThat(heap.allocatedBytes()).isEqualTo(4 * PAGE);
            heap.freePages(pages, 3);
            assertThat(heap.malloc(3 * PAGE)).isNotZero();
        }
    }

    @Test
    void mallocAndFreeReuseMemoryAndIgnoreGarbage() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20))) {
            long a = heap.malloc(64);
            long b = heap.malloc(64);
            assertThat(a).isNotEqualTo(b);
            assertThat(heap.usableSize(a)).isEqualTo(64);
            assertThat(a % 64).isZero();
            heap.view().setU64(a, 7);
            heap.free(a);
            assertThat(heap.usableSize(a)).isZero();
            heap.free(a);                 // double free: ignored
            heap.free(0);                 // NULL
            heap.free(b + 8);             // inside an object
            heap.free(heap.userBase() | 0x7fff_0000L); // outside the heap
            heap.free(0xdead_beefL);
            assertThat(heap.usableSize(b)).isEqualTo(64);
            long c = heap.malloc(60);
            assertThat(c).as("freed memory is reused").isEqualTo(a);
            assertThat(heap.view().getU64(c)).as("and zeroed").isZero();

            assertThat(heap.malloc(0)).isZero();
            assertThat(heap.malloc(-1)).isZero();
            assertThat(heap.malloc(1L << 40)).isZero();
            long big = heap.malloc(10_000);
            assertThat(big & (PAGE - 1)).isZero();
            assertThat(heap.usableSize(big)).isEqualTo(3 * PAGE);
            heap.freePages(big, 3); // the page API cannot pull pages from under the allocator
            assertThat(heap.usableSize(big)).isEqualTo(3 * PAGE);
            heap.free(big);
            assertThat(heap.usableSize(big)).isZero();
            assertThat(heap.isAllocated(big & heap.mask())).isFalse();
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(10)
    void aDoubleFreeDoesNotMakeRoomThatIsNotThere() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20))) {
            long[] slab = new long[(int) (PAGE / 64)];
            for (int i = 0; i < slab.length; i++) slab[i] = heap.malloc(64);
            assertThat(slab[slab.length - 1] - slab[0]).as("one full slab").isEqualTo(PAGE - 64);
            heap.free(slab[3]);
            heap.free(slab[3]);
            assertThat(heap.malloc(64)).isEqualTo(slab[3]);
            long next = heap.malloc(64);
            assertThat(next & ~(PAGE - 1)).as("a new slab").isNotEqualTo(slab[0] & ~(PAGE - 1));
        }
    }

    @Test
    void emptySlabsGiveTheirPagesBack() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20))) {
            long[] objects = new long[1000];
            for (int i = 0; i < objects.length; i++) objects[i] = heap.malloc(128);
            assertThat(heap.allocatedBytes()).isGreaterThanOrEqualTo(1000 * 128);
            for (long o : objects) heap.free(o);
            assertThat(heap.allocatedBytes()).as("at most the current slab stays").isLessThanOrEqualTo(PAGE);
        }
    }

    @Test
    void checkedModeFindsAccessesToUnallocatedPages() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20).withChecked(true))) {
            assertThat(heap.checked()).isTrue();
            long p = heap.allocPages(0, 1);
            heap.checkAccess(p, 0, 8);
            heap.checkAccess(p, (int) PAGE - 8, 8);
            assertThatThrownBy(() -> heap.checkAccess(p, (int) PAGE - 4, 8)).isInstanceOf(ExtensionFault.class)
                    .hasMessageContaining("not allocated").hasMessageContaining(Long.toHexString((p & heap.mask()) + PAGE - 4));
            assertThatThrownBy(() -> heap.checkAccess(0, -16, 8)).isInstanceOf(ExtensionFault.class).hasMessageContaining("-0x10");
            assertThat(heap.isAllocated(-1)).isFalse();
            assertThat(heap.isAllocated(heap.size())).isFalse();
        }
    }

    @Test
    void operationsAfterCloseFailCleanly() throws Exception {
        Heap heap = Heap.create(HeapConfig.ofSize(1 << 20));
        long p = heap.malloc(32);
        HeapView view = heap.view();
        view.setU32(p, 5);
        heap.close();
        heap.close(); // idempotent
        assertThat(heap.isClosed()).isTrue();
        assertThatThrownBy(() -> heap.malloc(16)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> heap.allocPages(0, 1)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> heap.free(p)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> view.getU32(p)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(heap::segment).isInstanceOf(IllegalStateException.class);
        assertThat(heap.isAllocated(p & heap.mask())).isFalse();
    }

    @Test
    void aCloseableHeapIsUnmappedAtOnce() throws Exception {
        Heap heap = Heap.create(HeapConfig.ofSize(1 << 16).withLifetime(HeapConfig.Lifetime.CLOSEABLE));
        var segment = heap.segment();
        segment.set(ValueLayout.JAVA_INT, Heap.GUARD, 1);
        heap.close();
        assertThatThrownBy(() -> segment.get(ValueLayout.JAVA_INT, Heap.GUARD)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void closingACloseableHeapWhileOtherThreadsAllocateIsClean() throws Exception {
        for (int round = 0; round < 20; round++) {
            Heap heap = Heap.create(HeapConfig.ofSize(1 << 20).withLifetime(HeapConfig.Lifetime.CLOSEABLE));
            java.util.concurrent.atomic.AtomicReference<Throwable> unexpected = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(2);
            java.util.List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                threads.add(Thread.ofPlatform().start(() -> {
                    running.countDown();
                    try {
                        while (true) {
                            long p = heap.allocPages(0, 2);
                            heap.freePages(p, 2);
                            heap.free(heap.malloc(3000));
                        }
                    } catch (IllegalStateException closed) {
                        // the heap was closed under us: the expected end
                    } catch (Throwable e) {
                        unexpected.set(e);
                    }
                }));
            }
            running.await();
            heap.close();
            for (Thread t : threads) t.join();
            assertThat(unexpected.get()).isNull();
        }
    }

    @Test
    void userPointersAreAddressesWhenTheHeapIsShared() throws Exception {
        SharedRegions shared = new SharedRegions();
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20))) {
            assertThat(heap.mapInto(shared)).isEqualTo(heap.userBase());
            long p = heap.malloc(16);
            AddressSpace memory = new AddressSpace(shared);
            memory.store(p + 8, 8, 0x1122_3344_5566_7788L);
            assertThat(heap.view().getU64(p + 8)).isEqualTo(0x1122_3344_5566_7788L);
            assertThatThrownBy(() -> memory.load(heap.userBase() + heap.size(), 1)).isInstanceOf(ExtensionFault.class);
        }
    }

    @Test
    void theHostViewAcceptsOffsetsAndPointersAndRejectsEverythingElse() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 16))) {
            HeapView view = heap.view();
            view.setU8(100, 0x1ff);
            view.setU16(102, 0x1_2345);
            view.setU32(104, 0x1_8765_4321L);
            view.setU64(heap.userBase() | 112, -2);
            assertThat(view.getU8(heap.userBase() | 100)).isEqualTo(0xff);
            assertThat(view.getU16(102)).isEqualTo(0x2345);
            assertThat(view.getU32(104)).isEqualTo(0x8765_4321L);
            assertThat(view.getU64(112)).isEqualTo(-2);
            assertThat(heap.segment().get(ValueLayout.JAVA_BYTE, Heap.GUARD + 104)).as("little-endian").isEqualTo((byte) 0x21);
            view.write(200, new byte[] {1, 2, 3});
            assertThat(view.read(heap.userBase() | 200, 4)).containsExactly(1, 2, 3, 0);
            assertThat(view.compareAndSetU64(112, -2, 5)).isTrue();
            assertThat(view.compareAndSetU64(112, -2, 6)).isFalse();
            assertThat(view.getAndAddU64(112, 10)).isEqualTo(5);
            assertThat(view.compareAndSetU32(104, 0x8765_4321L, 1)).isTrue();
            view.setPointer(120, 300);
            assertThat(view.getPointer(120)).isEqualTo(heap.userBase() | 300);
            view.setPointer(120, 0);
            assertThat(view.getPointer(120)).isZero();

            assertThatThrownBy(() -> view.getU8(0x0200_0000_0000_0000L)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("neither");
            assertThatThrownBy(() -> view.getU8(1 << 16)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("past the end");
            assertThatThrownBy(() -> view.getU64((1 << 16) - 4)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("run past the end");
            assertThatThrownBy(() -> view.read(-1L, 4)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> view.compareAndSetU64(116, 0, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
            assertThatThrownBy(() -> view.lock(2)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("aligned");
        }
    }

    @Test
    void checkedHeapsCheckLockWordsToo() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 20).withChecked(true))) {
            var lock = HeapKfuncs.forHeap(heap).get(HeapKfuncs.SPIN_LOCK);
            var inv = new io.kflex.engine.Invocation(new AddressSpace());
            assertThatThrownBy(() -> lock.call(inv, heap.userBase() | 0x8000, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not allocated");
            long p = heap.malloc(16);
            lock.call(inv, p, 0, 0, 0, 0);
            assertThat(inv.resources().size()).isEqualTo(1);
            inv.resources().releaseAll();
        }
    }
}
