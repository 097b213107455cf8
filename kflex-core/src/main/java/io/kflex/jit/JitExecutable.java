package io.kflex.jit;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

/** A compiled program: maps a fresh stack, calls the generated entry method, turns unwinding into outcomes. */
final class JitExecutable implements Executable {
    private static final int STACK_SIZE = JitEngine.FRAME_SIZE * JitEngine.MAX_CALL_DEPTH;

    private final MethodHandle entry;
    private final long loopBudget;
    private final byte[] classBytes;
    private final int splitSubprograms;

    JitExecutable(MethodHandle entry, long loopBudget, byte[] classBytes, int splitSubprograms) {
        this.entry = entry;
        this.loopBudget = loopBudget;
        this.classBytes = classBytes;
        this.splitSubprograms = splitSubprograms;
    }

    /** The generated class file. */
    byte[] classBytes() { return classBytes.clone(); }

    /** How many subprograms were split into regions to stay under HotSpot's compile limit. */
    int splitSubprograms() { return splitSubprograms; }

    @Override
    public Outcome run(Invocation invocation) {
        AddressSpace memory = invocation.memory();
        long stack;
        Region stackRegion = new Region(Region.Kind.STACK, MemorySegment.ofArray(new long[STACK_SIZE / 8]), true, "stack");
        try {
            stack = memory.map(stackRegion);
        } catch (RuntimeException e) {
            return new Outcome.Faulted(0, "cannot map the stack: " + e.getMessage());
        }
        try {
            JitContext context = new JitContext(invocation, stack, stackRegion.segment(), loopBudget);
            long r0 = (long) entry.invokeExact(context, 0, invocation.argument(0), invocation.argument(1),
                    invocation.argument(2), invocation.argument(3), invocation.argument(4));
            return new Outcome.Returned(r0);
        } catch (JitFault f) {
            return new Outcome.Faulted(f.pc, f.reason);
        } catch (JitCancellation c) {
            return new Outcome.Cancelled(c.pc, c.reason, List.of());
        } catch (StackOverflowError | OutOfMemoryError e) {
            return new Outcome.Faulted(0, "host resources exhausted: " + e);
        } catch (Throwable t) {
            return new Outcome.Faulted(0, "internal error: " + t);
        } finally {
            memory.unmap(stack);
        }
    }
}
