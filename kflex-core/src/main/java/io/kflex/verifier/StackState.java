package io.kflex.verifier;

import java.util.Arrays;

/**
 * One frame's 512-byte stack, byte-granular like Linux's {@code stack_slot_type}: each byte is
 * uninitialised, holds unknown data, is known zero, or belongs to an 8-byte slot holding a spilled
 * register whose full abstract value (pointer type included) is kept.
 */
public final class StackState {
    public static final int SIZE = 512;
    public static final int SLOT = 8;

    /** State of one stack byte. */
    public enum ByteKind { INVALID, MISC, ZERO, SPILL }

    private static final ByteKind[] KINDS = ByteKind.values();

    private final byte[] kinds;
    private final Value[] spills;

    public StackState() {
        kinds = new byte[SIZE];
        spills = new Value[SIZE / SLOT];
    }

    private StackState(StackState o) {
        kinds = o.kinds.clone();
        spills = o.spills.clone();
    }

    public StackState copy() { return new StackState(this); }

    /** Byte index of frame offset {@code off} (negative, from the frame pointer). */
    static int index(long off) { return (int) (SIZE + off); }

    public ByteKind kind(int index) { return KINDS[kinds[index]]; }

    /** The spilled value of the 8-byte slot containing byte {@code index}, when the slot holds a spill. */
    public Value spill(int index) { return kind(index) == ByteKind.SPILL ? spills[index / SLOT] : null; }

    void setKind(int index, ByteKind k) { kinds[index] = (byte) k.ordinal(); }

    /** Spills {@code v} into the aligned 8-byte slot starting at byte {@code index}. */
    void spill(int index, Value v) {
        for (int i = 0; i < SLOT; i++) setKind(index + i, ByteKind.SPILL);
        spills[index / SLOT] = v;
    }

    /** Turns a spill in the slot of byte {@code index} into plain bytes ({@code MISC} or, for a pointer, unreadable). */
    void breakSpill(int index) {
        int slot = index / SLOT;
        if (kind(slot * SLOT) != ByteKind.SPILL) return;
        Value v = spills[slot];
        ByteKind k = v instanceof Value.Scalar s ? (s.isZero() ? ByteKind.ZERO : ByteKind.MISC) : ByteKind.INVALID;
        for (int i = 0; i < SLOT; i++) setKind(slot * SLOT + i, k);
        spills[slot] = null;
    }

    void setSpillValue(int slot, Value v) { spills[slot] = v; }

    Value spillValue(int slot) { return spills[slot]; }

    @Override
    public boolean equals(Object o) {
        return o instanceof StackState s && Arrays.equals(kinds, s.kinds) && Arrays.equals(spills, s.spills);
    }

    @Override
    public int hashCode() { return Arrays.hashCode(kinds) * 31 + Arrays.hashCode(spills); }

    /** Linux-style rendering of the initialised slots: {@code fp-8=ctx() fp-16=mmmmmmmm}. */
    public String render(String prefix) {
        StringBuilder b = new StringBuilder();
        for (int slot = 0; slot < SIZE / SLOT; slot++) {
            int base = slot * SLOT;
            int off = base - SIZE;
            if (kind(base) == ByteKind.SPILL) {
                b.append(' ').append(prefix).append(off).append('=').append(spills[slot]);
                continue;
            }
            StringBuilder bytes = new StringBuilder();
            boolean any = false;
            for (int i = SLOT - 1; i >= 0; i--) {
                ByteKind k = kind(base + i);
                any |= k != ByteKind.INVALID;
                bytes.append(switch (k) { case INVALID -> '?'; case MISC -> 'm'; case ZERO -> '0'; case SPILL -> 'r'; });
            }
            if (any) b.append(' ').append(prefix).append(off).append('=').append(bytes);
        }
        return b.toString();
    }
}
