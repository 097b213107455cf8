package io.kflex.maps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.EngineException;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.loader.ObjectMap;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class MapSetTest {
    private final MapHarness h = new MapHarness();

    private static ObjectMap global(String name, byte[] data, int flags) {
        return new ObjectMap(MapSpec.of(name, MapSpec.ARRAY, 4, data.length, 1, MapSpec.F_MMAPABLE | flags), ObjectMap.Origin.GLOBAL_DATA, name, data, new TreeMap<>());
    }

    @Test
    void resolvesHandlesAndValueAddresses() throws Exception {
        MapSet set = MapSet.create(h.table, List.of(
                new ObjectMap(MapSpec.of("h", MapSpec.HASH, 4, 8, 4, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()),
                global(".data", new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 0),
                global(".rodata", new byte[] {42, 0, 0, 0, 0, 0, 0, 0}, MapSpec.F_RDONLY_PROG)));
        assertThat(set.all()).hasSize(3);
        assertThat(set.byName("h")).isSameAs(set.get(0));
        assertThat(set.resolve(new LoadImm64(1, LoadImm64.MAP_IDX, 0, 0))).hasValue(set.get(0).handle());
        assertThat(set.resolve(new LoadImm64(1, LoadImm64.MAP_FD, 2, 0))).hasValue(set.get(2).handle());
        long data = set.resolve(new LoadImm64(1, LoadImm64.MAP_IDX_VALUE, 1, 4)).orElseThrow();
        io.kflex.engine.AddressSpace memory = new io.kflex.engine.AddressSpace(h.regions);
        assertThat(memory.load(data, 4)).isEqualTo(0x08070605L);
        long ro = set.resolve(new LoadImm64(1, LoadImm64.MAP_VALUE, 2, 0)).orElseThrow();
        assertThat(memory.load(ro, 1)).isEqualTo(42);
        assertThatThrownBy(() -> memory.store(ro, 1, 0)).isInstanceOf(io.kflex.engine.ExtensionFault.class).hasMessageContaining("read-only");
        assertThat(set.resolve(new LoadImm64(1, LoadImm64.BTF_ID, 0, 0))).isEmpty();

        assertThatThrownBy(() -> set.resolve(new LoadImm64(1, LoadImm64.MAP_IDX, 3, 0))).isInstanceOf(EngineException.class).hasMessageContaining("3 maps");
        assertThatThrownBy(() -> set.resolve(new LoadImm64(1, LoadImm64.MAP_IDX_VALUE, 1, 16))).isInstanceOf(EngineException.class).hasMessageContaining("offset 16");
        assertThatThrownBy(() -> set.resolve(new LoadImm64(1, LoadImm64.MAP_IDX_VALUE, 0, 0))).isInstanceOf(EngineException.class).hasMessageContaining("not an array");
    }

    @Test
    void aFailedCreationClosesWhatItCreated() throws Exception {
        int before = h.table.all().size();
        assertThatThrownBy(() -> MapSet.create(h.table, List.of(
                new ObjectMap(MapSpec.of("ok", MapSpec.HASH, 4, 8, 4, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()),
                new ObjectMap(MapSpec.of("bad", MapSpec.HASH, 0, 8, 4, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()))))
                .isInstanceOf(MapException.class).hasMessageContaining("bad");
        assertThat(h.table.all()).hasSize(before);
    }

    @Test
    void mapOfMapsSlotsNameOtherMapsAndProgArraySlotsAreKept() throws Exception {
        MapSpec inner = MapSpec.of("inner", MapSpec.ARRAY, 4, 8, 1, 0);
        TreeMap<Integer, String> slots = new TreeMap<>();
        slots.put(1, "inner");
        TreeMap<Integer, String> programs = new TreeMap<>();
        programs.put(0, "prog_a");
        MapSet set = MapSet.create(h.table, List.of(
                new ObjectMap(inner, ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>()),
                new ObjectMap(new MapSpec("outer", MapSpec.ARRAY_OF_MAPS, 4, 4, 2, 0, 0, inner, 0, 0), ObjectMap.Origin.BTF, ".maps", null, slots),
                new ObjectMap(MapSpec.of("progs", MapSpec.PROG_ARRAY, 4, 4, 2, 0), ObjectMap.Origin.BTF, ".maps", null, programs)));
        assertThat(((BpfMapOfMaps) set.byName("outer")).inner(MapHarness.u32(1))).containsSame(set.byName("inner"));
        assertThat(set.programSlots()).containsEntry("progs", programs);
        TreeMap<Integer, String> unknown = new TreeMap<>();
        unknown.put(0, "nowhere");
        assertThatThrownBy(() -> MapSet.create(h.table, List.of(
                new ObjectMap(new MapSpec("outer", MapSpec.ARRAY_OF_MAPS, 4, 4, 2, 0, 0, inner, 0, 0), ObjectMap.Origin.BTF, ".maps", null, unknown))))
                .isInstanceOf(MapException.class).hasMessageContaining("nowhere");
    }
}
