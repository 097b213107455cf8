package io.kflex.maps;

import static io.kflex.maps.BpfMap.BPF_ANY;
import static io.kflex.maps.BpfMap.BPF_EXIST;
import static io.kflex.maps.BpfMap.BPF_F_LOCK;
import static io.kflex.maps.BpfMap.BPF_NOEXIST;
import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Linux semantics of each map type through the host (Java) API. */
class MapSemanticsTest {
    private final MapHarness h = new MapHarness(3);

    private static int errno(ThrowingRunnable r) {
        try {
            r.run();
        } catch (MapException e) {
            return e.errno();
        }
        throw new AssertionError("no MapException");
    }

    interface ThrowingRunnable {
        void run() throws MapException;
    }

    @Test
    void arrays() throws Exception {
        BpfMap a = h.table.create(MapSpec.of("a", MapSpec.ARRAY, 4, 8, 4, 0));
        assertThat(u64(a.lookup(u32(3)).orElseThrow())).isZero();
        assertThat(a.lookup(u32(4))).isEmpty();
        a.update(u32(2), u64(42), BPF_ANY);
        a.update(u32(2), u64(43), BPF_EXIST);
        assertThat(u64(a.lookup(u32(2)).orElseThrow())).isEqualTo(43);
        assertThat(errno(() -> a.update(u32(2), u64(1), BPF_NOEXIST))).isEqualTo(Errno.EEXIST);
        assertThat(errno(() -> a.update(u32(4), u64(1), BPF_ANY))).isEqualTo(Errno.E2BIG);
        assertThat(errno(() -> a.update(u32(1), u64(1), BPF_F_LOCK))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> a.update(u32(1), u64(1), 8))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> a.delete(u32(1)))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> a.update(u32(1), new byte[3], BPF_ANY))).isEqualTo(Errno.EINVAL);
        assertThat(a.keys()).hasSize(4);
        assertThat(a.entries()).extracting(e -> u64(e.value())).containsExactly(0L, 0L, 43L, 0L);
        assertThatThrownBy(() -> a.lookup(new byte[2])).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key of 2 bytes");
    }

    @Test
    void hashFlagsAndCapacity() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 3, 0));
        assertThat(errno(() -> m.update(u32(1), u64(1), BPF_EXIST))).isEqualTo(Errno.ENOENT);
        m.update(u32(1), u64(10), BPF_NOEXIST);
        assertThat(errno(() -> m.update(u32(1), u64(11), BPF_NOEXIST))).isEqualTo(Errno.EEXIST);
        m.update(u32(1), u64(12), BPF_EXIST);
        m.update(u32(2), u64(20), BPF_ANY);
        m.update(u32(3), u64(30), BPF_ANY);
        assertThat(errno(() -> m.update(u32(4), u64(40), BPF_ANY))).as("full").isEqualTo(Errno.E2BIG);
        m.update(u32(3), u64(31), BPF_ANY); // replacing in a full map is fine
        assertThat(m.size()).isEqualTo(3);
        assertThat(u64(m.lookup(u32(1)).orElseThrow())).isEqualTo(12);
        assertThat(u64(m.lookup(u32(3)).orElseThrow())).isEqualTo(31);
        assertThat(m.delete(u32(2))).isTrue();
        assertThat(m.delete(u32(2))).isFalse();
        assertThat(m.lookup(u32(2))).isEmpty();
        m.update(u32(4), u64(40), BPF_ANY);
        assertThat(m.keys()).extracting(MapHarness::u64).containsExactlyInAnyOrder(1L, 3L, 4L);
        assertThat(errno(() -> m.update(u32(5), u64(1), BPF_F_LOCK))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> m.update(new byte[5], u64(1), BPF_ANY))).isEqualTo(Errno.EINVAL);
    }

    @Test
    void lruEvictsTheLeastRecentlyUsed() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("lru", MapSpec.LRU_HASH, 4, 8, 3, 0));
        m.update(u32(1), u64(1), BPF_ANY);
        m.update(u32(2), u64(2), BPF_ANY);
        m.update(u32(3), u64(3), BPF_ANY);
        m.lookup(u32(1)); // 2 is now the least recently used
        m.update(u32(4), u64(4), BPF_ANY);
        assertThat(m.keys()).extracting(MapHarness::u64).containsExactlyInAnyOrder(1L, 3L, 4L);
        m.update(u32(3), u64(33), BPF_EXIST); // an update is a use too: 1 is now the oldest
        m.update(u32(5), u64(5), BPF_NOEXIST);
        assertThat(m.keys()).extracting(MapHarness::u64).containsExactlyInAnyOrder(3L, 4L, 5L);
        assertThat(m.size()).isEqualTo(3);
        assertThat(errno(() -> m.update(u32(3), u64(1), BPF_NOEXIST))).isEqualTo(Errno.EEXIST);
    }

    @Test
    void perCpuArraysAndHashesKeepOneValuePerCpu() throws Exception {
        BpfArray a = (BpfArray) h.table.create(MapSpec.of("pa", MapSpec.PERCPU_ARRAY, 4, 4, 2, 0));
        a.update(u32(1), new byte[] {7, 0, 0, 0}, BPF_ANY); // one value: every CPU gets it
        assertThat(a.lookupAllCpus(1)).extracting(MapHarness::u64).containsExactly(7L, 7L, 7L);
        byte[] linuxLayout = new byte[3 * 8];
        linuxLayout[0] = 1;
        linuxLayout[8] = 2;
        linuxLayout[16] = 3;
        a.update(u32(1), linuxLayout, BPF_ANY);
        assertThat(a.lookupAllCpus(1)).extracting(MapHarness::u64).containsExactly(1L, 2L, 3L);
        assertThat(a.lookup(u32(1)).orElseThrow()).hasSize(24).isEqualTo(linuxLayout);
        assertThat(a.valueAddress(1, 2) - a.valueAddress(1, 0)).isEqualTo(16);

        BpfHash m = (BpfHash) h.table.create(MapSpec.of("ph", MapSpec.PERCPU_HASH, 4, 8, 2, 0));
        m.update(u32(9), linuxLayout, BPF_ANY);
        assertThat(m.lookupAllCpus(u32(9)).orElseThrow()).extracting(MapHarness::u64).containsExactly(1L, 2L, 3L);
        assertThat(errno(() -> m.update(u32(9), new byte[5], BPF_ANY))).isEqualTo(Errno.EINVAL);
    }

    @Test
    void queuesAndStacks() throws Exception {
        BpfQueue q = (BpfQueue) h.table.create(MapSpec.of("q", MapSpec.QUEUE, 0, 8, 2, 0));
        BpfQueue s = (BpfQueue) h.table.create(MapSpec.of("s", MapSpec.STACK, 0, 8, 2, 0));
        for (BpfQueue m : List.of(q, s)) {
            assertThat(m.pop()).isEmpty();
            m.pushValue(u64(1), BPF_ANY);
            m.pushValue(u64(2), BPF_ANY);
            assertThat(errno(() -> m.pushValue(u64(3), BPF_ANY))).isEqualTo(Errno.E2BIG);
            assertThat(errno(() -> m.pushValue(u64(3), BPF_NOEXIST))).isEqualTo(Errno.EINVAL);
            m.pushValue(u64(3), BPF_EXIST); // drops the oldest, 1
            assertThat(m.size()).isEqualTo(2);
            assertThat(errno(() -> m.delete(new byte[0]))).isEqualTo(Errno.EINVAL);
        }
        assertThat(u64(q.peek().orElseThrow())).isEqualTo(2);
        assertThat(q.snapshot()).extracting(MapHarness::u64).containsExactly(2L, 3L);
        assertThat(u64(q.pop().orElseThrow())).isEqualTo(2);
        assertThat(u64(s.lookup(new byte[0]).orElseThrow())).isEqualTo(3);
        assertThat(s.snapshot()).extracting(MapHarness::u64).containsExactly(3L, 2L);
        assertThat(u64(s.pop().orElseThrow())).isEqualTo(3);
        assertThat(u64(s.pop().orElseThrow())).isEqualTo(2);
        assertThat(s.pop()).isEmpty();
    }

    @Test
    void mapsOfMapsCheckTheInnerTemplate() throws Exception {
        MapSpec template = MapSpec.of("inner", MapSpec.ARRAY, 4, 8, 1, 0);
        MapSpec outerSpec = new MapSpec("outer", MapSpec.ARRAY_OF_MAPS, 4, 4, 2, 0, 0, template, 0, 0);
        BpfMapOfMaps outer = (BpfMapOfMaps) h.table.create(outerSpec);
        BpfMap good = h.table.create(MapSpec.of("good", MapSpec.ARRAY, 4, 8, 1, 0));
        BpfMap bad = h.table.create(MapSpec.of("bad", MapSpec.ARRAY, 4, 8, 2, 0));
        outer.setInner(u32(1), good, BPF_ANY);
        assertThat(outer.inner(u32(1))).containsSame(good);
        assertThat(outer.inner(u32(0))).isEmpty();
        assertThat(errno(() -> outer.setInner(u32(0), bad, BPF_ANY))).isEqualTo(Errno.EINVAL);
        assertThat(errno(() -> outer.update(u32(0), u32(bad.id()), BPF_ANY))).isEqualTo(Errno.EINVAL);
        outer.update(u32(0), u32(good.id()), BPF_ANY);
        assertThat(outer.lookup(u32(0)).orElseThrow()).isEqualTo(u32(good.id()));
        assertThat(errno(() -> outer.update(u32(2), u32(good.id()), BPF_ANY))).isEqualTo(Errno.E2BIG);
        assertThat(outer.delete(u32(0))).isTrue();
        assertThat(outer.lookup(u32(0))).isEmpty();

        BpfMapOfMaps hash = (BpfMapOfMaps) h.table.create(new MapSpec("hom", MapSpec.HASH_OF_MAPS, 4, 4, 1, 0, 0, template, 0, 0));
        hash.setInner(u32(7), good, BPF_NOEXIST);
        assertThat(errno(() -> hash.setInner(u32(8), good, BPF_ANY))).isEqualTo(Errno.E2BIG);
        assertThat(errno(() -> hash.setInner(u32(7), good, BPF_NOEXIST))).isEqualTo(Errno.EEXIST);
        h.table.close(good);
        assertThat(hash.inner(u32(7))).as("a closed inner map is gone").isEmpty();
    }

    @Test
    void progArraysAreSetByTheHost() throws Exception {
        BpfProgArray p = (BpfProgArray) h.table.create(MapSpec.of("p", MapSpec.PROG_ARRAY, 4, 4, 2, 0));
        assertThat(errno(() -> p.update(u32(0), u32(1), BPF_ANY))).isEqualTo(Errno.EINVAL);
        io.kflex.engine.TailCallable program = (inv, args) -> new io.kflex.engine.Outcome.Returned(1);
        p.set(1, program);
        assertThat(p.get(1)).isSameAs(program);
        assertThat(p.get(2)).isNull();
        assertThat(p.keys()).hasSize(1);
        assertThat(p.delete(u32(1))).isTrue();
        assertThat(p.get(1)).isNull();
        assertThatThrownBy(() -> p.set(2, program)).isInstanceOf(IndexOutOfBoundsException.class);
    }
}
