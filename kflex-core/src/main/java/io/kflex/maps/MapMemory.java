package io.kflex.maps;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Backing memory for map values.
 *
 * <p>Small maps get zeroed native memory. Large ones get a mapping of a sparse, already-deleted
 * file: the kernel commits a page only when it is first touched, so an array of tens of millions
 * of entries costs address space, not memory, until it is used. {@code Arena.allocate} would not
 * do: it zeroes the whole allocation, which touches (and so commits) every page up front —
 * measured on JDK 25, a 1 GiB array map costs ~1 GiB of resident memory and ~250 ms that way, and
 * about 1 ms and nothing resident as a sparse mapping. The directory is
 * {@code -Dkflex.maps.dir} or {@code java.io.tmpdir}; if mapping fails there, the memory is
 * allocated eagerly instead.
 *
 * <p>Both kinds are owned by automatic arenas: they are released when the garbage collector
 * finds no region, map or running invocation that still reaches them, so a closed map can never
 * leave a dangling segment behind.
 */
final class MapMemory {
    /** Allocations up to this size are eager: a mapping costs a file and at least a page per map. */
    static final long LAZY_THRESHOLD = 1L << 20;

    private MapMemory() {}

    /** A zeroed, 8-byte-aligned segment of {@code bytes} bytes (at least 8). */
    static MemorySegment allocate(long bytes) {
        long size = Math.max(8, (bytes + 7) & ~7L);
        if (size > LAZY_THRESHOLD) {
            MemorySegment mapped = mapSparse(size);
            if (mapped != null) return mapped;
        }
        return Arena.ofAuto().allocate(size, 8);
    }

    private static MemorySegment mapSparse(long size) {
        Path dir = Path.of(System.getProperty("kflex.maps.dir", System.getProperty("java.io.tmpdir")));
        Path file = null;
        try {
            file = Files.createTempFile(dir, "kflex-map-", ".mem");
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                // Mapping past the end grows the file sparsely: no block is written until touched.
                return channel.map(FileChannel.MapMode.READ_WRITE, 0, size, Arena.ofAuto());
            }
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return null;
        } finally {
            if (file != null) {
                try {
                    Files.deleteIfExists(file); // the mapping keeps the pages alive
                } catch (IOException e) {
                    file.toFile().deleteOnExit();
                }
            }
        }
    }
}
