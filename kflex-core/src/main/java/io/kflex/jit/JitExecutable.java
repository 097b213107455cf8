package io.kflex.jit;

import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Stack;
import io.kflex.engine.TailCallable;
import java.lang.invoke.MethodHandle;
import io.kflex.engine.CallbackOutcome;
import java.util.List;
import java.util.Map;

/**
 * A compiled program: maps a fresh stack, calls the generated entry method, turns unwinding into
 * outcomes. Tail calls are driven by {@link TailCallable#run}: a pending one unwinds the generated
 * frames and {@link #enter} returns null.
 */
final class JitExecutable implements TailCallable {
    private final JitEntry entry;
    private final byte[] classBytes;
    private final Map<Integer, MethodHandle> functions;
    private final Shape shape;

    /**
     * What the compiler made of the program, for tests and reports.
     *
     * @param splitSubprograms subprograms split into regions to stay under HotSpot's compile limit
     * @param hostAccesses loads and stores compiled as direct packet, context or map-value accesses (from verifier facts)
     * @param stackBytesToZero bytes at the top of the stack each run zeroes (the verified depth, or all of it)
     * @param boundCalls helper calls bound to their map at load time (constant map argument)
     * @param stackKeyLookups bound map lookups that read a key on the stack as array elements
     * @param largestMethodBytes bytes of bytecode of the generated class's largest method (HotSpot's
     *        compilers have limits: docs/jit.md, "C1's limit and tier 2")
     */
    record Shape(int splitSubprograms, int hostAccesses, int stackBytesToZero, int boundCalls, int stackKeyLookups,
                 int largestMethodBytes) {}

    JitExecutable(JitEntry entry, byte[] classBytes, Map<Integer, MethodHandle> functions, Shape shape) {
        this.entry = entry;
        this.functions = Map.copyOf(functions);
        this.classBytes = classBytes;
        this.shape = shape;
    }

    /** The generated class file. */
    byte[] classBytes() { return classBytes.clone(); }

    Shape shape() { return shape; }

    /** The generated hidden class. */
    Class<?> programClass() { return entry.getClass(); }

    /** How many subprograms were split into regions to stay under HotSpot's compile limit. */
    int splitSubprograms() { return shape.splitSubprograms(); }

    /** Loads and stores compiled as direct packet, context or map-value segment accesses (from verifier facts). */
    int hostAccesses() { return shape.hostAccesses(); }

    /** Helper calls bound to their map at load time (constant map argument). */
    int boundCalls() { return shape.boundCalls(); }

    /** Bytes of stack each run zeroes. */
    int stackBytesToZero() { return shape.stackBytesToZero(); }

    @Override
    public String description() {
        int split = shape.splitSubprograms();
        return split == 0 ? "jit" : "jit (" + split + " subprogram(s) split under HotSpot's compile limit)";
    }

    @Override
    public Outcome enter(Invocation invocation, long[] arguments) {
        Stack.Mapped stack;
        try {
            stack = Stack.mapInto(invocation.memory(), shape.stackBytesToZero());
        } catch (RuntimeException e) {
            return new Outcome.Faulted(0, "cannot map the stack: " + e.getMessage());
        }
        JitContext context = new JitContext(invocation, stack, functions);
        Invocation.FunctionCaller previous = invocation.bindFunctionCaller(context);
        try (stack) {
            long r0 = entry.enter(context, argument(arguments, 0), argument(arguments, 1),
                    argument(arguments, 2), argument(arguments, 3), argument(arguments, 4));
            return Outcome.Returned.of(r0);
        } catch (JitFault f) {
            return new Outcome.Faulted(f.pc, f.reason);
        } catch (JitCancellation c) {
            return new Outcome.Cancelled(c.pc, c.reason, List.of());
        } catch (JitTailCall t) {
            return null;
        } catch (CallbackOutcome c) {
            return c.outcomeAt(-1);
        } catch (Throwable t) {
            // Generated code attributes every fault it can raise; this is the last line of defence.
            return new Outcome.Faulted(-1, "unexpected failure: " + t);
        } finally {
            invocation.bindFunctionCaller(previous);
        }
    }

    private static long argument(long[] arguments, int i) {
        return i < arguments.length ? arguments[i] : 0;
    }
}
