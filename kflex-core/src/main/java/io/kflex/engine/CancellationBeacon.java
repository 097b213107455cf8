package io.kflex.engine;

import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * One process-wide word that compiled programs poll at their cancellation points: nonzero while
 * some invocation that may still run has a cancellation request. Only when it is lit does a
 * point look at its own {@link Invocation#cancelRequested() invocation}, and it carries on if the
 * request is someone else's.
 *
 * <p>Why a global word and not the invocation's own field: the word sits at a constant address,
 * so the check is a load and a branch that holds no register across the loop. Reading the
 * invocation's field at every point kept the invocation live in a register or spill slot of every
 * hot loop; on pointer-chasing loops the spill traffic it caused cost twice what the load did
 * (skip-list lookups +14% against the uninstrumented JIT; with the word, half that). Requests are
 * rare and short-lived (a cancelled run stops at its next point), so the price — other programs'
 * points taking the slow path while a request is outstanding — is paid seldom and briefly.
 *
 * <p>Bookkeeping (all of it rare, so under one lock): a request {@linkplain #hold holds} the word
 * lit; the end of the requested invocation's run (see {@link Invocation#endRun()}) or the request
 * itself, when it comes after that end, releases it. A request that races with the end of the run
 * can miss both; {@link #sweep} (from the watchdog's scans and from points that find the word lit
 * for nobody) repairs that, since an invocation runs once and a finished one never reaches a point
 * again. Holds are weak: a requested invocation that is dropped without running — it never will —
 * stops holding the word at the next sweep.
 */
public final class CancellationBeacon {
    private CancellationBeacon() {}

    /**
     * How many requested invocations hold the beacon lit. Public only so that generated code can
     * read it with one {@code getstatic} (a volatile read: never hoisted out of a loop); only this
     * class writes it.
     */
    public static volatile int pending;

    private static final Set<Invocation> holders = Collections.newSetFromMap(new WeakHashMap<>());

    /** Whether any cancellation request may be outstanding. */
    public static boolean lit() {
        return pending != 0;
    }

    /** Lights the beacon for {@code invocation} (idempotent). */
    static synchronized void hold(Invocation invocation) {
        holders.add(invocation);
        pending = holders.size();
    }

    /** Takes {@code invocation}'s part out of the beacon (idempotent). */
    static synchronized void release(Invocation invocation) {
        holders.remove(invocation);
        pending = holders.size();
    }

    /**
     * Releases the holds of invocations whose run has ended or that can no longer run; returns
     * how many holds remain. Cheap when nothing is held. Safe at any time: an invocation runs once,
     * so a finished one reaches no point again.
     */
    public static int sweep() {
        if (pending == 0) return 0;
        synchronized (CancellationBeacon.class) {
            holders.removeIf(Invocation::runEnded);
            return pending = holders.size();
        }
    }
}
