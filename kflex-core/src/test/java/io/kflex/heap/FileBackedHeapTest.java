package io.kflex.heap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A heap whose pages live in a file: other mappings of the file (other processes) see the same data. */
class FileBackedHeapTest {
    private static final long SIZE = 1 << 20;
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    @Test
    void aSecondMappingOfTheFileSeesTheHeapAndTheOtherWayRound() throws Exception {
        Path file = dir.resolve("heap.bin");
        try (Heap heap = Heap.create(HeapConfig.ofSize(SIZE).withBackingFile(file));
             Arena arena = Arena.ofConfined();
             FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertThat(Files.size(file)).isEqualTo(SIZE);
            MemorySegment other = channel.map(FileChannel.MapMode.READ_WRITE, 0, SIZE, arena);

            HeapView view = heap.view();
            long node = view.malloc(32);
            long next = view.malloc(32);
            view.setU64(node + 8, 1234);
            view.setPointer(node, next);
            view.write(next + 8, "hello".getBytes(StandardCharsets.US_ASCII));

            // File offsets are heap offsets, and stored pointers are user-view pointers.
            long nodeOffset = node & heap.mask();
            assertThat(other.get(U64, nodeOffset + 8)).isEqualTo(1234);
            long stored = other.get(U64, nodeOffset);
            assertThat(stored).isEqualTo(next);
            byte[] text = new byte[5];
            MemorySegment.copy(other, ValueLayout.JAVA_BYTE, (stored & heap.mask()) + 8, text, 0, 5);
            assertThat(new String(text, StandardCharsets.US_ASCII)).isEqualTo("hello");

            other.set(U64, nodeOffset + 16, 0xfeed_f00dL);
            assertThat(view.getU64(node + 16)).isEqualTo(0xfeed_f00dL);

            // Freed pages are zeroed in the file too.
            long page = heap.allocPages(0, 2);
            view.setU64(page + Heap.PAGE_SIZE, 77);
            assertThat(other.get(U64, (page & heap.mask()) + Heap.PAGE_SIZE)).isEqualTo(77);
            heap.freePages(page, 2);
            assertThat(other.get(U64, (page & heap.mask()) + Heap.PAGE_SIZE)).isZero();
        }
    }

    @Test
    void theDataOutlivesTheHeapAndTheFileIsSparse() throws Exception {
        Path file = dir.resolve("big.bin");
        long offset;
        try (Heap heap = Heap.create(HeapConfig.ofSize(1L << 30).withBackingFile(file))) {
            long p = heap.allocPages(0, 1);
            offset = p & heap.mask();
            heap.view().setU64(p, 42);
        }
        assertThat(Files.size(file)).isEqualTo(1L << 30);
        long blocks = allocatedBytes(file);
        if (blocks >= 0) assertThat(blocks).as("a 1 GiB file with one page written").isLessThan(1 << 20);
        try (Heap again = Heap.create(HeapConfig.ofSize(1L << 30).withBackingFile(file))) {
            assertThat(again.view().getU64(offset)).isEqualTo(42);
        }
    }

    @Test
    void anUnusableFileIsAClearError() {
        Path missing = dir.resolve("no/such/dir/heap.bin");
        assertThatThrownBy(() -> Heap.create(HeapConfig.ofSize(SIZE).withBackingFile(missing)))
                .isInstanceOf(HeapException.class).hasMessageContaining("cannot open heap file").hasMessageContaining("No such file");
    }

    /** Bytes the file system allocated for {@code file} (stat's %b × %B), or -1 if stat is unavailable. */
    private static long allocatedBytes(Path file) throws IOException, InterruptedException {
        Process stat;
        try {
            stat = new ProcessBuilder("stat", "-c", "%b %B", file.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return -1;
        }
        String out = new String(stat.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
        assumeTrue(stat.waitFor() == 0, "stat failed: " + out);
        String[] parts = out.split(" ");
        return Long.parseLong(parts[0]) * Long.parseLong(parts[1]);
    }
}
