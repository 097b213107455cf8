package io.kflex.engine;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The stack of one program run, shared layout for every engine. A run maps one region of
 * {@link RuntimeLimits#STACK_SIZE} bytes into its address space and unmaps it when the run ends.
 * Frame 0 (the main program) owns the top {@link RuntimeLimits#STACK_FRAME_SIZE} bytes and each
 * call goes one frame further down, so the stack grows towards lower addresses as on Linux:
 * {@code r10} of frame {@code k} is {@code base + STACK_SIZE - k * STACK_FRAME_SIZE} and the frame
 * uses the 512 bytes below it.
 *
 * <p>The region is backed by a {@code byte[]}, zeroed for every run (no data leaks from an
 * earlier one): compiled code reads and writes frame slots of every width as its elements and
 * byte-array views. (Atomic operations on stack slots, which only the running program can see,
 * are read-modify-writes under the region's lock; see {@link AddressSpace#getAndApply}.)
 * Allocating 4 KiB per run would cost more than running a short program, so regions are reused:
 * <ul>
 *   <li>Each thread keeps the region of its last finished run and zeroes it for the next one.</li>
 *   <li>An address space that runs a second program (a hook thread's or a benchmark's, which
 *       keep theirs from run to run; counted by {@link TailCalls#run}) takes that region over:
 *       it becomes the address space's own, stays mapped in it at one window, and the thread
 *       makes itself a new one when it next needs one. Later runs in that address space find
 *       their stack, already mapped, without a thread-local look-up, a mapping or an allocation
 *       (together as much as a short program's body). No other address space ever sees it.</li>
 *   <li>A run nested in another on the same thread (a host callback that runs an extension) or
 *       in the same address space gets a fresh region.</li>
 * </ul>
 */
public final class Stack {
    private Stack() {}

    /**
     * The stack region a thread reuses run after run, with the {@code byte[]} behind it: zeroing
     * the top of the array directly ({@link Arrays#fill}) is a few stores, where filling a small
     * slice of the segment went through a bulk-memory call that cost more than a short run.
     */
    private static final class Spare {
        final byte[] bytes = new byte[RuntimeLimits.STACK_SIZE];
        final Region region = new Region(Region.Kind.STACK, MemorySegment.ofArray(bytes), true, "stack");
        /** Whether a run of this thread has it mapped now (a nested run then gets a fresh region). */
        boolean inUse;
    }

    private static final ThreadLocal<Spare> SPARE = ThreadLocal.withInitial(Spare::new);

    /**
     * A stack mapped into an address space for one program run, with the {@code byte[]} behind
     * its region (every stack region is one), for engines that address frame slots as array
     * elements, which costs far less than a segment access. Closing ends the run's use of it:
     * an address space's own stack stays mapped for its next run, any other is unmapped — unless
     * a misbehaving helper already did, so a run never unmaps a window that is no longer its own.
     */
    public record Mapped(AddressSpace memory, Region region, long base, byte[] bytes) implements AutoCloseable {

        @Override
        public void close() {
            boolean ours = memory.regionOf(base) == region;
            if (this == memory.ownStackMapped) {
                // The address space's own stack stays mapped from run to run. One that a helper
                // unmapped (a host bug) may still be held by it: it is dropped, and the address
                // space makes itself another when it next runs twice.
                memory.ownStackInUse = false;
                if (!ours) memory.ownStackMapped = null;
                return;
            }
            if (ours) memory.unmap(base);
            // Only a region this run unmapped itself is reused: a helper that unmapped it (a host
            // bug) may still hold it, so it is dropped and a new one is made when needed.
            Spare spare = SPARE.get();
            if (spare.region != region) return;
            if (ours) spare.inUse = false;
            else SPARE.set(new Spare());
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
        Mapped own = memory.ownStackMapped;
        if (own != null && !memory.ownStackInUse) {
            zeroTop(own.bytes, usedBytes);
            memory.ownStackInUse = true;
            return own;
        }
        return mapSpare(memory, usedBytes);
    }

    /** The slow path of {@link #mapInto}: maps the thread's spare region, or a fresh one. */
    private static Mapped mapSpare(AddressSpace memory, int usedBytes) {
        Spare spare = SPARE.get();
        if (spare.inUse) {
            byte[] bytes = new byte[RuntimeLimits.STACK_SIZE];
            Region fresh = new Region(Region.Kind.STACK, MemorySegment.ofArray(bytes), true, "stack");
            return new Mapped(memory, fresh, memory.map(fresh, null, bytes), bytes);
        }
        zeroTop(spare.bytes, usedBytes);
        Mapped mapped = new Mapped(memory, spare.region, memory.map(spare.region, null, spare.bytes), spare.bytes);
        if (memory.runs >= 2 && memory.ownStackMapped == null) {
            // The address space's second run: it runs programs again and again, so it takes the
            // thread's region over for good and keeps it mapped. (Not on a tail call of its first
            // run: a hook that makes an address space per run would then cost the thread a new
            // region per run.)
            SPARE.remove();
            memory.ownStackMapped = mapped;
            memory.ownStackInUse = true;
        } else {
            spare.inUse = true;
        }
        return mapped;
    }

    /** Zeroes the top {@code usedBytes} bytes (rounded up to whole 8-byte slots) of a stack region. */
    private static void zeroTop(byte[] bytes, int usedBytes) {
        Arrays.fill(bytes, bytes.length - (usedBytes + 7) / 8 * 8, bytes.length, (byte) 0);
    }

    /** The frame pointer ({@code r10}) of frame {@code depth} (0 = main program) for a stack mapped at {@code base}. */
    public static long framePointer(long base, int depth) {
        return base + RuntimeLimits.STACK_SIZE - (long) depth * RuntimeLimits.STACK_FRAME_SIZE;
    }
}
