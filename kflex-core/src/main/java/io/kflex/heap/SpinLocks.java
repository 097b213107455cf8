package io.kflex.heap;

import io.kflex.engine.Invocation;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * The spin-lock protocol shared by extensions and the host: a 32-bit word in memory, 0 = free,
 * 1 = held, taken with a compare-and-set and given back with a release store (zeroed memory is an
 * unlocked lock, as {@code kflex.h} promises). Waiting is <em>resilient</em>: it never blocks
 * forever. A waiter gives up when its invocation is asked to cancel, when its thread is
 * interrupted, or when the timeout elapses, so a lock held by a stalled extension cannot hang the
 * host.
 */
public final class SpinLocks {
    private SpinLocks() {}

    public static final int UNLOCKED = 0;
    public static final int LOCKED = 1;

    /** Spins before the waiter starts yielding, then parking: the machine may have two cores. */
    private static final int BUSY_SPINS = 100;
    private static final int YIELDS = 100;
    private static final long MAX_PARK_NANOS = 50_000;

    private static final VarHandle WORD = ValueLayout.JAVA_INT.varHandle();

    /** How a wait for a lock ended. */
    public enum Wait { ACQUIRED, TIMED_OUT, CANCELLED, INTERRUPTED }

    /** Takes the lock word at {@code offset} of {@code segment} if it is free (offset 4-byte aligned). */
    public static boolean tryLock(MemorySegment segment, long offset) {
        return WORD.compareAndSet(segment, offset, UNLOCKED, LOCKED);
    }

    /** Frees the lock word at {@code offset} of {@code segment}. */
    public static void unlock(MemorySegment segment, long offset) {
        WORD.setRelease(segment, offset, UNLOCKED);
    }

    /** Whether the lock word at {@code offset} of {@code segment} is held by anyone. */
    public static boolean isLocked(MemorySegment segment, long offset) {
        return (int) WORD.getAcquire(segment, offset) != UNLOCKED;
    }

    /**
     * Calls {@code tryAcquire} until it succeeds or the wait must end: {@code invocation} (may be
     * null for host threads) was asked to cancel, the thread was interrupted (the interrupt stays
     * set), or {@code timeout} elapsed.
     */
    public static Wait acquire(BooleanSupplier tryAcquire, Duration timeout, Invocation invocation) {
        if (tryAcquire.getAsBoolean()) return Wait.ACQUIRED;
        long start = System.nanoTime();
        long budget = saturatedNanos(timeout);
        for (int round = 1; ; round++) {
            if (invocation != null && invocation.cancelRequested() != null) return Wait.CANCELLED;
            if (Thread.currentThread().isInterrupted()) return Wait.INTERRUPTED;
            long waited = System.nanoTime() - start;
            if (waited >= budget) return Wait.TIMED_OUT;
            if (round <= BUSY_SPINS) {
                Thread.onSpinWait();
            } else if (round <= BUSY_SPINS + YIELDS) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(Math.min(MAX_PARK_NANOS, budget - waited));
            }
            if (tryAcquire.getAsBoolean()) return Wait.ACQUIRED;
        }
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }
}
