package io.kflex.heap;

import io.kflex.engine.HeldResources;
import java.lang.foreign.MemorySegment;

/**
 * The lock words of one heap as a lock family: what an invocation records for a held
 * {@code kflex_spin_lock}, by heap offset, without an object per lock. One per heap, so that a
 * lock is the same resource whichever program's kfuncs took it.
 */
final class HeapLockWords implements HeldResources.LockFamily {
    private final String heapName;
    private final MemorySegment segment;

    HeapLockWords(String heapName, MemorySegment segment) {
        this.heapName = heapName;
        this.segment = segment;
    }

    /** Frees the lock word at heap offset {@code offset} (throws {@link IllegalStateException} once a closeable heap is closed). */
    @Override
    public void unlock(long offset) {
        SpinLocks.unlock(segment, Heap.GUARD + offset);
    }

    @Override
    public String describe(long offset) {
        return String.format("%s %s+0x%x", HeapKfuncs.SPIN_LOCK, heapName, offset);
    }
}
