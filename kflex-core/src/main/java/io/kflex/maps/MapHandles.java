package io.kflex.maps;

import io.kflex.engine.SharedRegions;

/**
 * How a map looks to an extension. {@code lddw rX, map} (pseudo MAP_FD / MAP_IDX) and a lookup in
 * a map of maps yield {@code 0xfffffffe << 32 | id}: the map's table id inside the address-space
 * window {@value #HANDLE_WINDOW}. That window lies above {@link SharedRegions#LAST_WINDOW} and is
 * never mapped, so dereferencing a map handle faults like any unmapped address, and a handle
 * can never be mistaken for a value pointer, a function pointer or a small integer.
 */
public final class MapHandles {
    /** The window map handles live in. */
    public static final long HANDLE_WINDOW = 0xffff_fffeL;

    private MapHandles() {}

    /** The handle of the map with table id {@code id}. */
    public static long of(int id) {
        if (id <= 0) throw new IllegalArgumentException("map id " + id);
        return HANDLE_WINDOW << 32 | id;
    }

    /** Whether {@code value} lies in the handle window (it may still name no live map). */
    public static boolean isHandle(long value) {
        return value >>> 32 == HANDLE_WINDOW;
    }

    /** The table id a handle names; only meaningful when {@link #isHandle} holds. */
    public static int idOf(long value) {
        return (int) value;
    }
}
