package io.kflex.maps;

import io.kflex.engine.Bindings;
import io.kflex.engine.EngineException;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.loader.ObjectMap;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The maps of one loaded object, in the object's index order, and the {@code lddw} pseudo
 * resolver its programs are linked with: {@code MAP_FD}/{@code MAP_IDX} give the handle of map
 * {@code imm}, {@code MAP_VALUE}/{@code MAP_IDX_VALUE} the address of key 0's value of array map
 * {@code imm} plus the second immediate (direct value access, used for global data).
 */
public final class MapSet implements Bindings.PseudoResolver {
    private final MapTable table;
    private final List<BpfMap> maps;
    private final Map<String, BpfMap> byName;
    private final Map<String, SortedMap<Integer, String>> programSlots;

    private MapSet(MapTable table, List<BpfMap> maps, Map<String, SortedMap<Integer, String>> programSlots) {
        this.table = table;
        this.maps = List.copyOf(maps);
        Map<String, BpfMap> names = new java.util.LinkedHashMap<>();
        for (BpfMap m : maps) names.put(m.name(), m);
        this.byName = Collections.unmodifiableMap(names);
        this.programSlots = Collections.unmodifiableMap(programSlots);
    }

    /**
     * Creates every map of an object in {@code table}: global-data maps get their section's
     * contents ({@code .rodata*} stays read-only for programs), maps of maps get the object's
     * maps named in their initial slots. Prog-array initial slots name programs; they are kept
     * ({@link #programSlots}) for the runtime to fill once the programs are loaded. On failure
     * the maps created so far are closed again.
     */
    public static MapSet create(MapTable table, List<ObjectMap> objectMaps) throws MapException {
        List<BpfMap> created = new ArrayList<>();
        Map<String, SortedMap<Integer, String>> programSlots = new java.util.LinkedHashMap<>();
        try {
            for (ObjectMap om : objectMaps) {
                BpfMap map = table.create(om.spec());
                created.add(map);
                byte[] data = om.initialData();
                if (data != null) {
                    if (!(map instanceof BpfArray array) || om.spec().maxEntries() != 1) {
                        throw new MapException(Errno.EINVAL, "map " + om.name() + ": initial data needs a single-element array");
                    }
                    if (data.length > om.spec().valueSize()) {
                        throw new MapException(Errno.EINVAL, "map " + om.name() + ": " + data.length + " bytes of initial data for a " + om.spec().valueSize() + "-byte value");
                    }
                    array.initialise(data);
                }
            }
            for (int i = 0; i < objectMaps.size(); i++) {
                ObjectMap om = objectMaps.get(i);
                if (om.initialSlots().isEmpty()) continue;
                BpfMap map = created.get(i);
                switch (map) {
                    case BpfProgArray p -> programSlots.put(om.name(), new TreeMap<>(om.initialSlots()));
                    case BpfMapOfMaps outer -> {
                        for (var slot : om.initialSlots().entrySet()) {
                            BpfMap inner = find(created, slot.getValue());
                            if (inner == null) throw new MapException(Errno.EINVAL, "map " + om.name() + ": slot " + slot.getKey() + " names unknown map " + slot.getValue());
                            outer.setInner(keyBytes(slot.getKey(), om.spec().keySize()), inner, BpfMap.BPF_ANY);
                        }
                    }
                    default -> throw new MapException(Errno.EINVAL, "map " + om.name() + ": only prog arrays and maps of maps have initial slots");
                }
            }
        } catch (MapException | RuntimeException e) {
            for (BpfMap m : created) table.close(m);
            throw e;
        }
        return new MapSet(table, created, programSlots);
    }

    private static BpfMap find(List<BpfMap> maps, String name) {
        for (BpfMap m : maps) if (m.name().equals(name)) return m;
        return null;
    }

    /** A little-endian integer key of {@code size} bytes (libbpf initialises slots by integer key). */
    private static byte[] keyBytes(int key, int size) {
        byte[] b = new byte[size];
        for (int i = 0; i < Math.min(4, size); i++) b[i] = (byte) (key >>> (8 * i));
        return b;
    }

    public MapTable table() { return table; }

    /** Map number {@code index} of the object. */
    public BpfMap get(int index) {
        if (index < 0 || index >= maps.size()) throw new IndexOutOfBoundsException("the object has " + maps.size() + " maps, no map " + index);
        return maps.get(index);
    }

    /** The map called {@code name}, or null. */
    public BpfMap byName(String name) { return byName.get(name); }

    /** The object's heap: the first arena map's, or null when it declares none. */
    public io.kflex.heap.Heap heap() {
        for (BpfMap m : maps) if (m instanceof BpfArena a) return a.heap();
        return null;
    }

    /** The maps in index order. */
    public List<BpfMap> all() { return maps; }

    /** Per prog array (by name), its initial slots: index → program name. */
    public Map<String, SortedMap<Integer, String>> programSlots() { return programSlots; }

    /** Closes every map of the set. */
    public void close() {
        for (BpfMap m : maps) table.close(m);
    }

    @Override
    public Optional<Bindings.FixedRegion> valueRegion(int mapIndex) {
        return mapIndex >= 0 && mapIndex < maps.size() ? maps.get(mapIndex).valueRegion() : Optional.empty();
    }

    @Override
    public OptionalLong resolve(LoadImm64 insn) throws EngineException {
        return switch (insn.pseudo()) {
            case LoadImm64.MAP_FD, LoadImm64.MAP_IDX -> OptionalLong.of(map(insn).handle());
            case LoadImm64.MAP_VALUE, LoadImm64.MAP_IDX_VALUE -> {
                BpfMap map = map(insn);
                long offset = insn.nextImm() & 0xffffffffL;
                if (!(map instanceof BpfArray array)) {
                    throw new EngineException("lddw names a value of map " + map.name() + ", which is not an array: direct value access needs one");
                }
                if (offset >= map.spec().valueSize()) {
                    throw new EngineException("lddw names offset " + offset + " of map " + map.name() + ", whose value has " + map.spec().valueSize() + " bytes");
                }
                yield OptionalLong.of(array.valueAddress(0, 0) + offset);
            }
            default -> OptionalLong.empty();
        };
    }

    private BpfMap map(LoadImm64 insn) throws EngineException {
        int index = insn.imm();
        if (index < 0 || index >= maps.size()) {
            throw new EngineException("lddw names map " + index + ", but the object has " + maps.size() + " maps");
        }
        return maps.get(index);
    }
}
