package io.kflex.engine;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Regions that outlive invocations and are seen by all of them: map values, global data, heaps.
 * They occupy windows {@value #FIRST_WINDOW} and up of every {@link AddressSpace} built over this
 * table, at the same address in each, so a value pointer is a constant the JIT can fold and the
 * same pointer means the same memory on every thread. Windows below that are the invocation's
 * own (stack, context, packet).
 *
 * <p>Thread-safe: a runtime registers regions while other threads run invocations. Lookups are a
 * volatile array read on the dense range that {@link #map} hands out; windows fixed by an ABI
 * (an arena's {@code map_extra} base) live in a small concurrent map.
 */
public final class SharedRegions {
    /** The first shared window; windows below are per invocation. */
    public static final int FIRST_WINDOW = 0x1000;

    /** The last window a shared region may use; the ones above are reserved ({@link FunctionPointers}, map handles). */
    public static final long LAST_WINDOW = 0xffff_ffefL;

    /** A table with nothing in it, for invocations that need no shared memory. */
    public static final SharedRegions NONE = new SharedRegions();

    private volatile Region[] dense = new Region[64];
    private final ConcurrentHashMap<Long, Region> fixed = new ConcurrentHashMap<>();
    /**
     * Whether {@link #fixed} ever held a region: a look-up asks the map only then. (Asking its
     * {@code isEmpty} sums its counter cells; compiled into every map-value access of a program,
     * that code ate into the compiler's inlining budget for the program itself.)
     */
    private volatile boolean anyFixed;
    private int next;

    // The lock family of each window's region (see lockFamily), made on first use and dropped
    // when the window is unmapped: indexed like dense for the windows below dense.length when the
    // family was made, else in lockFamiliesFixed. Apart from dense so that get() stays as it is.
    private volatile HeldResources.LockFamily[] lockFamilies = new HeldResources.LockFamily[0];
    private final ConcurrentHashMap<Long, HeldResources.LockFamily> lockFamiliesFixed = new ConcurrentHashMap<>();
    private volatile boolean anyFixedLockFamily;

    /** Makes the lock family of the region mapped at a window (see {@link #lockFamily}). */
    @FunctionalInterface
    public interface LockFamilyFactory {
        HeldResources.LockFamily make(long window, Region region);
    }

    /** Maps {@code region} at a fresh window and returns its base address. */
    public synchronized long map(Region region) {
        if (this == NONE) throw new IllegalStateException("the empty table is immutable");
        Region[] d = dense;
        int i = next;
        while (i < d.length && d[i] != null) i++;
        if (i >= d.length) {
            if (d.length >= (1 << 20)) throw new IllegalStateException("shared address space exhausted");
            d = Arrays.copyOf(d, d.length * 2);
        }
        long window = FIRST_WINDOW + (long) i;
        if (fixed.containsKey(window)) throw new IllegalStateException("window 0x" + Long.toHexString(window) + " is taken");
        d[i] = region;
        dense = d; // publish after the write: readers see the region or nothing
        next = i + 1;
        return window << 32;
    }

    /** Maps {@code region} at a window fixed by an ABI (an arena's user base) and returns its base. */
    public synchronized long mapAt(long window, Region region) {
        if (this == NONE) throw new IllegalStateException("the empty table is immutable");
        if (window < FIRST_WINDOW || window > LAST_WINDOW) {
            throw new IllegalArgumentException(String.format("window 0x%x is outside the shared range 0x%x..0x%x", window, FIRST_WINDOW, LAST_WINDOW));
        }
        if (get(window) != null) throw new IllegalStateException("window 0x" + Long.toHexString(window) + " is taken by " + get(window).name());
        long i = window - FIRST_WINDOW;
        if (i < dense.length) {
            Region[] d = dense;
            d[(int) i] = region;
            dense = d;
        } else {
            fixed.put(window, region);
            anyFixed = true;
        }
        return window << 32;
    }

    /** Releases the window {@code base} starts; invocations that still run fault on it from now on. */
    public synchronized void unmap(long base) {
        long window = base >>> 32;
        dropLockFamily(window);
        long i = window - FIRST_WINDOW;
        Region[] d = dense;
        if (i >= 0 && i < d.length && d[(int) i] != null) {
            d[(int) i] = null;
            dense = d;
            next = Math.min(next, (int) i);
        } else if (fixed.remove(window) == null) {
            throw new IllegalArgumentException("nothing shared is mapped at 0x" + Long.toHexString(base));
        }
    }

    /** The region at {@code window}, or null. */
    public Region get(long window) {
        long i = window - FIRST_WINDOW;
        Region[] d = dense;
        if (i >= 0 && i < d.length) {
            Region r = d[(int) i];
            if (r != null) return r;
        }
        return anyFixed ? fixed.get(window) : null;
    }

    /**
     * The lock family ({@link HeldResources.LockFamily}) of the lock words in the region mapped at
     * {@code window}: made by {@code factory} the first time it is asked for, then the same object
     * for every caller until the window is unmapped, so that a lock word of a shared region is one
     * resource whichever invocation, helper or thread records it, and recording it allocates
     * nothing. One kind of lock word per table (the runtime's {@code bpf_spin_lock} helpers are
     * its only user): every caller passes the same factory. Null when nothing shared is mapped at
     * {@code window}.
     */
    public HeldResources.LockFamily lockFamily(long window, LockFamilyFactory factory) {
        long i = window - FIRST_WINDOW;
        HeldResources.LockFamily[] families = lockFamilies;
        if (i >= 0 && i < families.length) {
            HeldResources.LockFamily f = families[(int) i];
            if (f != null) return f;
        }
        if (anyFixedLockFamily) { // a window fixed by an ABI (an arena's): found by a boxed key
            HeldResources.LockFamily f = lockFamiliesFixed.get(window);
            if (f != null) return f;
        }
        return makeLockFamily(window, factory);
    }

    private synchronized HeldResources.LockFamily makeLockFamily(long window, LockFamilyFactory factory) {
        Region region = window >= FIRST_WINDOW ? get(window) : null;
        if (region == null) return null;
        long i = window - FIRST_WINDOW;
        HeldResources.LockFamily[] families = lockFamilies;
        if (i < families.length && families[(int) i] != null) return families[(int) i];
        if (anyFixedLockFamily) {
            HeldResources.LockFamily f = lockFamiliesFixed.get(window);
            if (f != null) return f;
        }
        HeldResources.LockFamily made = java.util.Objects.requireNonNull(factory.make(window, region));
        if (i < dense.length) {
            if (i >= families.length) families = Arrays.copyOf(families, dense.length);
            families[(int) i] = made;
            lockFamilies = families; // publish after the write, as map() does
        } else {
            lockFamiliesFixed.put(window, made);
            anyFixedLockFamily = true;
        }
        return made;
    }

    private void dropLockFamily(long window) {
        long i = window - FIRST_WINDOW;
        HeldResources.LockFamily[] families = lockFamilies;
        if (i >= 0 && i < families.length && families[(int) i] != null) {
            families[(int) i] = null;
            lockFamilies = families;
        }
        if (anyFixedLockFamily) lockFamiliesFixed.remove(window);
    }
}
