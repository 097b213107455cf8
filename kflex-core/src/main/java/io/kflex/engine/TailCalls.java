package io.kflex.engine;

/** The engine-neutral driver of tail calls; see {@link TailCallable} for the protocol. */
public final class TailCalls {
    private TailCalls() {}

    /** Runs {@code entry} and then every tail-call target it (transitively) hands over to. */
    public static Outcome run(TailCallable entry, Invocation invocation) {
        invocation.resetTailCalls();
        TailCallable current = entry;
        long[] arguments = invocation.arguments();
        while (true) {
            Outcome outcome;
            try {
                outcome = current.enter(invocation, arguments);
            } catch (RuntimeException | StackOverflowError e) {
                // Engines turn their own failures into outcomes; this is the last line of defence.
                outcome = new Outcome.Faulted(-1, "engine failure: " + e);
            }
            Invocation.TailCall next = invocation.takePendingTailCall();
            if (outcome != null) return outcome;
            if (next == null) return new Outcome.Faulted(-1, "engine stopped a program without an outcome or a pending tail call");
            current = next.target();
            arguments = new long[] {next.context()};
        }
    }
}
