package io.kflex.jit;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Stack;
import java.lang.foreign.MemorySegment;

/**
 * Per-invocation state that generated code shares across its subprogram methods: the invocation
 * (helpers, cancellation), its address space, where the stack frames live, and the
 * {@code may_goto} budget. Registers are not here: they are locals of the generated methods.
 */
final class JitContext {
    final Invocation invocation;
    final AddressSpace memory;
    final long stackBase;
    /** The stack region's memory, for direct access to constant-offset frame slots. */
    final MemorySegment stack;
    /** Remaining {@code may_goto} fall-throughs; the jump is taken once this reaches 0. */
    long loopBudget;

    JitContext(Invocation invocation, long stackBase, MemorySegment stack) {
        this.invocation = invocation;
        this.memory = invocation.memory();
        this.stackBase = stackBase;
        this.stack = stack;
        this.loopBudget = invocation.loopBudget();
    }

    /**
     * r10 of the frame at call depth {@code depth} (0 = the program's main frame), in the shared
     * {@link Stack} layout: frames grow down from the top of the stack region.
     */
    long framePointer(int depth) {
        return Stack.framePointer(stackBase, depth);
    }

    /** Offset of that frame pointer inside the stack region. */
    long frameOffset(int depth) {
        return Stack.framePointer(0, depth);
    }
}
