package io.kflex.helpers;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/** Helpers by number, immutable once built. */
public final class HelperTable {
    private final Map<Integer, NamedHelper> helpers;

    /** A helper with the name used in messages and listings ({@code bpf_map_lookup_elem}). */
    public record NamedHelper(int id, String name, Helper implementation) {
        public NamedHelper {
            Objects.requireNonNull(name);
            Objects.requireNonNull(implementation);
        }
    }

    private HelperTable(Map<Integer, NamedHelper> helpers) {
        this.helpers = Map.copyOf(helpers);
    }

    public static HelperTable empty() {
        return new HelperTable(Map.of());
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

    public static final class Builder {
        private final Map<Integer, NamedHelper> helpers = new TreeMap<>();

        public Builder add(int id, String name, Helper helper) {
            if (helpers.putIfAbsent(id, new NamedHelper(id, name, helper)) != null) {
                throw new IllegalArgumentException("helper " + id + " defined twice");
            }
            return this;
        }

        public HelperTable build() {
            return new HelperTable(helpers);
        }
    }
}
