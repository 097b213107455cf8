package io.kflex.engine;

import java.util.Objects;

/**
 * Ends the running program with {@link #outcome()}: thrown by {@link Invocation#callFunction} when
 * the called subprogram faulted or was cancelled, and by helpers that observe a cancellation
 * request while looping ({@code bpf_loop}). It passes through the helper to the engine, which
 * returns the outcome; a {@code pc} of -1 in it means "the helper call's instruction". Helpers
 * must not catch it. No stack trace: it is control flow.
 */
public final class CallbackOutcome extends RuntimeException {
    private final Outcome outcome;

    public CallbackOutcome(Outcome outcome) {
        super(String.valueOf(outcome), null, false, false);
        if (outcome instanceof Outcome.Returned) throw new IllegalArgumentException("a returned program does not end its caller");
        this.outcome = Objects.requireNonNull(outcome);
    }

    public Outcome outcome() { return outcome; }

    /** The outcome with an unknown pc (-1) replaced by {@code pc}. */
    public Outcome outcomeAt(int pc) {
        return switch (outcome) {
            case Outcome.Faulted f when f.pc() < 0 -> new Outcome.Faulted(pc, f.reason());
            case Outcome.Cancelled c when c.pc() < 0 -> new Outcome.Cancelled(pc, c.reason(), c.released());
            default -> outcome;
        };
    }

    /** Ends the program as cancelled if a cancellation is pending; for helpers that loop. */
    public static void checkCancellation(Invocation invocation) {
        String reason = invocation.cancelRequested();
        if (reason == null && Thread.currentThread().isInterrupted()) reason = "interrupted";
        if (reason != null) throw new CallbackOutcome(new Outcome.Cancelled(-1, reason, java.util.List.of()));
    }
}
