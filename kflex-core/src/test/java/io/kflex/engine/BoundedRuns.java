package io.kflex.engine;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Runs a program so that a test fails instead of hanging when the program cannot be stopped: the
 * run happens on a worker thread, is asked to cancel once {@code cancelAfter} has passed, and if
 * it still has not returned {@code grace} later the test fails with {@code describe}'s text (the
 * program, the verifier's facts). A Java thread cannot be killed, so such a runaway keeps its
 * worker (a daemon) busy until the JVM exits — it only happens on a failure.
 */
public final class BoundedRuns {
    private BoundedRuns() {}

    private static final ExecutorService WORKERS = Executors.newCachedThreadPool(task -> {
        Thread t = new Thread(task, "bounded-run");
        t.setDaemon(true);
        return t;
    });

    public static Outcome run(Executable program, Invocation invocation, Duration cancelAfter, Duration grace, Supplier<String> describe) {
        Future<Outcome> run = WORKERS.submit(() -> program.run(invocation));
        try {
            try {
                return run.get(cancelAfter.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException slow) {
                invocation.requestCancel("test time limit");
            }
            try {
                return run.get(grace.toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException runaway) {
                throw new AssertionError("the run ignored its cancel request for " + grace.toMillis() + " ms:\n" + describe.get());
            }
        } catch (ExecutionException e) {
            throw new AssertionError("the run threw " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            invocation.requestCancel("test interrupted");
            throw new AssertionError("interrupted while waiting for the run", e);
        }
    }
}
