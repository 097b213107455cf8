package io.kflex.helpers;

import io.kflex.engine.Invocation;

/**
 * A host function an extension calls by its Linux helper number. Arguments arrive in r1..r5, the
 * result goes to r0. A helper reports misuse by throwing {@link io.kflex.engine.ExtensionFault}.
 */
@FunctionalInterface
public interface Helper {
    long call(Invocation invocation, long r1, long r2, long r3, long r4, long r5);
}
