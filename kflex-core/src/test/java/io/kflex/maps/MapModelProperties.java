package io.kflex.maps;

import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Random operation sequences on hash, LRU hash, queue and stack maps, through the program face
 * (the helpers' entry points), compared with small reference models of Linux's semantics.
 */
class MapModelProperties {
    private static final int MAX = 4;

    enum Kind { LOOKUP, UPDATE, DELETE }

    record Op(Kind kind, int key, long value, long flags) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.of(Kind.class), Arbitraries.integers().between(0, 7),
                Arbitraries.longs(), Arbitraries.of(0L, 1L, 2L, 3L)).as(Op::new);
        return op.list().ofMinSize(1).ofMaxSize(60);
    }

    /** The reference: an insertion- or access-ordered map with Linux's flag and capacity rules. */
    private static long modelUpdate(LinkedHashMap<Integer, Long> model, boolean lru, Op op) {
        if (op.flags() > 2) return -Errno.EINVAL;
        boolean present = model.containsKey(op.key());
        if (present && op.flags() == BpfMap.BPF_NOEXIST) return -Errno.EEXIST;
        if (!present && op.flags() == BpfMap.BPF_EXIST) return -Errno.ENOENT;
        if (!present && model.size() >= MAX) {
            if (!lru) return -Errno.E2BIG;
            model.remove(model.keySet().iterator().next());
        }
        if (lru) model.remove(op.key()); // an update is a use: move to the most recent end
        model.put(op.key(), op.value());
        return 0;
    }

    private void checkHash(List<Op> ops, int type) throws MapException {
        boolean lru = type == MapSpec.LRU_HASH;
        MapHarness h = new MapHarness(1);
        BpfHash map = (BpfHash) h.table.create(MapSpec.of("m", type, 4, 8, MAX, 0));
        LinkedHashMap<Integer, Long> model = new LinkedHashMap<>(16, 0.75f, lru);
        io.kflex.engine.AddressSpace memory = new io.kflex.engine.AddressSpace(h.regions);
        for (Op op : ops) {
            MemorySegment key = MemorySegment.ofArray(u32(op.key()));
            try (var epoch = h.table.epochs().enter()) {
                switch (op.kind()) {
                    case LOOKUP -> {
                        long p = map.lookupElem(key, 0);
                        Long expected = model.get(op.key());
                        assertThat(p == 0 ? null : memory.load(p, 8)).as("lookup %s", op).isEqualTo(expected);
                    }
                    case UPDATE -> assertThat(map.updateElem(key, MemorySegment.ofArray(u64(op.value())), op.flags(), 0))
                            .as("update %s", op).isEqualTo(modelUpdate(model, lru, op));
                    case DELETE -> assertThat(map.deleteElem(key)).as("delete %s", op)
                            .isEqualTo(model.remove(op.key()) == null ? -Errno.ENOENT : 0);
                }
            }
        }
        assertThat(map.size()).isEqualTo(model.size());
        for (Map.Entry<Integer, Long> e : model.entrySet()) {
            assertThat(map.lookup(u32(e.getKey())).map(MapHarness::u64)).isEqualTo(Optional.of(e.getValue()));
        }
    }

    @Property(tries = 300)
    void hashMapsBehaveLikeTheModel(@ForAll("ops") List<Op> ops) throws MapException {
        checkHash(ops, MapSpec.HASH);
    }

    @Property(tries = 300)
    void lruHashMapsBehaveLikeTheModel(@ForAll("ops") List<Op> ops) throws MapException {
        checkHash(ops, MapSpec.LRU_HASH);
    }

    @Property(tries = 200)
    void queuesAndStacksBehaveLikeTheModel(@ForAll("ops") List<Op> ops) throws MapException {
        MapHarness h = new MapHarness(1);
        for (boolean stack : new boolean[] {false, true}) {
            BpfQueue map = (BpfQueue) h.table.create(MapSpec.of("q", stack ? MapSpec.STACK : MapSpec.QUEUE, 0, 8, MAX, 0));
            ArrayDeque<Long> model = new ArrayDeque<>();
            for (Op op : ops) {
                byte[] out = new byte[8];
                switch (op.kind()) {
                    case UPDATE -> {
                        long expected;
                        if (op.flags() != 0 && op.flags() != BpfMap.BPF_EXIST) expected = -Errno.EINVAL;
                        else if (model.size() >= MAX && op.flags() != BpfMap.BPF_EXIST) expected = -Errno.E2BIG;
                        else {
                            if (model.size() >= MAX) model.pollFirst();
                            model.addLast(op.value());
                            expected = 0;
                        }
                        assertThat(map.pushElem(MemorySegment.ofArray(u64(op.value())), op.flags())).isEqualTo(expected);
                    }
                    case LOOKUP, DELETE -> {
                        boolean pop = op.kind() == Kind.DELETE;
                        Long expected = stack ? (pop ? model.pollLast() : model.peekLast()) : (pop ? model.pollFirst() : model.peekFirst());
                        long r = map.popElem(MemorySegment.ofArray(out), pop);
                        if (expected == null) {
                            assertThat(r).isEqualTo(-Errno.ENOENT);
                        } else {
                            assertThat(r).isZero();
                            assertThat(u64(out)).isEqualTo(expected);
                        }
                    }
                }
            }
            assertThat(map.size()).isEqualTo(model.size());
        }
    }
}
