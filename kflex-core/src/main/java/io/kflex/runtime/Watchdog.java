package io.kflex.runtime;

import io.kflex.engine.Invocation;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Enforces time budgets on running invocations: {@link #watch} arms a budget that asks the
 * invocation to cancel itself when it elapses; closing the returned handle disarms it.
 *
 * <p>Arming and disarming are on every invocation's path, so they must not cost a system call:
 * a watch is one entry in a concurrent set, and one daemon thread scans the set at least every
 * {@value #TICK_MICROS} µs (sooner when the earliest deadline is sooner), firing the watches whose
 * deadline passed. A timer queue instead signals its thread whenever a new watch becomes the
 * earliest — on every invocation when they run back to back — which cost about 2 µs per
 * invocation. A budget therefore fires up to one tick late; only a watch with a deadline before
 * the thread's next wake-up wakes it early. After {@value #IDLE_MILLIS} ms without watches the
 * thread sleeps until the next one. Thread-safe; close the watchdog to stop its thread.
 */
public final class Watchdog implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    static final long TICK_MICROS = 1000;
    static final long IDLE_MILLIS = 200;
    private static final long TICK_NANOS = TimeUnit.MICROSECONDS.toNanos(TICK_MICROS);
    private static final long IDLE_NANOS = TimeUnit.MILLISECONDS.toNanos(IDLE_MILLIS);

    private final Set<Watch> armed = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean closed;
    /** When the thread wakes up next (System.nanoTime), or Long.MAX_VALUE while it sleeps without a deadline. */
    private volatile long wakeAt = Long.MAX_VALUE;

    public Watchdog() {
        thread = new Thread(this::loop, "kflex-watchdog-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    /** An armed budget; {@link #close} disarms it (idempotent, never throws). */
    public static final class Watch implements AutoCloseable {
        private static final int ARMED = 0, CLOSED = 1, FIRED = 2;
        private static final VarHandle STATE;

        static {
            try {
                STATE = MethodHandles.lookup().findVarHandle(Watch.class, "state", int.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private final Watchdog watchdog;
        private final Invocation invocation;
        private final Duration budget;
        private final long deadline;
        @SuppressWarnings("unused") // accessed through STATE
        private volatile int state;

        private Watch(Watchdog watchdog, Invocation invocation, Duration budget, long deadline) {
            this.watchdog = watchdog;
            this.invocation = invocation;
            this.budget = budget;
            this.deadline = deadline;
        }

        /** Whether the budget elapsed and the cancellation was requested. */
        public boolean fired() {
            return state == FIRED;
        }

        @Override
        public void close() {
            // A watch that fired stays fired; one closed first never fires.
            STATE.compareAndSet(this, ARMED, CLOSED);
            watchdog.armed.remove(this);
        }

        /** Called by the watchdog thread once the deadline passed. */
        private void fire() {
            if (STATE.compareAndSet(this, ARMED, FIRED)) {
                // The message is built only here: arming stays allocation-light.
                invocation.requestCancel("exceeded budget of " + describe(budget));
            }
            watchdog.armed.remove(this);
        }
    }

    /**
     * Arms a budget for {@code invocation}: unless the handle is closed first, the watchdog calls
     * {@code invocation.requestCancel("exceeded budget of ...")} once {@code budget} has elapsed
     * (give or take a tick).
     */
    public Watch watch(Invocation invocation, Duration budget) {
        if (budget.isNegative()) throw new IllegalArgumentException("negative budget " + budget);
        long now = System.nanoTime();
        long nanos = saturatedNanos(budget);
        long deadline = nanos > Long.MAX_VALUE - now ? Long.MAX_VALUE : now + nanos;
        Watch watch = new Watch(this, invocation, budget, deadline);
        armed.add(watch);
        // Wake the thread only when it would otherwise look too late: asleep, or a short budget.
        if (deadline - wakeAt < 0 || wakeAt == Long.MAX_VALUE) LockSupport.unpark(thread);
        return watch;
    }

    /** Watches armed and not yet fired or closed. */
    public int armed() {
        return armed.size();
    }

    private void loop() {
        long idleSince = System.nanoTime();
        while (!closed) {
            long now = System.nanoTime();
            long next = now + TICK_NANOS;
            for (Watch w : armed) {
                if (w.deadline - now <= 0) w.fire();
                else if (w.deadline - next < 0) next = w.deadline;
            }
            if (!armed.isEmpty()) idleSince = now;
            if (now - idleSince > IDLE_NANOS) {
                wakeAt = Long.MAX_VALUE;
                // Re-check after publishing that we sleep: a watch armed in between unparks us.
                if (armed.isEmpty() && !closed) LockSupport.park(this);
                idleSince = System.nanoTime();
            } else {
                wakeAt = next;
                LockSupport.parkNanos(this, Math.max(next - now, 1));
            }
        }
    }

    /** Stops the watchdog thread; watches still armed never fire. */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(thread);
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
