package io.kflex.runtime;

import io.kflex.engine.Invocation;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Enforces time budgets on running invocations: {@link #watch} arms a timer that asks the
 * invocation to cancel itself when the budget elapses; closing the returned handle disarms it.
 * One daemon thread serves every watch, so arming and disarming cost a queue insertion and
 * removal. Thread-safe; close the watchdog to stop its thread.
 */
public final class Watchdog implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();

    private final ScheduledThreadPoolExecutor timer;

    public Watchdog() {
        timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread t = new Thread(runnable, "kflex-watchdog-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        // Most watches are disarmed long before they fire: drop them from the queue right away.
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** An armed budget; {@link #close} disarms it (idempotent, never throws). */
    public static final class Watch implements AutoCloseable {
        private final ScheduledFuture<?> timeout;

        private Watch(ScheduledFuture<?> timeout) {
            this.timeout = timeout;
        }

        /** Whether the budget elapsed and the cancellation was requested. */
        public boolean fired() {
            return timeout.isDone() && !timeout.isCancelled();
        }

        @Override
        public void close() {
            timeout.cancel(false);
        }
    }

    /**
     * Arms a budget for {@code invocation}: unless the handle is closed first, the watchdog calls
     * {@code invocation.requestCancel("exceeded budget of ...")} once {@code budget} has elapsed.
     */
    public Watch watch(Invocation invocation, Duration budget) {
        if (budget.isNegative()) throw new IllegalArgumentException("negative budget " + budget);
        String reason = "exceeded budget of " + describe(budget);
        long nanos = saturatedNanos(budget);
        return new Watch(timer.schedule(() -> invocation.requestCancel(reason), nanos, TimeUnit.NANOSECONDS));
    }

    /** Watches armed and not yet fired or closed. */
    public int armed() {
        return timer.getQueue().size();
    }

    /** Stops the watchdog thread; watches still armed never fire. */
    @Override
    public void close() {
        timer.shutdownNow();
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** "1 s", "250 ms", "40 µs", "7 ns": the coarsest unit that shows the budget exactly. */
    static String describe(Duration d) {
        long nanos = saturatedNanos(d);
        if (nanos % 1_000_000_000L == 0) return nanos / 1_000_000_000L + " s";
        if (nanos % 1_000_000L == 0) return nanos / 1_000_000L + " ms";
        if (nanos % 1_000L == 0) return nanos / 1_000L + " µs";
        return nanos + " ns";
    }
}
