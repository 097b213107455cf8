package io.kflex.heaprun;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The sorted list, the skip list and the count-min sketch against Java models, over random
 * sequences of every operation they offer (insert, lookup, delete; add, estimate, remove), on
 * every engine.
 */
class DataStructureModelProperties {
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One operation: {@code kind} selects it, on {@code key} with {@code value}. */
    record Op(int kind, long key, long value) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        return Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.longs().between(1, 48),
                Arbitraries.longs().between(0, 1000)).as(Op::new).list().ofMinSize(1).ofMaxSize(120);
    }

    /** The loaded programs of one object on one engine, sharing its heap. */
    private static final class Programs {
        final ObjectRun run;
        final Map<String, Executable> loaded = new HashMap<>();

        Programs(String object, Engine engine, String... programs) throws Exception {
            run = new ObjectRun(object, engine, true);
            for (String p : programs) loaded.put(p, run.load(p));
        }

        /** Runs {@code program} on a 16-byte context {@code (a, b)}; returns r0, the context is updated. */
        long call(String program, MemorySegment args) {
            Outcome o = loaded.get(program).run(run.invocation(args));
            assertThat(o).as(program).isInstanceOf(Outcome.Returned.class);
            return ((Outcome.Returned) o).r0();
        }
    }

    private static MemorySegment args(long a, long b) {
        MemorySegment s = Arena.ofAuto().allocate(16, 8);
        s.set(I64, 0, a);
        s.set(I64, 8, b);
        return s;
    }

    @Property(tries = 30)
    void theSkipListBehavesLikeASortedMap(@ForAll("ops") List<Op> ops) throws Exception {
        for (Engine engine : TestEngines.all()) {
            Programs list = new Programs("skip_list.bpf.o", engine, "sl_insert", "sl_lookup", "sl_delete");
            TreeMap<Long, Long> model = new TreeMap<>();
            for (Op op : ops) {
                MemorySegment a = args(op.key(), op.value());
                switch (op.kind()) {
                    case 0 -> assertThat(list.call("sl_insert", a)).as("%s insert %s", engine.name(), op)
                            .isEqualTo(model.put(op.key(), op.value()) == null ? 0 : 1);
                    case 1 -> {
                        var ceiling = model.ceilingEntry(op.key());
                        assertThat(list.call("sl_lookup", a)).as("%s lookup %s", engine.name(), op).isEqualTo(ceiling == null ? 1 : 0);
                        if (ceiling != null) {
                            assertThat(a.get(I64, 0)).isEqualTo(ceiling.getKey());
                            assertThat(a.get(I64, 8)).isEqualTo(ceiling.getValue());
                        }
                    }
                    default -> {
                        Long removed = model.remove(op.key());
                        assertThat(list.call("sl_delete", a)).as("%s delete %s", engine.name(), op).isEqualTo(removed == null ? 1 : 0);
                        if (removed != null) assertThat(a.get(I64, 8)).isEqualTo(removed);
                    }
                }
            }
            // Every key still present, in order, and the deleted nodes' memory given back.
            for (var e : model.entrySet()) {
                MemorySegment a = args(e.getKey(), 0);
                assertThat(list.call("sl_lookup", a)).isZero();
                assertThat(a.get(I64, 0)).isEqualTo(e.getKey());
            }
            for (long key : List.copyOf(model.keySet())) assertThat(list.call("sl_delete", args(key, 0))).isZero();
            assertThat(list.call("sl_lookup", args(1, 0))).as("empty after deleting every key").isEqualTo(1);
        }
    }

    @Property(tries = 30)
    void theSortedListBehavesLikeASortedMap(@ForAll("ops") List<Op> ops) throws Exception {
        for (Engine engine : TestEngines.all()) {
            Programs list = new Programs("sorted_list.bpf.o", engine, "ls_insert", "ls_lookup", "ls_delete", "ls_sum");
            TreeMap<Long, Long> model = new TreeMap<>();
            for (Op op : ops) {
                MemorySegment a = args(op.key(), op.value());
                switch (op.kind()) {
                    case 0 -> assertThat(list.call("ls_insert", a)).as("%s insert %s", engine.name(), op)
                            .isEqualTo(model.put(op.key(), op.value()) == null ? 0 : 1);
                    case 1 -> {
                        Long value = model.get(op.key());
                        assertThat(list.call("ls_lookup", a)).as("%s lookup %s", engine.name(), op).isEqualTo(value == null ? 1 : 0);
                        assertThat(a.get(I64, 8)).isEqualTo(value == null ? op.value() : value);
                    }
                    default -> {
                        Long removed = model.remove(op.key());
                        assertThat(list.call("ls_delete", a)).as("%s delete %s", engine.name(), op).isEqualTo(removed == null ? 1 : 0);
                        if (removed != null) assertThat(a.get(I64, 8)).isEqualTo(removed);
                    }
                }
            }
            MemorySegment sum = args(0, 0);
            assertThat(list.call("ls_sum", sum)).isZero();
            long expected = 0, position = 0;
            for (long key : model.keySet()) expected += key * ++position;
            assertThat(sum.get(I64, 0)).as("nodes").isEqualTo(model.size());
            assertThat(sum.get(I64, 8)).as("keys in ascending order").isEqualTo(expected);
        }
    }

    @Property(tries = 30)
    void theCountMinSketchNeverUnderestimatesAndRemovesWhatWasAdded(@ForAll("ops") List<Op> ops) throws Exception {
        for (Engine engine : TestEngines.all()) {
            Programs sketch = new Programs("count_min.bpf.o", engine, "cm_add", "cm_estimate", "cm_remove");
            Map<Long, Long> truth = new HashMap<>();
            for (Op op : ops) {
                long count = op.value() % 50;
                switch (op.kind()) {
                    case 0 -> {
                        assertThat(sketch.call("cm_add", args(op.key(), count))).isZero();
                        truth.merge(op.key(), count, Long::sum);
                    }
                    case 1 -> {
                        MemorySegment a = args(op.key(), 0);
                        assertThat(sketch.call("cm_estimate", a)).isZero();
                        assertThat(a.get(I64, 8)).as("%s estimate of %d", engine.name(), op.key())
                                .isGreaterThanOrEqualTo(truth.getOrDefault(op.key(), 0L));
                    }
                    default -> {
                        // Remove only what is there (the turnstile model the estimate's bound holds in).
                        long present = truth.getOrDefault(op.key(), 0L), removed = Math.min(present, count);
                        assertThat(sketch.call("cm_remove", args(op.key(), removed))).isZero();
                        truth.put(op.key(), present - removed);
                    }
                }
            }
            // Removing everything that was added leaves every counter at zero.
            for (var e : truth.entrySet()) assertThat(sketch.call("cm_remove", args(e.getKey(), e.getValue()))).isZero();
            for (long key = 1; key <= 48; key++) {
                MemorySegment a = args(key, 0);
                sketch.call("cm_estimate", a);
                assertThat(a.get(I64, 8)).as("%s estimate of %d after removing all", engine.name(), key).isZero();
            }
        }
    }

    @Property(tries = 20)
    void removingMoreThanWasAddedStopsAtZero(@ForAll("ops") List<Op> ops) throws Exception {
        Programs sketch = new Programs("count_min.bpf.o", TestEngines.all().getLast(), "cm_add", "cm_estimate", "cm_remove");
        for (Op op : ops) sketch.call(op.kind() == 0 ? "cm_add" : "cm_remove", args(op.key(), op.value()));
        for (long key = 1; key <= 48; key++) {
            MemorySegment a = args(key, 0);
            sketch.call("cm_estimate", a);
            assertThat(a.get(I64, 8)).as("no counter wrapped below zero").isBetween(0L, 1000L * ops.size());
        }
    }
}
