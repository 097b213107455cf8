package io.kflex.maps;

import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Epoch-based reclamation, the JVM analogue of RCU for map values: a value slot unlinked from a
 * map (deleted or replaced) is not reused while an invocation that might still hold a pointer to
 * it is running.
 *
 * <p>Every running invocation is inside an epoch ({@code try (var e = epochs.enter()) {...}}).
 * Entering publishes the current global epoch in the thread's own slot; leaving clears it — a
 * thread-local read and one volatile write each way, no shared lock. Retiring a slot advances the
 * global epoch and tags the slot with the epoch before the advance; the slot may be reused once
 * every thread that is inside an epoch entered a later one. Such a thread entered after the slot
 * was unlinked, so it can no longer find it.
 *
 * <p>Entering is re-entrant per thread (a host callback that runs another invocation): only the
 * outermost enter and exit publish.
 */
public final class Epochs {
    /** The published epoch of a thread that is not inside an invocation. */
    private static final long IDLE = Long.MAX_VALUE;

    private final AtomicLong global = new AtomicLong(1);
    private final ConcurrentLinkedQueue<Slot> slots = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Slot> local = ThreadLocal.withInitial(this::register);

    /** One thread's published epoch; also the guard its {@link #enter} returns. */
    public static final class Slot implements AutoCloseable {
        private static final java.lang.invoke.VarHandle EPOCH;

        static {
            try {
                EPOCH = java.lang.invoke.MethodHandles.lookup().findVarHandle(Slot.class, "epoch", long.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        private volatile long epoch = IDLE;
        private int depth;
        private final WeakReference<Thread> owner = new WeakReference<>(Thread.currentThread());
        private final Epochs epochs;

        private Slot(Epochs epochs) { this.epochs = epochs; }

        /**
         * Enters an epoch on this slot's thread, as {@link Epochs#enter} does, for a caller that
         * kept the slot ({@link Epochs#slot}) and so skips the thread-local look-up. Call it on
         * the slot's thread only.
         */
        public Slot enter() {
            if (depth++ == 0) epoch = epochs.global.get();
            return this;
        }

        /** Leaves the epoch entered by the matching {@link Epochs#enter}. */
        @Override
        public void close() {
            if (depth <= 0) throw new IllegalStateException("epoch exited more often than entered");
            // A release store is enough to leave: everything the invocation read stays before it.
            // (Entering needs the full volatile store: the published epoch must be visible
            // before the invocation reads any map.)
            if (--depth == 0) EPOCH.setRelease(this, IDLE);
        }

        private boolean abandoned() {
            Thread t = owner.get();
            return (t == null || !t.isAlive()) && epoch == IDLE;
        }
    }

    private Slot register() {
        Slot s = new Slot(this);
        slots.add(s);
        return s;
    }

    /**
     * Enters an epoch on the calling thread: until the returned guard is closed, no value slot
     * that this thread could have found in a map is reused. Close it on the same thread.
     */
    public Slot enter() {
        return local.get().enter();
    }

    /**
     * The calling thread's slot, for a caller that enters epochs on this thread again and again
     * and keeps the slot ({@link Slot#enter}) rather than look it up each time.
     */
    public Slot slot() {
        return local.get();
    }

    /** Whether the calling thread is inside an epoch. */
    public boolean inside() {
        return local.get().depth > 0;
    }

    /**
     * Called after something was unlinked: advances the global epoch and returns the tag to
     * retire it with (see {@link #reclaimable}).
     */
    long retire() {
        return global.getAndIncrement();
    }

    /** Whether something retired with {@code tag} can no longer be reached by any running invocation. */
    boolean reclaimable(long tag) {
        return tag < oldestActive();
    }

    /** The oldest epoch a thread is inside of, or {@code Long.MAX_VALUE} when none is. */
    long oldestActive() {
        long min = IDLE;
        for (Iterator<Slot> it = slots.iterator(); it.hasNext(); ) {
            Slot s = it.next();
            long e = s.epoch;
            if (e < min) min = e;
            else if (e == IDLE && s.abandoned()) it.remove();
        }
        return min;
    }

    /** The current global epoch (for tests and statistics). */
    public long current() { return global.get(); }
}
