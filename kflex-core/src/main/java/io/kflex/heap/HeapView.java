package io.kflex.heap;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The host's typed view of a {@link Heap}, so that a Java application and its extension work on
 * one data structure. Every method takes an <em>address</em> that is either a heap offset
 * ({@code 0 <= address < size}) or a user-view pointer ({@code userBase | offset}, what
 * {@code kflex_malloc} returns and what extensions store in the heap); anything else, or an access
 * running past the end of the heap, is an {@link IllegalArgumentException}. Values are
 * little-endian, as the extension sees them. Pointers stored in the heap are user-view pointers.
 *
 * <p>Locks follow the extensions' protocol ({@link SpinLocks}: a 32-bit word, 0 = free), so
 * {@link #lock} excludes extensions calling {@code kflex_spin_lock} on the same word and the
 * other way round. Thread-safe; plain accesses have no ordering of their own, take the lock that
 * guards the data (or use the atomic methods).
 */
public final class HeapView {
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ATOMIC32 = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle ATOMIC64 = ValueLayout.JAVA_LONG.varHandle();

    private final Heap heap;

    HeapView(Heap heap) {
        this.heap = heap;
    }

    public Heap heap() { return heap; }

    /** The heap offset {@code address} names. */
    public long offsetOf(long address) {
        long upper = address & ~0xffff_ffffL;
        if (upper != 0 && upper != heap.userBase()) {
            throw new IllegalArgumentException(String.format("0x%x is neither an offset nor a pointer into heap %s (user base 0x%x)", address, heap.name(), heap.userBase()));
        }
        long offset = address & 0xffff_ffffL;
        if (offset >= heap.size()) {
            throw new IllegalArgumentException(String.format("0x%x is past the end of heap %s (%d bytes)", address, heap.name(), heap.size()));
        }
        return offset;
    }

    /** The user-view pointer of {@code address}: what an extension stores and follows. */
    public long pointerTo(long address) {
        return heap.userPointer(offsetOf(address));
    }

    public int getU8(long address) { return seg(address, 1).get(ValueLayout.JAVA_BYTE, at(address)) & 0xff; }

    public int getU16(long address) { return seg(address, 2).get(U16, at(address)) & 0xffff; }

    public long getU32(long address) { return seg(address, 4).get(U32, at(address)) & 0xffff_ffffL; }

    public long getU64(long address) { return seg(address, 8).get(U64, at(address)); }

    public void setU8(long address, int value) { seg(address, 1).set(ValueLayout.JAVA_BYTE, at(address), (byte) value); }

    public void setU16(long address, int value) { seg(address, 2).set(U16, at(address), (short) value); }

    public void setU32(long address, long value) { seg(address, 4).set(U32, at(address), (int) value); }

    public void setU64(long address, long value) { seg(address, 8).set(U64, at(address), value); }

    /** The heap pointer stored at {@code address} (a user-view pointer, 0 for NULL). */
    public long getPointer(long address) { return getU64(address); }

    /** Stores a heap pointer at {@code address}: {@code target} (an offset or a pointer) in the user view, 0 stays NULL. */
    public void setPointer(long address, long target) {
        setU64(address, target == 0 ? 0 : pointerTo(target));
    }

    /** Atomically replaces the 32-bit value at {@code address} (4-byte aligned) if it is {@code expected}. */
    public boolean compareAndSetU32(long address, long expected, long value) {
        return ATOMIC32.compareAndSet(seg(address, 4), aligned(address, 4), (int) expected, (int) value);
    }

    /** Atomically replaces the 64-bit value at {@code address} (8-byte aligned) if it is {@code expected}. */
    public boolean compareAndSetU64(long address, long expected, long value) {
        return ATOMIC64.compareAndSet(seg(address, 8), aligned(address, 8), expected, value);
    }

    /** Atomically adds {@code delta} to the 64-bit value at {@code address} (8-byte aligned); returns the old value. */
    public long getAndAddU64(long address, long delta) {
        return (long) ATOMIC64.getAndAdd(seg(address, 8), aligned(address, 8), delta);
    }

    /** Copies {@code length} bytes from {@code address} into {@code dst[dstOffset...]}. */
    public void read(long address, byte[] dst, int dstOffset, int length) {
        MemorySegment.copy(seg(address, length), ValueLayout.JAVA_BYTE, at(address), dst, dstOffset, length);
    }

    /** {@code length} bytes from {@code address}. */
    public byte[] read(long address, int length) {
        byte[] out = new byte[length];
        read(address, out, 0, length);
        return out;
    }

    /** Copies {@code src[srcOffset...srcOffset+length)} to {@code address}. */
    public void write(long address, byte[] src, int srcOffset, int length) {
        MemorySegment.copy(src, srcOffset, seg(address, length), ValueLayout.JAVA_BYTE, at(address), length);
    }

    public void write(long address, byte[] src) {
        write(address, src, 0, src.length);
    }

    /** Sets {@code length} bytes from {@code address} to {@code value}. */
    public void fill(long address, long length, byte value) {
        seg(address, length).asSlice(at(address), length).fill(value);
    }

    /** The bytes {@code [address, address + length)} as a segment (no copy; valid while the heap is open). */
    public MemorySegment slice(long address, long length) {
        return seg(address, length).asSlice(at(address), length);
    }

    /** {@link Heap#malloc}: a user-view pointer, or 0. */
    public long malloc(long size) { return heap.malloc(size); }

    /** {@link Heap#free}. */
    public void free(long pointer) { heap.free(pointer); }

    /** {@link Heap#allocPages} with the allocator choosing the place. */
    public long allocPages(int count) { return heap.allocPages(0, count); }

    /** {@link Heap#freePages}. */
    public void freePages(long pointer, int count) { heap.freePages(pointer, count); }

    /** Takes the heap lock at {@code address}, waiting at most the heap's lock timeout. */
    public void lock(long address) {
        lock(address, heap.config().lockTimeout());
    }

    /**
     * Takes the heap lock at {@code address} (a 4-byte aligned {@code kflex_spinlock_t}), waiting
     * at most {@code timeout}; throws {@link HeapLockException} when the wait times out or the
     * thread is interrupted (its interrupt status stays set).
     */
    public void lock(long address, Duration timeout) {
        MemorySegment s = seg(address, 4);
        long at = aligned(address, 4);
        switch (SpinLocks.acquire(() -> SpinLocks.tryLock(s, at), timeout, null)) {
            case ACQUIRED -> { }
            case INTERRUPTED -> throw new HeapLockException(describe(address) + ": interrupted while waiting");
            case TIMED_OUT, CANCELLED -> throw new HeapLockException(describe(address) + ": not acquired within " + timeout);
        }
    }

    /** Takes the heap lock at {@code address} if it is free. */
    public boolean tryLock(long address) {
        return SpinLocks.tryLock(seg(address, 4), aligned(address, 4));
    }

    /** Frees the heap lock at {@code address}. */
    public void unlock(long address) {
        SpinLocks.unlock(seg(address, 4), aligned(address, 4));
    }

    /** Whether the heap lock at {@code address} is held by anyone. */
    public boolean isLocked(long address) {
        return SpinLocks.isLocked(seg(address, 4), aligned(address, 4));
    }

    /** Runs {@code body} holding the heap lock at {@code address}. */
    public <T> T withLock(long address, Supplier<T> body) {
        lock(address);
        try {
            return body.get();
        } finally {
            unlock(address);
        }
    }

    private String describe(long address) {
        return String.format("heap lock at %s+0x%x", heap.name(), offsetOf(address));
    }

    /** The segment, after checking that {@code [address, address + length)} lies in the heap. */
    private MemorySegment seg(long address, long length) {
        long offset = offsetOf(address);
        if (length < 0 || offset + length > heap.size()) {
            throw new IllegalArgumentException(String.format("%d bytes at heap offset 0x%x run past the end of heap %s (%d bytes)", length, offset, heap.name(), heap.size()));
        }
        return heap.segment();
    }

    private long at(long address) {
        return Heap.GUARD + (address & 0xffff_ffffL);
    }

    private long aligned(long address, int size) {
        if ((address & (size - 1)) != 0) {
            throw new IllegalArgumentException(String.format("0x%x is not %d-byte aligned", address, size));
        }
        return at(address);
    }
}
