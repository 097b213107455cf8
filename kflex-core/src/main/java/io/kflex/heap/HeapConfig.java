package io.kflex.heap;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How to build a {@link Heap}.
 *
 * @param name        used in fault messages and region listings (the arena map's name)
 * @param size        bytes, a power of two from 4 KiB to 4 GiB
 * @param userBase    the upper 32 bits of every user-view heap pointer ({@code userBase | offset}):
 *                    4 GiB aligned and non-zero, so that NULL stays distinct from offset 0
 * @param memoryLimit most bytes of pages the allocators may hand out at once (at most {@code size})
 * @param checked     whether engines check page allocation on every heap access (an address
 *                    sanitizer for the heap; see {@link Heap#checkAccess})
 * @param backingFile a file the heap's pages live in, shared with every other mapping of it;
 *                    empty for anonymous memory
 * @param lockTimeout how long a heap spin lock waits before the waiter gives up
 * @param lifetime    what {@link Heap#close()} does to memory that code may still reference
 */
public record HeapConfig(String name, long size, long userBase, long memoryLimit, boolean checked,
                         Optional<Path> backingFile, Duration lockTimeout, Lifetime lifetime) {

    /** The default user base: window 0x0100_0000, above every window the shared table hands out itself. */
    public static final long DEFAULT_USER_BASE = 0x0100_0000_0000_0000L;

    /** The default wait of a heap spin lock before it gives up. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(1);

    public static final long MIN_SIZE = NativeMemory.PAGE;
    public static final long MAX_SIZE = 1L << 32;

    /**
     * What happens to the memory when the heap is closed.
     *
     * <ul>
     *   <li>{@code AUTOMATIC} (default): close returns every page to the system at once and fails
     *       every later heap operation, but the address range stays mapped (reading zeros) until
     *       nothing references the segment any more; then it is unmapped. Compiled extensions that
     *       hold the segment in a static final keep the cheapest possible accesses.</li>
     *   <li>{@code CLOSEABLE}: close unmaps at once and any later access through the segment
     *       throws {@link IllegalStateException}; each access pays a liveness check.</li>
     * </ul>
     */
    public enum Lifetime { AUTOMATIC, CLOSEABLE }

    public HeapConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(backingFile, "backingFile");
        Objects.requireNonNull(lockTimeout, "lockTimeout");
        Objects.requireNonNull(lifetime, "lifetime");
    }

    /** A heap of {@code size} bytes with every other setting at its default. */
    public static HeapConfig ofSize(long size) {
        return new HeapConfig("heap", size, DEFAULT_USER_BASE, size, false, Optional.empty(), DEFAULT_LOCK_TIMEOUT, Lifetime.AUTOMATIC);
    }

    /**
     * The heap an arena map declares: {@code max_entries} pages, at its {@code map_extra} user
     * address when that is non-zero.
     */
    public static HeapConfig forArena(String mapName, long size, long mapExtra) {
        HeapConfig c = ofSize(size).withName(mapName);
        return mapExtra == 0 ? c : c.withUserBase(mapExtra);
    }

    /** The heap an object declares ({@code kflex_heap()} or any arena map). */
    public static HeapConfig forDeclaration(io.kflex.loader.HeapDeclaration declaration) {
        return forArena(declaration.mapName(), declaration.size(), declaration.userAddress());
    }

    public HeapConfig withName(String name) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    public HeapConfig withUserBase(long userBase) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    public HeapConfig withMemoryLimit(long memoryLimit) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    public HeapConfig withChecked(boolean checked) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    public HeapConfig withBackingFile(Path file) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, Optional.of(file), lockTimeout, lifetime);
    }

    public HeapConfig withLockTimeout(Duration lockTimeout) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    public HeapConfig withLifetime(Lifetime lifetime) {
        return new HeapConfig(name, size, userBase, memoryLimit, checked, backingFile, lockTimeout, lifetime);
    }

    /** Checks every field against the heap's rules; the message says which one is wrong and why. */
    void validate() throws HeapException {
        if (size < MIN_SIZE || size > MAX_SIZE || Long.bitCount(size) != 1) {
            throw new HeapException("heap " + name + ": size " + size + " must be a power of two between 4 KiB and 4 GiB");
        }
        if (userBase == 0 || (userBase & 0xffff_ffffL) != 0) {
            throw new HeapException(String.format("heap %s: user base 0x%x must be non-zero and 4 GiB aligned", name, userBase));
        }
        if (memoryLimit < 0) {
            throw new HeapException("heap " + name + ": negative memory limit " + memoryLimit);
        }
        if (lockTimeout.isNegative()) {
            throw new HeapException("heap " + name + ": negative lock timeout " + lockTimeout);
        }
    }
}
