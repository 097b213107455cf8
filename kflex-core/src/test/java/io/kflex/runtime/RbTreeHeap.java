package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The host's side of rb_tree.bpf.o's tree: the same layout (rb_tree.bpf.c's header comment), read
 * and, for tests that break it on purpose, written through the heap view under the tree's lock.
 */
record RbTreeHeap(HeapView heap, long tree) {
    static final long LOCK = 0, ROOT = 8, COUNT = 16;
    static final long LEFT = 0, RIGHT = 8, PARENT = 16, KEY = 24, VALUE = 32, COLOR = 40;
    static final long RED = 0, BLACK = 1;

    /** rb_validate's answers. */
    static final int OK = 0, E_ROOT = 1, E_COLOR = 2, E_RED_RED = 3, E_BLACK_HEIGHT = 4, E_ORDER = 5, E_LINK = 6, E_COUNT = 7, E_WALK = 8;

    /** The tree the extension published in .bss (its only .bss global, so at offset 0). */
    static RbTreeHeap of(Extension ext) {
        BpfMap bss = ext.maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst().orElseThrow();
        long tree = ByteBuffer.wrap(bss.lookup(new byte[4]).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(tree).as("the extension published its tree").isNotZero();
        return new RbTreeHeap(ext.maps().heap().view(), tree);
    }

    long root() { return heap.getPointer(tree + ROOT); }

    long count() { return heap.getU64(tree + COUNT); }

    long left(long node) { return heap.getPointer(node + LEFT); }

    long right(long node) { return heap.getPointer(node + RIGHT); }

    long parent(long node) { return heap.getPointer(node + PARENT); }

    long key(long node) { return heap.getU64(node + KEY); }

    long color(long node) { return heap.getU64(node + COLOR); }

    /** The {key, value} pairs in order, walked by the host under the tree's lock. */
    List<long[]> entries() {
        return heap.withLock(tree + LOCK, () -> {
            List<long[]> out = new ArrayList<>();
            inOrder(root(), out);
            return out;
        });
    }

    private void inOrder(long node, List<long[]> out) {
        if (node == 0) return;
        inOrder(left(node), out);
        out.add(new long[] {key(node), heap.getU64(node + VALUE)});
        inOrder(right(node), out);
    }

    /**
     * The host's own check of the red-black invariants, independent of rb_validate: returns the
     * black height, or fails the test naming the broken rule.
     */
    long checkInvariants() {
        return heap.withLock(tree + LOCK, () -> {
            long root = root();
            if (root == 0) return 0L;
            assertThat(color(root)).as("the root is black").isEqualTo(BLACK);
            assertThat(parent(root)).as("the root has no parent").isZero();
            long[] size = {0};
            long height = blackHeight(root, size);
            assertThat(size[0]).as("count").isEqualTo(count());
            return height;
        });
    }

    private long blackHeight(long node, long[] size) {
        if (node == 0) return 0;
        size[0]++;
        long l = left(node), r = right(node);
        for (long child : new long[] {l, r}) {
            if (child == 0) continue;
            assertThat(parent(child)).as("parent link of %x", child).isEqualTo(node);
            if (color(node) == RED) assertThat(color(child)).as("red %x has a red child", node).isEqualTo(BLACK);
        }
        if (l != 0) assertThat(Long.compareUnsigned(key(l), key(node))).as("left key smaller").isNegative();
        if (r != 0) assertThat(Long.compareUnsigned(key(r), key(node))).as("right key larger").isPositive();
        long hl = blackHeight(l, size), hr = blackHeight(r, size);
        assertThat(hl).as("black heights below %x", node).isEqualTo(hr);
        return hl + (color(node) == BLACK ? 1 : 0);
    }

    /** The node holding {@code key}, or 0. */
    long find(long key) {
        long n = root();
        while (n != 0 && key(n) != key) n = Long.compareUnsigned(key, key(n)) < 0 ? left(n) : right(n);
        return n;
    }

    /** Overwrites the 64-bit field at {@code node + field} under the tree's lock; returns the old value. */
    long poke(long node, long field, long value) {
        return heap.withLock(tree + LOCK, () -> {
            long old = heap.getU64(node + field);
            heap.setU64(node + field, value);
            return old;
        });
    }
}
