package io.kflex.runtime;

import io.kflex.engine.Outcome;
import java.util.List;

/**
 * What a test run gives back, like {@code bpftool prog run}: the return value of the last run (a
 * u32, as {@code BPF_PROG_TEST_RUN} reports it; the outcome keeps all 64 bits of r0), the
 * median duration of one run, the packet (for XDP, preceded by the metadata the program reserved,
 * as Linux hands it back) and context after the last run, and — when the last run
 * did not return — how it ended: a fault, or a cancellation with the point it stopped at and the
 * resources released there.
 */
public record TestRunResult(String program, Outcome outcome, long retval, long durationNs, int runs,
                            byte[] dataOut, byte[] ctxOut) {

    public TestRunResult {
        dataOut = dataOut == null ? new byte[0] : dataOut.clone();
        ctxOut = ctxOut == null ? new byte[0] : ctxOut.clone();
    }

    public boolean cancelled() { return outcome instanceof Outcome.Cancelled; }

    public boolean faulted() { return outcome instanceof Outcome.Faulted; }

    /** The cancellation point the last run stopped at, or -1. */
    public int cancelPoint() { return outcome instanceof Outcome.Cancelled c ? c.pc() : -1; }

    /** Resources the cancellation released (kinds, e.g. {@code socket}, {@code spin_lock}). */
    public List<String> released() { return outcome instanceof Outcome.Cancelled c ? c.released() : List.of(); }

    @Override public byte[] dataOut() { return dataOut.clone(); }

    @Override public byte[] ctxOut() { return ctxOut.clone(); }
}
