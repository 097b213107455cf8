package io.kflex.loader;

import java.util.Map;
import java.util.OptionalInt;

/**
 * How the host names its kfuncs: an extern declared {@code __ksym} in an object resolves by name to
 * the id the host gives that function (the id a {@code call} with {@code src_reg = 2} carries), or to
 * nothing if the host does not provide it.
 */
@FunctionalInterface
public interface KfuncResolver {
    OptionalInt resolve(String name);

    /** A host without kfuncs. */
    KfuncResolver NONE = name -> OptionalInt.empty();

    static KfuncResolver of(Map<String, Integer> ids) {
        Map<String, Integer> copy = Map.copyOf(ids);
        return name -> copy.containsKey(name) ? OptionalInt.of(copy.get(name)) : OptionalInt.empty();
    }
}
