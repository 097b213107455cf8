package io.kflex.runtime;

import io.kflex.engine.CancellationBeacon;
import io.kflex.engine.Invocation;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Enforces time budgets on running invocations with an <em>epoch ticker</em> (DESIGN §6): one
 * daemon thread advances a tick counter every {@link #tick()} and scans the invocations that are
 * running; one whose budget has elapsed is asked to cancel itself
 * ({@link Invocation#requestCancel}), and it unwinds at its next cancellation point.
 *
 * <p>Registering an invocation is what every hook does per invocation, so it is kept cheap: each
 * thread owns a reusable {@link Watch} slot (created the first time the thread watches something)
 * into which {@link #watch} writes the start tick, the budget and — last, with release semantics —
 * the invocation; {@link Watch#close} clears the invocation again. No lock, no allocation, no
 * clock read on that path: the start is the ticker's current tick, read opaquely.
 *
 * <p>Precision: a budget is rounded up to whole ticks and the ticker cancels an invocation once
 * more than that many ticks have passed since it started, so the request comes between one tick
 * early and one tick (plus the ticker's scheduling delay) late. With the default 1 ms tick and a
 * 10 ms budget: after 9 to 11 ms.
 *
 * <p>Thread-safe. A {@link Watch} belongs to the thread that opened it and must be closed by that
 * thread (try-with-resources). Close the watchdog to stop its thread.
 */
public final class Watchdog implements AutoCloseable {
    /** The default tick: fine enough for the default budget of 10 ms, cheap enough to run always. */
    public static final Duration DEFAULT_TICK = Duration.ofMillis(1);

    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final VarHandle INVOCATION, TICK, FIRED;
    /** How often (in ticks) the ticker forgets the slots of threads that have ended. */
    private static final int PURGE_EVERY = 1024;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            INVOCATION = lookup.findVarHandle(Watch.class, "invocation", Invocation.class);
            FIRED = lookup.findVarHandle(Watch.class, "firedSequence", long.class);
            TICK = lookup.findVarHandle(Watchdog.class, "currentTick", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final long tickNanos;
    /** When tick 0 began; tick {@code n} is published no earlier than {@code origin + n * tickNanos}. */
    private final long origin = System.nanoTime();
    private final Duration tick;
    private final Thread ticker;
    private final ThreadLocal<Watch> slots = new ThreadLocal<>();
    /** Every slot the ticker scans; grows by one per thread that ever watched (and by nesting). */
    private final CopyOnWriteArrayList<Watch> registered = new CopyOnWriteArrayList<>();
    @SuppressWarnings("unused") // accessed through TICK
    private long currentTick;
    private volatile boolean closed;

    /** A watchdog ticking every {@link #DEFAULT_TICK}. */
    public Watchdog() {
        this(DEFAULT_TICK);
    }

    /** A watchdog ticking every {@code tick} (at least 10 µs). */
    public Watchdog(Duration tick) {
        if (tick.compareTo(Duration.ofNanos(10_000)) < 0) throw new IllegalArgumentException("tick must be at least 10 µs, not " + tick);
        this.tick = tick;
        this.tickNanos = saturatedNanos(tick);
        this.ticker = Thread.ofPlatform().daemon().name("kflex-watchdog-" + THREADS.incrementAndGet()).unstarted(this::tickLoop);
        ticker.setPriority(Thread.MAX_PRIORITY);
        ticker.start();
    }

    /** The tick period. */
    public Duration tick() { return tick; }

    /**
     * A thread's slot: one registration at a time, reused for every invocation the thread runs.
     * {@link #close} ends the registration (idempotent, never throws).
     */
    public static final class Watch implements AutoCloseable {
        private final Thread thread;
        /** The invocation being watched, or null: written last on registration, with release. */
        @SuppressWarnings("unused") // accessed through INVOCATION
        private Invocation invocation;
        // Written by the owning thread before the invocation is published, read by the ticker after.
        private long startTick;
        private long budgetTicks;
        private Duration budget;
        private long sequence;
        /** The sequence number of the registration the ticker cancelled last. */
        @SuppressWarnings("unused") // accessed through FIRED
        private long firedSequence = -1;
        // Written and read by the ticker only: the registration it first saw, and the tick before
        // that scan. The start tick an invocation reads may be stale when the ticker runs late and
        // then catches up; counting from no earlier than one tick before the first scan that saw
        // the registration keeps a cancellation from ever coming more than one tick early.
        private long seenSequence = -1;
        private long seenTick;
        /** A slot for a watch opened while this one is open (an invocation inside an invocation). */
        private Watch nested;

        private final Watchdog watchdog;

        private Watch(Thread thread, Watchdog watchdog) {
            this.thread = thread;
            this.watchdog = watchdog;
        }

        /**
         * Nanoseconds since the current (or, after close, the last) registration began, measured
         * from the start of the tick it began in: never less than the true time, at most one tick
         * (plus any delay of the ticker) more. For reports of runs that were not timed otherwise.
         */
        public long elapsedNanos() {
            return System.nanoTime() - (watchdog.origin + startTick * watchdog.tickNanos);
        }

        /** Whether the budget of the current (or, after close, the last) registration elapsed and cancellation was requested. */
        public boolean fired() {
            return (long) FIRED.getOpaque(this) == sequence;
        }

        @Override
        public void close() {
            if (Thread.currentThread() != thread) throw new IllegalStateException("a watch is closed by the thread that opened it");
            INVOCATION.setRelease(this, (Invocation) null);
        }

        private boolean active() {
            return INVOCATION.getOpaque(this) != null;
        }

        private Watch arm(Invocation inv, Duration limit, long ticks, long now) {
            budget = limit;
            budgetTicks = ticks;
            startTick = now;
            sequence++;
            INVOCATION.setRelease(this, inv);
            return this;
        }
    }

    /**
     * Watches {@code invocation} on the current thread: unless the returned handle is closed first,
     * the watchdog calls {@code invocation.requestCancel("exceeded budget of ...")} once
     * {@code budget} has elapsed. Returns the thread's slot, to be closed by this thread.
     */
    public Watch watch(Invocation invocation, Duration budget) {
        return watch(slot(), invocation, budget);
    }

    /**
     * The calling thread's slot (made the first time), for a caller that watches invocation after
     * invocation on this thread and keeps it ({@link #watch(Watch, Invocation, Duration)}) rather
     * than look it up each time.
     */
    public Watch slot() {
        Watch slot = slots.get();
        return slot != null ? slot : newSlot();
    }

    /**
     * {@link #watch(Invocation, Duration)} through the calling thread's {@link #slot()}, which the
     * caller kept.
     *
     * @throws IllegalArgumentException when {@code slot} is another watchdog's or another thread's
     */
    public Watch watch(Watch slot, Invocation invocation, Duration budget) {
        if (budget.isNegative()) throw new IllegalArgumentException("negative budget " + budget);
        if (slot.watchdog != this || slot.thread != Thread.currentThread()) {
            throw new IllegalArgumentException("a watch slot serves its own watchdog and thread");
        }
        while (slot.active()) {
            // Rare: an invocation started while another one on this thread is still watched.
            if (slot.nested == null) {
                slot.nested = new Watch(slot.thread, this);
                registered.add(slot.nested);
            }
            slot = slot.nested;
        }
        long now = (long) TICK.getOpaque(this);
        // A hook passes the same budget run after run: its tick count (two 64-bit divisions) is
        // computed once, not per run.
        long ticks = budget.equals(slot.budget) ? slot.budgetTicks : ticks(budget);
        return slot.arm(invocation, budget, ticks, now);
    }

    private Watch newSlot() {
        Watch slot = new Watch(Thread.currentThread(), this);
        registered.add(slot);
        slots.set(slot);
        return slot;
    }

    /** Invocations being watched right now. */
    public int armed() {
        int n = 0;
        for (Watch w : registered) if (w.active()) n++;
        return n;
    }

    /** Slots the ticker scans (one per thread that watched an invocation and is still alive). */
    public int slots() {
        return registered.size();
    }

    /** Stops the ticker; invocations still watched are never cancelled by it. */
    @Override
    public void close() {
        closed = true;
        ticker.interrupt();
        try {
            ticker.join(1_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void tickLoop() {
        long tickNo = 0;
        while (!closed) {
            long next = origin + (tickNo + 1) * tickNanos;
            for (long wait = next - System.nanoTime(); wait > 0 && !closed; wait = next - System.nanoTime()) {
                LockSupport.parkNanos(wait);
            }
            if (closed) return;
            // Count the ticks that really passed (a late wake-up skips some), so budgets follow the clock.
            tickNo = Math.max(tickNo + 1, (System.nanoTime() - origin) / tickNanos);
            TICK.setOpaque(this, tickNo);
            scan(tickNo);
            CancellationBeacon.sweep(); // repairs a request that raced with the end of its run
            if (tickNo % PURGE_EVERY == 0) purgeEndedThreads();
        }
    }

    private void scan(long now) {
        for (Watch w : registered) {
            Invocation inv = (Invocation) INVOCATION.getAcquire(w);
            if (inv == null) continue;
            long start = w.startTick, ticks = w.budgetTicks, sequence = w.sequence;
            Duration budget = w.budget;
            // The fields belong to inv only if the slot still holds it: otherwise the thread moved on.
            VarHandle.acquireFence();
            if (INVOCATION.getAcquire(w) != inv) continue;
            if (w.thread.isInterrupted()) {
                // The engines check only the invocation's request at their cancellation points
                // (the thread's interrupt flag would add two dependent loads to every check), so
                // the ticker turns an interrupt of a watched thread into a request.
                if ((long) FIRED.getOpaque(w) != sequence) {
                    FIRED.setOpaque(w, sequence);
                    inv.requestCancel("interrupted");
                }
                continue;
            }
            if (w.seenSequence != sequence) {
                w.seenSequence = sequence;
                w.seenTick = now - 1;
            }
            if (now - Math.max(start, w.seenTick) <= ticks) continue;
            if ((long) FIRED.getOpaque(w) == sequence) continue; // already asked
            // Marked fired first: the program may stop, and its host ask fired(), the moment the
            // request lands.
            FIRED.setOpaque(w, sequence);
            inv.requestCancel("exceeded budget of " + describe(budget));
        }
    }

    private void purgeEndedThreads() {
        registered.removeIf(w -> !w.thread.isAlive() && !w.active());
    }

    private long ticks(Duration budget) {
        long nanos = saturatedNanos(budget);
        long t = nanos / tickNanos;
        return nanos % tickNanos == 0 ? t : t + 1;
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
