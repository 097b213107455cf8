package io.kflex.heap;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * Which allocator object owns each heap page (a slab, a large object), readable without locks:
 * a two-level table whose 1024-entry chunks are created when a page in them first gets an owner,
 * so a 4 GiB heap that uses a few pages pays for a few chunks. Entries are published with
 * release stores and read with acquire loads.
 */
final class PageOwners {
    private static final int CHUNK_SHIFT = 10;
    private static final int CHUNK_MASK = (1 << CHUNK_SHIFT) - 1;
    private static final VarHandle CHUNKS = MethodHandles.arrayElementVarHandle(Object[][].class);
    private static final VarHandle SLOTS = MethodHandles.arrayElementVarHandle(Object[].class);

    private final Object[][] chunks;

    PageOwners(int pages) {
        this.chunks = new Object[(pages + CHUNK_MASK) >>> CHUNK_SHIFT][];
    }

    /** The owner of {@code page}, or null (also for pages outside the heap). */
    Object get(int page) {
        int c = page >>> CHUNK_SHIFT;
        if (page < 0 || c >= chunks.length) return null;
        Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, c);
        return chunk == null ? null : SLOTS.getAcquire(chunk, page & CHUNK_MASK);
    }

    void put(int page, Object owner) {
        SLOTS.setRelease(chunk(page), page & CHUNK_MASK, owner);
    }

    /** Clears {@code page} if {@code owner} still owns it; true if it did. */
    boolean remove(int page, Object owner) {
        Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, page >>> CHUNK_SHIFT);
        return chunk != null && SLOTS.compareAndSet(chunk, page & CHUNK_MASK, owner, null);
    }

    synchronized void clear() {
        for (int c = 0; c < chunks.length; c++) CHUNKS.setRelease(chunks, c, (Object[]) null);
    }

    private Object[] chunk(int page) {
        int c = page >>> CHUNK_SHIFT;
        Object[] chunk = (Object[]) CHUNKS.getAcquire(chunks, c);
        if (chunk != null) return chunk;
        synchronized (this) {
            chunk = chunks[c];
            if (chunk == null) {
                chunk = new Object[1 << CHUNK_SHIFT];
                CHUNKS.setRelease(chunks, c, chunk);
            }
            return chunk;
        }
    }
}
