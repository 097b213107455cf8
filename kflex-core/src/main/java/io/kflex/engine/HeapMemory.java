package io.kflex.engine;

import java.lang.foreign.MemorySegment;

/**
 * What an engine needs of an extension heap to run guarded heap accesses: the backing segment
 * laid out as {@code GUARD + size + GUARD} bytes (heap offset {@code o} lives at
 * {@code GUARD + o}), the mask that confines a pointer to the heap, the user-view base and the
 * checked-mode switch. The heap runtime ({@code io.kflex.heap.Heap}) provides these under the same
 * names; engines depend only on this view.
 *
 * <p>A guarded access is {@code segment().get(layout, GUARD + (ptr & mask()) + off)}: with
 * {@code off} a signed 16-bit displacement and {@code GUARD >= 32 KiB + 8}, every 64-bit pointer
 * value lands inside the segment, never in host memory.
 */
public interface HeapMemory {
    /** Bytes of guard before heap offset 0 and after the heap's end. */
    long GUARD = 64 * 1024;

    /** {@code GUARD + size() + GUARD} bytes; must not change for the heap's lifetime. */
    MemorySegment segment();

    /** The heap's size in bytes: a power of two. */
    long size();

    /** {@code size() - 1}. */
    default long mask() { return size() - 1; }

    /** The user view's upper 32 bits (low 32 bits zero): a user pointer is {@code userBase() | offset}. */
    long userBase();

    /** Whether every heap access must also land in allocated pages (the heap's address sanitizer). */
    boolean checked();

    /** Whether the page holding heap offset {@code offset} is allocated. */
    boolean isAllocated(long offset);
}
