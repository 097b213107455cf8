package io.kflex.engine;

/**
 * An {@link Executable} that can be the target of a tail call. Engines implement {@link #enter}
 * (one run of the program body) and inherit {@link #run}, which drives the chain of tail calls
 * through {@link TailCalls#run}.
 *
 * <p>The mechanism, identical for every engine: the tail-call helper calls
 * {@link Invocation#requestTailCall(TailCallable, long)}. Right after <em>every</em> helper call
 * the engine checks {@link Invocation#tailCallPending()}; if it is set, the engine abandons the
 * running program at once (all its frames, unmapping its stack) and {@link #enter} returns
 * {@code null}. The driver then enters the target with {@code r1} = the context the helper was
 * given and r2..r5 = 0, in the same invocation (same address space, same cancellation request).
 */
public interface TailCallable extends Executable {

    /**
     * Runs the program body once with r1..r5 = {@code arguments} (missing ones 0; the array is
     * only read, and may be the invocation's own, see {@link TailCalls#run}). Returns the
     * outcome, or {@code null} when the body stopped because a tail call is pending on
     * {@code invocation}. Never throws.
     */
    Outcome enter(Invocation invocation, long[] arguments);

    @Override
    default Outcome run(Invocation invocation) {
        return TailCalls.run(this, invocation);
    }
}
