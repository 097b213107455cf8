package io.kflex.heap;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Threads allocate, fill, hand over and free objects concurrently (many frees happen on another
 * thread than the allocation); every object keeps its contents while it lives, no two live
 * objects overlap, and once everything is freed the memory is back.
 */
@Timeout(120)
class AllocatorStressTest {
    private static final int THREADS = 4;
    private static final int OPERATIONS = 40_000;

    record Block(long pointer, long length, long tag) {}

    @Test
    void concurrentMallocAndFreeStayConsistent() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 26))) {
            HeapView view = heap.view();
            ConcurrentLinkedQueue<Block> handover = new ConcurrentLinkedQueue<>();
            List<List<Block>> kept = new ArrayList<>();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int id = t;
                List<Block> mine = new ArrayList<>();
                kept.add(mine);
                threads.add(Thread.ofPlatform().start(() -> {
                    SplittableRandom random = new SplittableRandom(id);
                    try {
                        start.await();
                        for (int i = 0; i < OPERATIONS && failure.get() == null; i++) {
                            int dice = random.nextInt(100);
                            if (dice < 50 || mine.isEmpty()) {
                                long size = random.nextInt(100) < 95 ? 1 + random.nextInt(2048) : 2049 + random.nextInt(12_000);
                                long p = heap.malloc(size);
                                if (p == 0) throw new AssertionError("malloc(" + size + ") failed in a heap with room");
                                long tag = ((long) id << 48) | i;
                                Block b = new Block(p, heap.usableSize(p), tag);
                                if (b.length() < size) throw new AssertionError("usable size " + b.length() + " < " + size);
                                if (view.getU64(p) != 0 || view.getU64(p + b.length() - 8) != 0) throw new AssertionError("not zeroed: " + b);
                                view.setU64(p, tag);
                                view.setU64(p + b.length() - 8, ~tag);
                                mine.add(b);
                            } else if (dice < 70) {
                                handover.add(mine.remove(random.nextInt(mine.size())));
                            } else {
                                Block b = dice < 85 ? handover.poll() : null;
                                if (b == null) b = mine.remove(random.nextInt(mine.size()));
                                check(view, b);
                                heap.free(b.pointer());
                            }
                        }
                    } catch (Throwable e) {
                        failure.compareAndSet(null, e);
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) t.join();
            assertThat(failure.get()).isNull();

            List<Block> live = new ArrayList<>(handover);
            kept.forEach(live::addAll);
            live.sort(Comparator.comparingLong(Block::pointer));
            for (int i = 0; i < live.size(); i++) {
                Block b = live.get(i);
                check(view, b);
                assertThat(heap.usableSize(b.pointer())).isEqualTo(b.length());
                if (i > 0) {
                    Block prev = live.get(i - 1);
                    assertThat(prev.pointer() + prev.length()).as("%s overlaps %s", prev, b).isLessThanOrEqualTo(b.pointer());
                }
            }
            for (Block b : live) heap.free(b.pointer());
            // Only the current slab of each size class may stay.
            assertThat(heap.allocatedBytes()).isLessThanOrEqualTo(8 * Heap.PAGE_SIZE);
        }
    }

    private static void check(HeapView view, Block b) {
        if (view.getU64(b.pointer()) != b.tag() || view.getU64(b.pointer() + b.length() - 8) != ~b.tag()) {
            throw new AssertionError("contents of " + b + " changed while it was live");
        }
    }
}
