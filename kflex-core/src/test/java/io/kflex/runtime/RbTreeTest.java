package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.runtime.RbTreeOps.Validation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * rb_tree.bpf.o: the red-black tree's programs on both engines, its validator against trees the
 * host breaks on purpose, and the host reading the same tree through its heap view.
 * {@link RbTreeProperties} checks random operation sequences against a {@link TreeMap}.
 */
@Timeout(120)
class RbTreeTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    /** One loaded object per engine, shared by the tests that keep its programs loaded: verifying them is the costly part. */
    private static final Map<String, RbTreeOps> LOADED = new ConcurrentHashMap<>();

    @AfterAll
    static void close() { LOADED.values().forEach(RbTreeOps::close); }

    /** The engine's shared tree, emptied through rb_delete. */
    private static RbTreeOps emptyTree(String engine) throws Exception {
        RbTreeOps tree = LOADED.get(engine);
        if (tree == null) LOADED.put(engine, tree = new RbTreeOps(engine));
        RbTreeProperties.emptyTheTree(tree);
        return tree;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void everyHeapAccessRunsWithoutAGuard(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        for (LoadedProgram p : List.of(tree.insert, tree.lookup, tree.delete, tree.validate)) {
            assertThat(p.verified().guardsNeeded()).as("%s: every node is reached through a freshly cast pointer", p.name()).isZero();
            assertThat(p.verified().guardsElided()).as(p.name()).isPositive();
        }
        assertThat(tree.validate.verified().cancellationPoints()).as("rb_validate's loop is bounded by can_loop").isEmpty();
        assertThat(tree.lookup.verified().cancellationPoints()).as("the descent has no static bound").isNotEmpty();
    }

    private static long log2Ceil(long n) { return 64 - Long.numberOfLeadingZeros(n); }

    @ParameterizedTest
    @MethodSource("engines")
    void theSourcesExample(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        assertThat(tree.validate()).as("an empty tree").isEqualTo(new Validation(0, 0, 0, 0));
        assertThat(tree.insert(20, 2).retval()).isZero();
        assertThat(tree.insert(10, 1).retval()).isZero();
        assertThat(tree.insert(30, 3).retval()).isZero();
        assertThat(tree.insert(20, 22).retval()).as("replaced").isEqualTo(1);
        assertThat(tree.lookup(20)).isEqualTo(new RbTreeOps.Result(0, 22));
        assertThat(tree.delete(10)).isEqualTo(new RbTreeOps.Result(0, 1));
        assertThat(tree.lookup(10).retval()).isEqualTo(1);
        assertThat(tree.delete(10).retval()).isEqualTo(1);
        assertThat(tree.validate()).isEqualTo(new Validation(0, 2, 1, 2));
        assertThat(tree.heap().entries()).containsExactly(new long[] {20, 22}, new long[] {30, 3});
    }

    @ParameterizedTest
    @MethodSource("engines")
    void ascendingAndRandomKeysStayBalanced(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        TreeMap<Long, Long> model = new TreeMap<>(Long::compareUnsigned);
        // Ascending keys: the worst case for an unbalanced tree (a list of 2,000 nodes).
        for (long k = 1; k <= 2000; k++) {
            assertThat(tree.insert(k, -k).retval()).isZero();
            model.put(k, -k);
        }
        Random random = new Random(7);
        for (int i = 0; i < 2000; i++) {
            long k = random.nextLong();
            assertThat(tree.insert(k, i).retval()).isEqualTo(model.put(k, (long) i) == null ? 0 : 1);
        }
        checkAgainst(tree, model);
        // Delete every other key in order, then random ones (present and absent).
        List<Long> keys = new ArrayList<>(model.keySet());
        for (int i = 0; i < keys.size(); i += 2) {
            long k = keys.get(i);
            assertThat(tree.delete(k)).isEqualTo(new RbTreeOps.Result(0, model.remove(k)));
        }
        for (int i = 0; i < 500; i++) {
            long k = random.nextBoolean() ? keys.get(random.nextInt(keys.size())) : random.nextLong();
            Long had = model.remove(k);
            RbTreeOps.Result r = tree.delete(k);
            assertThat(r.retval()).isEqualTo(had == null ? 1 : 0);
            if (had != null) assertThat(r.value()).isEqualTo(had);
        }
        checkAgainst(tree, model);
    }

    /** rb_validate, the host's own invariant check and the host's walk all agree with the model. */
    static void checkAgainst(RbTreeOps tree, TreeMap<Long, Long> model) {
        Validation v = tree.validate();
        assertThat(v.code()).as("rb_validate").isZero();
        assertThat(v.count()).isEqualTo(model.size());
        assertThat(v.depth()).as("a red-black tree of n nodes is at most 2 log2(n + 1) deep")
                .isLessThanOrEqualTo(2 * log2Ceil(model.size() + 1));
        RbTreeHeap heap = tree.heap();
        assertThat(heap.checkInvariants()).as("black height seen by the host").isEqualTo(v.blackHeight());
        List<long[]> entries = heap.entries();
        assertThat(entries).hasSize(model.size());
        int i = 0;
        for (Map.Entry<Long, Long> e : model.entrySet()) {
            assertThat(entries.get(i++)).as("in-order entry %d", i).containsExactly(e.getKey(), e.getValue());
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void validateNamesEachBrokenInvariant(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        Random random = new Random(11);
        for (int i = 0; i < 300; i++) tree.insert(random.nextInt(1_000_000), i);
        assertThat(tree.validate().code()).isZero();
        RbTreeHeap heap = tree.heap();
        long root = heap.root();
        List<Long> nodes = new ArrayList<>();
        collect(heap, root, nodes);

        breakAndRestore(tree, root, RbTreeHeap.COLOR, RbTreeHeap.RED, RbTreeHeap.E_ROOT);
        breakAndRestore(tree, root, RbTreeHeap.PARENT, nodes.get(5), RbTreeHeap.E_ROOT);
        breakAndRestore(tree, nodes.get(7), RbTreeHeap.COLOR, 7, RbTreeHeap.E_COLOR);
        // A red node with two (black) children: making one red gives a red-red edge and nothing else first.
        long red = nodes.stream().filter(n -> heap.color(n) == RbTreeHeap.RED && heap.left(n) != 0 && heap.right(n) != 0)
                .findFirst().orElseThrow();
        breakAndRestore(tree, heap.left(red), RbTreeHeap.COLOR, RbTreeHeap.RED, RbTreeHeap.E_RED_RED);
        // A red leaf turned black: one more black node on its paths.
        long redLeaf = nodes.stream().filter(n -> heap.color(n) == RbTreeHeap.RED && heap.left(n) == 0 && heap.right(n) == 0)
                .findFirst().orElseThrow();
        breakAndRestore(tree, redLeaf, RbTreeHeap.COLOR, RbTreeHeap.BLACK, RbTreeHeap.E_BLACK_HEIGHT);
        long first = leftmost(heap, root);
        breakAndRestore(tree, first, RbTreeHeap.KEY, 2_000_000, RbTreeHeap.E_ORDER);
        long child = nodes.stream().filter(n -> heap.parent(n) != 0 && heap.parent(n) != root).findFirst().orElseThrow();
        breakAndRestore(tree, child, RbTreeHeap.PARENT, root, RbTreeHeap.E_LINK);
        breakAndRestore(tree, heap.tree(), RbTreeHeap.COUNT, heap.count() + 1, RbTreeHeap.E_COUNT);
        // A count far below the real one: the walk outlasts 3 steps per counted node (what a cycle does).
        breakAndRestore(tree, heap.tree(), RbTreeHeap.COUNT, 3, RbTreeHeap.E_WALK);
    }

    private static void breakAndRestore(RbTreeOps tree, long node, long field, long value, int expected) {
        RbTreeHeap heap = tree.heap();
        long old = heap.poke(node, field, value);
        try {
            assertThat(tree.validate().code()).as("field +%d of %x set to %d", field, node, value).isEqualTo(expected);
        } finally {
            heap.poke(node, field, old);
        }
        assertThat(tree.validate().code()).as("restored").isZero();
    }

    private static void collect(RbTreeHeap heap, long node, List<Long> out) {
        if (node == 0) return;
        collect(heap, heap.left(node), out);
        out.add(node);
        collect(heap, heap.right(node), out);
    }

    private static long leftmost(RbTreeHeap heap, long node) {
        while (heap.left(node) != 0) node = heap.left(node);
        return node;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aLookupInACyclicTreeIsCancelledAndReleasesTheTreeLock(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        try {
            for (long k = 10; k <= 100; k += 10) tree.insert(k, k);
            RbTreeHeap heap = tree.heap();
            long first = leftmost(heap, heap.root());
            long old = heap.poke(first, RbTreeHeap.LEFT, heap.root()); // smaller keys now lead back to the root forever
            TestRunResult r = tree.lookup.testRun(TestRun.once().withContext(RbTreeOps.args(5, 0)).withBudget(Duration.ofMillis(50)));
            assertThat(r.cancelled()).as("outcome %s", r.outcome()).isTrue();
            assertThat(tree.lookup.verified().cancellationPoints()).contains(r.cancelPoint());
            assertThat(r.released()).anySatisfy(s -> assertThat(s).startsWith("kflex_spin_lock"));
            heap.poke(first, RbTreeHeap.LEFT, old);
            assertThat(heap.heap().isLocked(heap.tree() + RbTreeHeap.LOCK)).as("the lock was released").isFalse();
            assertThat(tree.lookup.unloaded()).as("KFlex unloads a cancelled program").isTrue();
            // The tree and its lock outlive the program: the others take the lock and find every key.
            assertThat(tree.insert(5, 5).retval()).isZero();
            assertThat(tree.delete(10)).isEqualTo(new RbTreeOps.Result(0, 10));
            Validation v = tree.validate();
            assertThat(v.code()).isZero();
            assertThat(v.count()).isEqualTo(10);
        } finally {
            tree.reloadLookup();
        }
        assertThat(tree.lookup(5)).as("loaded again, on the same tree").isEqualTo(new RbTreeOps.Result(0, 5));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void concurrentWritersKeepOneValidTree(String engine) throws Exception {
        RbTreeOps tree = emptyTree(engine);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<TreeMap<Long, Long>>> writers = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                writers.add(pool.submit(() -> {
                    TreeMap<Long, Long> mine = new TreeMap<>(Long::compareUnsigned);
                    Random random = new Random(thread);
                    for (int i = 0; i < 400; i++) {
                        long key = random.nextInt(1000) * 4L + thread; // disjoint key sets, interleaved in the tree
                        if (random.nextInt(4) == 0) {
                            Long had = mine.remove(key);
                            assertThat(tree.delete(key).retval()).isEqualTo(had == null ? 1 : 0);
                        } else {
                            Long had = mine.put(key, (long) i);
                            assertThat(tree.insert(key, i).retval()).isEqualTo(had == null ? 0 : 1);
                        }
                    }
                    return mine;
                }));
            }
            TreeMap<Long, Long> model = new TreeMap<>(Long::compareUnsigned);
            for (Future<TreeMap<Long, Long>> w : writers) model.putAll(w.get());
            checkAgainst(tree, model);
        } finally {
            pool.shutdownNow();
        }
    }
}
