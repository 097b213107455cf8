package io.kflex.helpers;

import io.kflex.engine.Invocation;

/**
 * A host function an extension calls by its Linux helper number. Arguments arrive in r1..r5, the
 * result goes to r0. A helper reports misuse by throwing {@link io.kflex.engine.ExtensionFault}.
 */
@FunctionalInterface
public interface Helper {
    long call(Invocation invocation, long r1, long r2, long r3, long r4, long r5);

    /**
     * This helper specialised for call sites whose {@code r1} is always {@code r1} — a map the
     * verifier proved to be the same on every path ({@code lddw} of a program map) — or null when
     * it has no faster form for it. The result must behave exactly as this helper does when
     * called with that {@code r1}; engines may bind such a call site to it once, at load time.
     */
    default Helper bindFirstArgument(long r1) {
        return null;
    }

    /**
     * Whether a call of this helper never maps, unmaps or moves the invocation's own regions and
     * never requests a tail call, so that generated code may keep the regions it resolved before
     * the call. False unless a helper promises it.
     */
    default boolean keepsRegions() {
        return false;
    }
}
