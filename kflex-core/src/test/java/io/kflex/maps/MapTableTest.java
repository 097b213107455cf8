package io.kflex.maps;

import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.SharedRegions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MapTableTest {
    private final MapHarness h = new MapHarness();

    static List<Object[]> invalidSpecs() {
        return List.of(
                new Object[] {MapSpec.of("h", MapSpec.HASH, 0, 8, 16, 0), Errno.EINVAL, "key size"},
                new Object[] {MapSpec.of("a", MapSpec.ARRAY, 4, 0, 16, 0), Errno.EINVAL, "value size is 0"},
                new Object[] {MapSpec.of("a", MapSpec.ARRAY, 4, 8, 0, 0), Errno.EINVAL, "max_entries is 0"},
                new Object[] {MapSpec.of("a", MapSpec.ARRAY, 8, 8, 1, 0), Errno.EINVAL, "4-byte index"},
                new Object[] {MapSpec.of("x", 99, 4, 8, 1, 0), Errno.EINVAL, "not supported"},
                new Object[] {MapSpec.of("arena", MapSpec.ARENA, 0, 0, 10, MapSpec.F_MMAPABLE), Errno.EINVAL, "heap"},
                new Object[] {MapSpec.of("big", MapSpec.ARRAY, 4, 1 << 20, 1 << 20, 0), Errno.E2BIG, "more than"},
                new Object[] {MapSpec.of("k", MapSpec.HASH, 513, 8, 1, 0), Errno.E2BIG, "key of 513"},
                new Object[] {MapSpec.of("huge", MapSpec.PERCPU_ARRAY, 4, 1 << 26, Integer.MAX_VALUE, 0), Errno.E2BIG, "more than"},
                new Object[] {MapSpec.of("hugeh", MapSpec.HASH, 4, 1 << 26, Integer.MAX_VALUE, 0), Errno.E2BIG, "do not fit"},
                new Object[] {MapSpec.of("q", MapSpec.QUEUE, 4, 8, 1, 0), Errno.EINVAL, "no key"},
                new Object[] {MapSpec.of("rb", MapSpec.RINGBUF, 0, 0, 5000, 0), Errno.EINVAL, "power of two"},
                new Object[] {MapSpec.of("p", MapSpec.PROG_ARRAY, 4, 8, 4, 0), Errno.EINVAL, "4-byte ids"});
    }

    @ParameterizedTest
    @MethodSource("invalidSpecs")
    void invalidDeclarationsAreRefusedWithLinuxErrno(MapSpec spec, int errno, String message) {
        assertThatThrownBy(() -> h.table.create(spec))
                .isInstanceOfSatisfying(MapException.class, e -> assertThat(e.errno()).isEqualTo(errno))
                .hasMessageContaining(spec.name()).hasMessageContaining(message);
    }

    @Test
    void handlesNameLiveMapsOnlyAndFaultWhenDereferenced() throws Exception {
        BpfMap a = h.table.create(MapSpec.of("a", MapSpec.ARRAY, 4, 8, 4, 0));
        BpfMap b = h.table.create(MapSpec.of("b", MapSpec.HASH, 4, 8, 4, 0));
        assertThat(a.handle() >>> 32).isEqualTo(0xfffffffeL);
        assertThat(a.handle()).isNotEqualTo(b.handle());
        assertThat(h.table.byHandle(a.handle())).isSameAs(a);
        assertThat(h.table.byHandle(b.handle())).isSameAs(b);
        assertThat(h.table.byHandle(a.id())).isNull(); // the bare id is not a handle
        assertThat(h.table.byHandle(0)).isNull();
        AddressSpace memory = new AddressSpace(h.regions);
        assertThatThrownBy(() -> memory.load(a.handle(), 8)).isInstanceOf(ExtensionFault.class);

        h.table.close(a);
        assertThat(h.table.byHandle(a.handle())).isNull();
        assertThat(h.table.byHandle(b.handle())).isSameAs(b);
    }

    @Test
    void closingAMapUnmapsItsValues() throws Exception {
        BpfArray a = (BpfArray) h.table.create(MapSpec.of("a", MapSpec.ARRAY, 4, 8, 4, 0));
        long value = a.valueAddress(1, 0);
        AddressSpace memory = new AddressSpace(h.regions);
        memory.store(value, 8, 77);
        assertThat(u64(a.lookup(u32(1)).orElseThrow())).isEqualTo(77);
        h.table.close(a);
        assertThatThrownBy(() -> memory.load(value, 8)).isInstanceOf(ExtensionFault.class).hasMessageContaining("unmapped");
    }

    @Test
    void mapsNeedARealSharedRegionTable() {
        assertThatThrownBy(() -> new MapTable(SharedRegions.NONE)).isInstanceOf(IllegalArgumentException.class);
        assertThat(new MapTable(new SharedRegions()).cpus()).isEqualTo(Runtime.getRuntime().availableProcessors());
    }

    @Test
    void hugeArraysAreCommittedLazily() throws Exception {
        // 50 million 8-byte values: 400 MB of address space. Creating it must not touch it all.
        long start = System.nanoTime();
        BpfArray big = (BpfArray) h.table.create(MapSpec.of("lb_backends", MapSpec.ARRAY, 4, 8, 50_000_000, 0));
        long elapsed = System.nanoTime() - start;
        AddressSpace memory = new AddressSpace(h.regions);
        memory.store(big.valueAddress(49_999_999, 0), 8, 5);
        memory.store(big.valueAddress(12_345_678, 0), 8, 6);
        assertThat(u64(big.lookup(u32(49_999_999)).orElseThrow())).isEqualTo(5);
        assertThat(u64(big.lookup(u32(12_345_678)).orElseThrow())).isEqualTo(6);
        assertThat(u64(big.lookup(u32(7)).orElseThrow())).isZero();
        // Zeroing 400 MB eagerly takes well over a second on this kind of machine; lazily, milliseconds.
        assertThat(elapsed).as("creation time in ns").isLessThan(1_000_000_000L);
        h.table.close(big);
    }

    @Test
    void valuesAreEightByteAligned() throws Exception {
        BpfArray a = (BpfArray) h.table.create(MapSpec.of("odd", MapSpec.ARRAY, 4, 5, 4, 0));
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("oddh", MapSpec.HASH, 3, 13, 4, 0));
        m.update(new byte[] {1, 2, 3}, new byte[13], 0);
        m.update(new byte[] {1, 2, 4}, new byte[13], 0);
        assertThat(a.valueAddress(1, 0) % 8).isZero();
        assertThat(a.valueAddress(3, 0) % 8).isZero();
        var key = java.lang.foreign.MemorySegment.ofArray(new byte[] {1, 2, 4});
        assertThat(m.lookupElem(key, 0) % 8).isZero();
    }
}
