package io.kflex.helpers;

import io.kflex.engine.Invocation;

/**
 * {@code bpf_map_lookup_elem} bound to one map ({@link Helper#bindFirstArgument}), with a form
 * for the usual call site: the key on the program's stack. Compiled code that finds the key
 * pointer in its stack's window passes the {@code byte[]} behind the stack, and the map reads the
 * key as array elements — no region look-up, no segment.
 */
public interface StackKeyLookup extends Helper {
    /**
     * The lookup of the key at address {@code key}, which lies in the window of the run's stack
     * whose bytes are {@code stack}: exactly what {@link #call} returns or throws for that key
     * (a key that does not fit in the stack takes the generic path, which faults as it would).
     */
    long lookupOnStack(Invocation invocation, byte[] stack, long key);
}
