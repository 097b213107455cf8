package io.kflex.engine;

import java.util.ArrayList;
import java.util.List;

/** The engine-neutral driver of tail calls; see {@link TailCallable} for the protocol. */
public final class TailCalls {
    private TailCalls() {}

    /** Runs {@code entry} and then every tail-call target it (transitively) hands over to. */
    public static Outcome run(TailCallable entry, Invocation invocation) {
        invocation.beginRun();
        try {
            return runChain(entry, invocation);
        } finally {
            invocation.endRun();
        }
    }

    private static Outcome runChain(TailCallable entry, Invocation invocation) {
        AddressSpace memory = invocation.memory();
        if (memory.runs < 2) memory.runs++; // a second run makes the address space keep a stack (see Stack)
        TailCallable current = entry;
        // Engines only read the arguments: the invocation's own array, not a copy per run.
        long[] arguments = invocation.argumentsView();
        while (true) {
            Outcome outcome;
            try {
                outcome = current.enter(invocation, arguments);
            } catch (RuntimeException | StackOverflowError e) {
                // Engines turn their own failures into outcomes; this is the last line of defence.
                outcome = new Outcome.Faulted(-1, "engine failure: " + e);
            }
            Invocation.TailCall next = invocation.takePendingTailCall();
            if (outcome != null) return releaseHeld(invocation, outcome);
            if (next == null) return releaseHeld(invocation, new Outcome.Faulted(-1, "engine stopped a program without an outcome or a pending tail call"));
            current = next.target();
            arguments = new long[] {next.context()};
        }
    }

    /**
     * Releases what the invocation still holds when it ends. A verified program releases its locks
     * before it returns, so this matters after a fault or a cancellation: the resources are given
     * back and, for a cancellation, listed in the outcome.
     */
    private static Outcome releaseHeld(Invocation invocation, Outcome outcome) {
        if (!invocation.holdsResources()) return outcome;
        List<String> released = invocation.resources().releaseAll();
        if (outcome instanceof Outcome.Cancelled c) {
            List<String> all = new ArrayList<>(c.released());
            all.addAll(released);
            return new Outcome.Cancelled(c.pc(), c.reason(), List.copyOf(all));
        }
        return outcome;
    }
}
