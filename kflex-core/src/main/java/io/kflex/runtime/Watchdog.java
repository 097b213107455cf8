package io.kflex.runtime;

import io.kflex.engine.Invocation;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Enforces time budgets on running invocations: {@link #watch} arms a budget that asks the
 * invocation to cancel itself when it elapses; closing the returned handle disarms it.
 *
 * <p>Arming and disarming are on every invocation's path, so they must not cost a system call
 * or a shared data structure update: each thread has a slot, registered once, that holds its
 * armed watch (a second slot is added only while a thread nests watches), and one daemon thread
 * scans the slots at least every
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

    /** Every thread's slot; slots of threads that ended are dropped by the scan. */
    private final ConcurrentLinkedQueue<Slot> slots = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Slot> local = ThreadLocal.withInitial(this::register);
    private final Thread thread;
    private volatile boolean closed;
    /** When the thread wakes up next (System.nanoTime), or Long.MAX_VALUE while it sleeps without a deadline. */
    private volatile long wakeAt = Long.MAX_VALUE;

    public Watchdog() {
        thread = new Thread(this::loop, "kflex-watchdog-" + THREADS.incrementAndGet());
        thread.setDaemon(true);
        thread.start();
    }

    /** Where a thread's armed watch is published to the watchdog thread. */
    private static final class Slot {
        volatile Watch watch;
        private final WeakReference<Thread> owner = new WeakReference<>(Thread.currentThread());
        /** A slot made for a nested watch: removed from the queue when that watch closes. */
        final boolean temporary;

        Slot(boolean temporary) {
            this.temporary = temporary;
        }

        boolean abandoned() {
            Thread t = owner.get();
            return watch == null && (temporary || t == null || !t.isAlive());
        }
    }

    private Slot register() {
        Slot s = new Slot(false);
        slots.add(s);
        return s;
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

        private final Slot slot;
        private final Invocation invocation;
        private final Duration budget;
        private final long deadline;
        @SuppressWarnings("unused") // accessed through STATE
        private volatile int state;

        private Watch(Slot slot, Invocation invocation, Duration budget, long deadline) {
            this.slot = slot;
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
            if (slot.watch == this) slot.watch = null;
        }

        /** Called by the watchdog thread once the deadline passed. */
        private void fire() {
            if (STATE.compareAndSet(this, ARMED, FIRED)) {
                // The message is built only here: arming stays allocation-light.
                invocation.requestCancel("exceeded budget of " + describe(budget));
            }
        }

        private boolean armed() {
            return state == ARMED;
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
        Slot slot = local.get();
        Watch current = slot.watch;
        if (current != null && current.armed()) {
            // Nested on this thread (a host callback running another extension): a slot of its own.
            slot = new Slot(true);
            slots.add(slot);
        }
        // The watchdog reads the watch, then its (immutable) deadline: it never sees a deadline
        // of one watch with the state of another.
        Watch watch = new Watch(slot, invocation, budget, deadline);
        slot.watch = watch;
        // Wake the thread only when it would otherwise look too late: asleep, or a short budget.
        if (deadline - wakeAt < 0 || wakeAt == Long.MAX_VALUE) LockSupport.unpark(thread);
        return watch;
    }

    /** Watches armed and not yet fired or closed. */
    public int armed() {
        int n = 0;
        for (Slot s : slots) {
            Watch w = s.watch;
            if (w != null && w.armed()) n++;
        }
        return n;
    }

    private void loop() {
        long idleSince = System.nanoTime();
        while (!closed) {
            long now = System.nanoTime();
            long next = now + TICK_NANOS;
            boolean any = false;
            for (Iterator<Slot> it = slots.iterator(); it.hasNext(); ) {
                Slot s = it.next();
                Watch w = s.watch;
                if (w == null || !w.armed()) {
                    if (s.abandoned()) it.remove();
                    continue;
                }
                any = true;
                if (w.deadline - now <= 0) w.fire();
                else if (w.deadline - next < 0) next = w.deadline;
            }
            if (any) idleSince = now;
            if (now - idleSince > IDLE_NANOS) {
                wakeAt = Long.MAX_VALUE;
                // Re-check after publishing that we sleep: a watch armed in between unparks us.
                if (armed() == 0 && !closed) LockSupport.park(this);
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
