package io.kflex.engine;

/**
 * How a function pointer looks to an extension. {@code lddw rX, <func>} (pseudo source
 * {@code FUNC}, whose {@code imm} is the slot offset of the subprogram relative to the instruction
 * after the {@code lddw}'s first slot, like a local call) loads
 * {@code CODE_WINDOW_BASE | entrySlot}: the absolute instruction index of the subprogram in the
 * low 32 bits, inside the address-space window {@code 0xffffffff}. That window can never be
 * mapped (it lies above {@link SharedRegions#LAST_WINDOW}), so
 * dereferencing a function pointer faults like any unmapped address, and a pointer cannot be
 * confused with a helper number, a small integer or a data pointer.
 *
 * <p>{@code callx} on such a value calls the subprogram at that slot of the <em>same</em> program
 * (it faults if no subprogram starts there); on any other value it calls the helper with that
 * number. Every engine must use this representation so programs see identical values.
 */
public final class FunctionPointers {
    /** The window function pointers live in. */
    public static final long CODE_WINDOW = 0xffff_ffffL;

    /** The first address of that window. */
    public static final long CODE_WINDOW_BASE = CODE_WINDOW << 32;

    private FunctionPointers() {}

    /** The function pointer to the subprogram starting at absolute slot {@code entrySlot}. */
    public static long of(int entrySlot) {
        if (entrySlot < 0) throw new IllegalArgumentException("slot " + entrySlot);
        return CODE_WINDOW_BASE | entrySlot;
    }

    /** Whether {@code value} lies in the code window (it may still name no subprogram). */
    public static boolean isFunctionPointer(long value) {
        return value >>> 32 == CODE_WINDOW;
    }

    /** The slot a function pointer names; only meaningful when {@link #isFunctionPointer} holds. */
    public static long slotOf(long value) {
        return value & 0xffff_ffffL;
    }
}
