package io.kflex.jit;

/**
 * How a run enters a generated program: the hidden class implements this interface with a method
 * that calls the entry subprogram at call depth 0. An interface call on the class's one instance
 * is cheaper than {@code MethodHandle.invokeExact} on a handle held in a field (which C2 cannot
 * treat as a constant), and lets C2 inline the program into the run's driver.
 */
interface JitEntry {
    long enter(JitContext context, long r1, long r2, long r3, long r4, long r5);
}
