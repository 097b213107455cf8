package io.kflex.heap;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.HeldResources;
import io.kflex.engine.Region;
import io.kflex.engine.SharedRegions;
import java.lang.foreign.ValueLayout;

/**
 * The {@code struct bpf_spin_lock} words of one shared window (a map's values) as a lock family:
 * what an invocation records for a held {@code bpf_spin_lock}, by offset in the window, without an
 * object per lock. One per mapped window, kept by the {@link SharedRegions} table
 * ({@link SharedRegions#lockFamily}), so that a lock is the same resource whichever invocation
 * or helper table took it.
 */
final class MapLockWords implements HeldResources.LockFamily {
    private static final ValueLayout.OfInt WORD = ValueLayout.JAVA_INT_UNALIGNED;

    private final long base;
    private final Region region;

    private MapLockWords(long window, Region region) {
        this.base = window << 32;
        this.region = region;
    }

    /**
     * The family of the lock word at {@code address} in {@code memory}: the one of its shared
     * window, or null when the address is not in one (an invocation's own window, or unmapped).
     */
    static MapLockWords at(AddressSpace memory, long address) {
        long window = address >>> 32;
        if (window < SharedRegions.FIRST_WINDOW) return null;
        // Every caller passes this factory, so the table's family of a window is one of ours.
        return (MapLockWords) memory.shared().lockFamily(window, MapLockWords::new);
    }

    /**
     * Frees the lock word at {@code offset} of the region this family was made for, the memory the
     * lock was taken in even if the window has been unmapped since.
     */
    @Override
    public void unlock(long offset) {
        try {
            SpinLocks.unlock(region.segment(), offset);
        } catch (IllegalArgumentException | UnsupportedOperationException notAtomic) {
            // A segment that cannot be accessed atomically (a byte[]-backed one has alignment 1):
            // AddressSpace takes its locks on such a region under the region's monitor.
            synchronized (region) {
                region.segment().set(WORD, offset, SpinLocks.UNLOCKED);
            }
        }
    }

    @Override
    public String describe(long offset) {
        return describeAt(base | offset);
    }

    /** How a held {@code bpf_spin_lock} at {@code address} is reported, whichever way it was recorded. */
    static String describeAt(long address) {
        return String.format("%s 0x%x", HeldResources.MAP_LOCK, address);
    }
}
