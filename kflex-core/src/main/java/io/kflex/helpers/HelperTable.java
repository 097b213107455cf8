package io.kflex.helpers;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The host functions an extension is linked against: helpers by Linux number and kfuncs by the
 * id the loader gave their {@code __ksym} name. Immutable once built.
 */
public final class HelperTable {
    private final Map<Integer, NamedHelper> helpers;
    private final Map<Integer, NamedHelper> kfuncs;

    /** A helper with the name used in messages and listings ({@code bpf_map_lookup_elem}). */
    public record NamedHelper(int id, String name, Helper implementation) {
        public NamedHelper {
            Objects.requireNonNull(name);
            Objects.requireNonNull(implementation);
        }
    }

    private HelperTable(Map<Integer, NamedHelper> helpers, Map<Integer, NamedHelper> kfuncs) {
        this.helpers = Map.copyOf(helpers);
        this.kfuncs = Map.copyOf(kfuncs);
    }

    public static HelperTable empty() {
        return new HelperTable(Map.of(), Map.of());
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The helper with this number, or null. */
    public NamedHelper get(int id) {
        return helpers.get(id);
    }

    public Map<Integer, NamedHelper> all() {
        return new TreeMap<>(helpers);
    }

    /** The kfunc with this id ({@code call kfunc(id)}), or null. */
    public NamedHelper kfunc(int id) {
        return kfuncs.get(id);
    }

    public Map<Integer, NamedHelper> allKfuncs() {
        return new TreeMap<>(kfuncs);
    }

    /** A builder holding this table's entries, to extend it. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.helpers.putAll(helpers);
        b.kfuncs.putAll(kfuncs);
        return b;
    }

    public static final class Builder {
        private final Map<Integer, NamedHelper> helpers = new TreeMap<>();
        private final Map<Integer, NamedHelper> kfuncs = new TreeMap<>();

        public Builder add(int id, String name, Helper helper) {
            if (helpers.putIfAbsent(id, new NamedHelper(id, name, helper)) != null) {
                throw new IllegalArgumentException("helper " + id + " defined twice");
            }
            return this;
        }

        /** Binds kfunc {@code id} (the id the loader's {@code KfuncResolver} gave {@code name}). */
        public Builder addKfunc(int id, String name, Helper kfunc) {
            if (kfuncs.putIfAbsent(id, new NamedHelper(id, name, kfunc)) != null) {
                throw new IllegalArgumentException("kfunc " + id + " defined twice");
            }
            return this;
        }

        public HelperTable build() {
            return new HelperTable(helpers, kfuncs);
        }
    }
}
