package io.kflex.runtime;

import java.util.concurrent.atomic.LongAdder;

/**
 * Per-program counters like Linux's {@code bpf_stats} ({@code run_cnt}, {@code run_time_ns}) plus
 * what KFlex adds: cancellations and faults. Updated by every invocation without locks.
 *
 * <p>As with Linux's {@code kernel.bpf_stats_enabled}, run time is only measured while the
 * runtime's switch is on ({@link KFlexRuntime#enableRunTimeStats}, off by default): two clock
 * reads cost more than a short program's run. {@link #runTimeNs()} then sums the runs made while
 * it was on; {@link #timedRuns()} says how many those were. Runs, cancellations and faults are
 * always counted.
 */
public final class ProgramStats {
    private final LongAdder runs = new LongAdder();
    private final LongAdder runTimeNs = new LongAdder();
    private final LongAdder timedRuns = new LongAdder();
    private final LongAdder cancellations = new LongAdder();
    private final LongAdder faults = new LongAdder();

    /** A run whose time was measured. */
    void record(long nanos) {
        runs.increment();
        timedRuns.increment();
        runTimeNs.add(nanos);
    }

    /** A run whose time was not measured (run-time statistics off). */
    void recordUntimed() {
        runs.increment();
    }

    void cancelled() { cancellations.increment(); }

    void faulted() { faults.increment(); }

    public long runCount() { return runs.sum(); }

    /** Nanoseconds spent in the runs that were timed (0 while run-time statistics were never on). */
    public long runTimeNs() { return runTimeNs.sum(); }

    /** Runs whose time is in {@link #runTimeNs()}: those made while run-time statistics were on. */
    public long timedRuns() { return timedRuns.sum(); }

    public long cancellations() { return cancellations.sum(); }

    public long faults() { return faults.sum(); }

    /** A consistent-enough copy for reports. */
    public Snapshot snapshot() { return new Snapshot(runCount(), runTimeNs(), cancellations(), faults()); }

    public record Snapshot(long runCount, long runTimeNs, long cancellations, long faults) {}

    @Override
    public String toString() {
        return "run_cnt " + runCount() + " run_time_ns " + runTimeNs() + " cancellations " + cancellations() + " faults " + faults();
    }
}
