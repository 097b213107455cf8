package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random sequences of inserts, lookups and deletes on rb_tree.bpf.o, on both engines, give the
 * answers of a {@link TreeMap} with unsigned keys; at random points (and at the end) the tree is
 * validated by rb_validate, checked by the host through its heap view, and walked in order.
 */
class RbTreeProperties {
    sealed interface Op permits Insert, Lookup, Delete, Validate {}

    record Insert(long key, long value) implements Op {}

    record Lookup(long key) implements Op {}

    record Delete(long key) implements Op {}

    /** The end of a batch: validate everything. */
    record Validate() implements Op {}

    private static RbTreeOps interpreter, jit;

    @BeforeContainer
    static void load() throws Exception {
        interpreter = new RbTreeOps("interpreter");
        jit = new RbTreeOps("jit");
    }

    @AfterContainer
    static void close() {
        if (interpreter != null) interpreter.close();
        if (jit != null) jit.close();
    }

    @Provide
    Arbitrary<List<Op>> ops() {
        // Mostly a few dozen small keys, so that inserts replace and deletes hit; some extremes
        // and arbitrary keys for the unsigned order.
        Arbitrary<Long> keys = Arbitraries.frequencyOf(
                Tuple.of(10, Arbitraries.longs().between(0, 40)),
                Tuple.of(1, Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 32)),
                Tuple.of(2, Arbitraries.longs()));
        Arbitrary<Op> insert = Combinators.combine(keys, Arbitraries.longs()).as(Insert::new);
        return Arbitraries.frequencyOf(
                Tuple.of(6, insert),
                Tuple.of(2, keys.map(Lookup::new)),
                Tuple.of(4, keys.map(Delete::new)),
                Tuple.of(1, Arbitraries.just(new Validate()))).list().ofMaxSize(150);
    }

    @Property(tries = 60)
    void operationsAnswerLikeATreeMap(@ForAll("ops") List<Op> ops) {
        for (RbTreeOps tree : List.of(interpreter, jit)) {
            emptyTheTree(tree);
            TreeMap<Long, Long> model = new TreeMap<>(Long::compareUnsigned);
            for (Op op : ops) {
                switch (op) {
                    case Insert(long key, long value) ->
                            assertThat(tree.insert(key, value).retval()).as("%s", op).isEqualTo(model.put(key, value) == null ? 0 : 1);
                    case Lookup(long key) -> {
                        Long v = model.get(key);
                        RbTreeOps.Result r = tree.lookup(key);
                        assertThat(r.retval()).as("%s", op).isEqualTo(v == null ? 1 : 0);
                        if (v != null) assertThat(r.value()).as("%s", op).isEqualTo(v);
                    }
                    case Delete(long key) -> {
                        Long v = model.remove(key);
                        RbTreeOps.Result r = tree.delete(key);
                        assertThat(r.retval()).as("%s", op).isEqualTo(v == null ? 1 : 0);
                        if (v != null) assertThat(r.value()).as("%s", op).isEqualTo(v);
                    }
                    case Validate() -> RbTreeTest.checkAgainst(tree, model);
                }
            }
            RbTreeTest.checkAgainst(tree, model);
        }
    }

    /** Deletes what the previous try left, through rb_delete (more deletes, in key order). */
    static void emptyTheTree(RbTreeOps tree) {
        tree.validate(); // creates the tree on the first try
        for (long[] e : tree.heap().entries()) assertThat(tree.delete(e[0])).isEqualTo(new RbTreeOps.Result(0, e[1]));
        assertThat(tree.validate()).isEqualTo(new RbTreeOps.Validation(0, 0, 0, 0));
    }
}
