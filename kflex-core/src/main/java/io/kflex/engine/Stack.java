package io.kflex.engine;

import java.lang.foreign.MemorySegment;

/**
 * The stack of one program run, shared layout for every engine. A run maps one region of
 * {@link RuntimeLimits#STACK_SIZE} bytes into its address space and unmaps it when the run ends.
 * Frame 0 (the main program) owns the top {@link RuntimeLimits#STACK_FRAME_SIZE} bytes and each
 * call goes one frame further down, so the stack grows towards lower addresses as on Linux:
 * {@code r10} of frame {@code k} is {@code base + STACK_SIZE - k * STACK_FRAME_SIZE} and the frame
 * uses the 512 bytes below it.
 *
 * <p>The region is backed by a {@code long[]}: zeroed for every run (no data leaks from an
 * earlier one) and 8-byte aligned so that atomic operations on stack slots are real atomics.
 * Each thread keeps the region of its last finished run and zeroes it for the next one instead of
 * allocating 4 KiB per run: back-to-back runs otherwise spend more time allocating stacks (and
 * collecting them) than running short programs. A run nested in another on the same thread (a
 * host callback that runs an extension) gets a fresh region.
 */
public final class Stack {
    private Stack() {}

    /**
     * The thread's idle stack region in element 0, null while a run of this thread uses it (a
     * holder, so that taking and returning it never changes the thread-local map itself).
     */
    private static final ThreadLocal<Region[]> SPARE = ThreadLocal.withInitial(() -> new Region[1]);

    /** A new zeroed stack region. */
    public static Region allocate() {
        return new Region(Region.Kind.STACK, MemorySegment.ofArray(new long[RuntimeLimits.STACK_SIZE / 8]), true, "stack");
    }

    /**
     * A stack mapped into an address space for one program run. Closing unmaps it — unless a
     * misbehaving helper already did, so a run never unmaps a window that is no longer its own.
     */
    public record Mapped(AddressSpace memory, Region region, long base) implements AutoCloseable {
        @Override
        public void close() {
            if (memory.regionOf(base) == region) {
                memory.unmap(base);
                // Only a region this run unmapped itself is reused: a helper that unmapped it
                // (a host bug) may still hold it.
                Region[] spare = SPARE.get();
                if (spare[0] == null) spare[0] = region;
            }
        }
    }

    /** A zeroed stack (the thread's spare one when it is free) mapped into {@code memory}. */
    public static Mapped mapInto(AddressSpace memory) {
        return mapInto(memory, RuntimeLimits.STACK_SIZE);
    }

    /**
     * A stack mapped into {@code memory} whose top {@code usedBytes} bytes are zero: for a program
     * the verifier proved never to touch more than that (its main frame's depth, no calls). The
     * rest of a reused region may hold an earlier run's data, which such a program cannot read;
     * zeroing 4 KiB for a program that uses 40 bytes was most of a short run's stack cost.
     */
    public static Mapped mapInto(AddressSpace memory, int usedBytes) {
        if (usedBytes < 0 || usedBytes > RuntimeLimits.STACK_SIZE) throw new IllegalArgumentException("stack bytes " + usedBytes);
        Region[] spare = SPARE.get();
        Region region = spare[0];
        if (region != null) {
            spare[0] = null;
            if (usedBytes == RuntimeLimits.STACK_SIZE) region.segment().fill((byte) 0);
            else region.segment().asSlice(RuntimeLimits.STACK_SIZE - usedBytes).fill((byte) 0);
        } else {
            region = allocate();
        }
        return new Mapped(memory, region, memory.map(region));
    }

    /** The frame pointer ({@code r10}) of frame {@code depth} (0 = main program) for a stack mapped at {@code base}. */
    public static long framePointer(long base, int depth) {
        return base + RuntimeLimits.STACK_SIZE - (long) depth * RuntimeLimits.STACK_FRAME_SIZE;
    }
}
