package io.kflex.loader;

import io.kflex.maps.MapSpec;
import java.util.Arrays;
import java.util.Collections;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A map an object declares, at the index its programs use ({@code lddw} pseudo MAP_IDX /
 * MAP_IDX_VALUE immediates). Global-data maps carry the section's initial contents (one value of
 * {@code spec.valueSize()} bytes); prog arrays and maps of maps may carry initial slots, each
 * naming the program or map the object stores there.
 */
public record ObjectMap(MapSpec spec, Origin origin, String section, byte[] initialData, SortedMap<Integer, String> initialSlots) {

    /** Where the declaration came from. */
    public enum Origin { BTF, LEGACY, GLOBAL_DATA }

    public ObjectMap {
        Objects.requireNonNull(spec);
        Objects.requireNonNull(origin);
        initialData = initialData == null ? null : initialData.clone();
        initialSlots = Collections.unmodifiableSortedMap(new TreeMap<>(initialSlots));
    }

    public String name() { return spec.name(); }

    /** The initial value of a global-data map (a copy), or null for other maps. */
    @Override
    public byte[] initialData() { return initialData == null ? null : initialData.clone(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof ObjectMap m && spec.equals(m.spec) && origin == m.origin && section.equals(m.section)
                && Arrays.equals(initialData, m.initialData) && initialSlots.equals(m.initialSlots);
    }

    @Override
    public int hashCode() { return Objects.hash(spec, origin, section, Arrays.hashCode(initialData), initialSlots); }

    @Override
    public String toString() {
        return "ObjectMap[" + spec + ", " + origin + ", section " + section
                + (initialData == null ? "" : ", " + initialData.length + " bytes of data")
                + (initialSlots.isEmpty() ? "" : ", slots " + initialSlots) + "]";
    }
}
