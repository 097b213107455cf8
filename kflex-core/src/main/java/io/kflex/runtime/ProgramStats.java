package io.kflex.runtime;

import java.util.concurrent.atomic.LongAdder;

/**
 * Per-program counters like Linux's {@code bpf_stats} ({@code run_cnt}, {@code run_time_ns}) plus
 * what KFlex adds: cancellations and faults. Updated by every invocation without locks.
 */
public final class ProgramStats {
    private final LongAdder runs = new LongAdder();
    private final LongAdder runTimeNs = new LongAdder();
    private final LongAdder cancellations = new LongAdder();
    private final LongAdder faults = new LongAdder();

    void record(long nanos) {
        runs.increment();
        runTimeNs.add(nanos);
    }

    void cancelled() { cancellations.increment(); }

    void faulted() { faults.increment(); }

    public long runCount() { return runs.sum(); }

    public long runTimeNs() { return runTimeNs.sum(); }

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
