package io.kflex.engine;

import io.kflex.isa.AtomicOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The heap semantics both engines share: {@code addr_space_cast}, the checked-mode test, and heap
 * accesses at a segment offset that the caller has already confined ({@code GUARD + (ptr & mask)
 * + off}). The interpreter calls these for every heap access; the JIT inlines plain loads and
 * stores itself and calls the rest.
 */
public final class HeapAccess {
    private HeapAccess() {}

    /** {@code imm} of {@code addr_space_cast} from the user (heap) view to the kernel view. */
    public static final int CAST_KERN = 1;
    /** {@code imm} of {@code addr_space_cast} from the kernel view to the user view. */
    public static final int CAST_USER = 0x10000;

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ATOMIC32 = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle ATOMIC64 = ValueLayout.JAVA_LONG.varHandle();

    /** Linux's user-to-kernel cast: the low 32 bits, the heap offset. */
    public static long castKern(long value) { return value & 0xffffffffL; }

    /**
     * The user-to-kernel cast engines perform on a heap of mask {@code mask}: the heap offset
     * modulo the heap's size. For every pointer into the heap (and NULL) it is Linux's cast
     * ({@link #castKern(long)}), and the same for any value on a 4 GiB heap; a value whose low 32
     * bits lie beyond a smaller heap wraps into it. The result is therefore always a sanitised
     * heap offset, which the verifier's guard elision relies on (accesses through a freshly cast
     * pointer need no guard of their own).
     */
    public static long castKern(long mask, long value) { return value & mask & 0xffffffffL; }

    /** Linux's kernel-to-user cast: NULL stays NULL, any other offset gets the heap's user base. */
    public static long castUser(long userBase, long value) {
        long offset = value & 0xffffffffL;
        return offset == 0 ? 0 : (userBase & ~0xffffffffL) | offset;
    }

    /**
     * Checked mode: the {@code size} bytes at heap offset {@code offset} must lie in allocated
     * pages, or the access faults with the offset and the user address it stands for.
     */
    public static void checkAllocated(HeapMemory heap, long offset, int size) {
        if (offset < 0 || offset + size > heap.size() || !heap.isAllocated(offset) || !heap.isAllocated(offset + size - 1)) {
            throw new ExtensionFault(String.format("heap access of %d bytes at offset %d (address 0x%x) outside the allocated pages",
                    size, offset, (heap.userBase() & ~0xffffffffL) | (offset & 0xffffffffL)));
        }
    }

    public static long load(MemorySegment heap, long at, int size) {
        return switch (size) {
            case 1 -> heap.get(ValueLayout.JAVA_BYTE, at) & 0xffL;
            case 2 -> heap.get(U16, at) & 0xffffL;
            case 4 -> heap.get(U32, at) & 0xffffffffL;
            case 8 -> heap.get(U64, at);
            default -> throw new IllegalArgumentException("size " + size);
        };
    }

    public static void store(MemorySegment heap, long at, int size, long value) {
        switch (size) {
            case 1 -> heap.set(ValueLayout.JAVA_BYTE, at, (byte) value);
            case 2 -> heap.set(U16, at, (short) value);
            case 4 -> heap.set(U32, at, (int) value);
            case 8 -> heap.set(U64, at, value);
            default -> throw new IllegalArgumentException("size " + size);
        }
    }

    /** An atomic read-modify-write at segment offset {@code at}; returns the old value, zero-extended. */
    public static long getAndApply(MemorySegment heap, long at, int size, AtomicOp op, long operand) {
        checkAtomic(heap, at, size);
        if (size == 4) {
            int v = (int) operand;
            int old = switch (op) {
                case ADD -> (int) ATOMIC32.getAndAdd(heap, at, v);
                case OR -> (int) ATOMIC32.getAndBitwiseOr(heap, at, v);
                case AND -> (int) ATOMIC32.getAndBitwiseAnd(heap, at, v);
                case XOR -> (int) ATOMIC32.getAndBitwiseXor(heap, at, v);
                case XCHG -> (int) ATOMIC32.getAndSet(heap, at, v);
                case CMPXCHG -> throw new IllegalArgumentException("use compareAndExchange");
            };
            return old & 0xffffffffL;
        }
        return switch (op) {
            case ADD -> (long) ATOMIC64.getAndAdd(heap, at, operand);
            case OR -> (long) ATOMIC64.getAndBitwiseOr(heap, at, operand);
            case AND -> (long) ATOMIC64.getAndBitwiseAnd(heap, at, operand);
            case XOR -> (long) ATOMIC64.getAndBitwiseXor(heap, at, operand);
            case XCHG -> (long) ATOMIC64.getAndSet(heap, at, operand);
            case CMPXCHG -> throw new IllegalArgumentException("use compareAndExchange");
        };
    }

    /** Atomic compare-and-exchange at segment offset {@code at}; returns the old value, zero-extended. */
    public static long compareAndExchange(MemorySegment heap, long at, int size, long expected, long value) {
        checkAtomic(heap, at, size);
        if (size == 4) return ((int) ATOMIC32.compareAndExchange(heap, at, (int) expected, (int) value)) & 0xffffffffL;
        return (long) ATOMIC64.compareAndExchange(heap, at, expected, value);
    }

    private static void checkAtomic(MemorySegment heap, long at, int size) {
        if (size != 4 && size != 8) throw new IllegalArgumentException("atomic of " + size + " bytes");
        // The segment is page aligned, so the address's alignment is the offset's.
        if (((heap.address() + at) & (size - 1)) != 0) {
            throw new ExtensionFault(String.format("misaligned atomic of %d bytes at heap offset %d", size, at - HeapMemory.GUARD));
        }
    }

    /**
     * A load through a base whose region differs between paths (heap on some, host memory on
     * others): a kernel-view heap pointer has nothing above bit 31, every host region sits in a
     * window above.
     */
    public static long loadMixed(AddressSpace memory, HeapMemory heap, long base, int off, int size) {
        if ((base >>> 32) != 0) return memory.load(base + off, size);
        return load(heap.segment(), confine(heap, base, off, size), size);
    }

    /** The store counterpart of {@link #loadMixed}. */
    public static void storeMixed(AddressSpace memory, HeapMemory heap, long base, int off, int size, long value) {
        if ((base >>> 32) != 0) {
            memory.store(base + off, size, value);
            return;
        }
        store(heap.segment(), confine(heap, base, off, size), size, value);
    }

    /** The atomic counterpart of {@link #loadMixed} (not {@code CMPXCHG}); returns the old value. */
    public static long getAndApplyMixed(AddressSpace memory, HeapMemory heap, long base, int off, int size, AtomicOp op, long operand) {
        if ((base >>> 32) != 0) return memory.getAndApply(base + off, size, op, operand);
        return getAndApply(heap.segment(), confine(heap, base, off, size), size, op, operand);
    }

    /** The compare-and-exchange counterpart of {@link #loadMixed}; returns the old value. */
    public static long compareAndExchangeMixed(AddressSpace memory, HeapMemory heap, long base, int off, int size, long expected, long value) {
        if ((base >>> 32) != 0) return memory.compareAndExchange(base + off, size, expected, value);
        return compareAndExchange(heap.segment(), confine(heap, base, off, size), size, expected, value);
    }

    /** The segment offset of a guarded access {@code base + off}, checked in checked mode. */
    public static long confine(HeapMemory heap, long base, int off, int size) {
        long offset = (base & heap.mask()) + off;
        if (heap.checked()) checkAllocated(heap, offset, size);
        return HeapMemory.GUARD + offset;
    }
}
