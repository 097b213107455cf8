package io.kflex.heap;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** What a heap costs in memory: only the pages that are touched, and freed pages go back. */
class HeapMemoryTest {
    private static final long KIB = 1024, MIB = 1024 * KIB, GIB = 1024 * MIB;

    @Test
    void aGibibyteHeapWithOneMebibyteTouchedCostsAboutOneMebibyte() throws Exception {
        // The first heap of a JVM also loads the native-access machinery: keep that out of the numbers.
        try (Heap warmUp = Heap.create(HeapConfig.ofSize(1 << 16))) {
            warmUp.view().setU64(warmUp.allocPages(0, 1), 1);
            mappingRssBytes(warmUp);
        }
        long before = vmRssBytes();
        try (Heap heap = Heap.create(HeapConfig.ofSize(GIB))) {
            long afterCreate = vmRssBytes();
            long p = heap.allocPages(0, 256); // 1 MiB
            HeapView view = heap.view();
            for (long page = 0; page < 256; page++) view.setU64(p + page * Heap.PAGE_SIZE, page + 1);
            long afterTouch = vmRssBytes();
            long mapped = mappingRssBytes(heap);

            // Exact, from the kernel's accounting of the heap's own mapping.
            assertThat(mapped).isBetween(1 * MIB, 1 * MIB + 64 * KIB);
            // Tolerant, from the whole process (the JVM allocates too while the test runs).
            assertThat(afterCreate - before).as("creating the heap").isLessThan(16 * MIB);
            assertThat(afterTouch - before).as("after touching 1 MiB (a committed heap would add 1 GiB)").isLessThan(24 * MIB);

            heap.freePages(p, 256);
            assertThat(mappingRssBytes(heap)).as("freed pages return to the system").isLessThan(64 * KIB);
        }
    }

    @Test
    void emptiedMallocSlabsReturnTheirMemory() throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(64 * MIB))) {
            long[] objects = new long[8192];
            for (int i = 0; i < objects.length; i++) {
                objects[i] = heap.malloc(512);
                heap.view().setU64(objects[i], i);
            }
            assertThat(mappingRssBytes(heap)).isGreaterThanOrEqualTo(4 * MIB);
            for (long o : objects) heap.free(o);
            assertThat(mappingRssBytes(heap)).isLessThan(64 * KIB);
        }
    }

    @Test
    void closingReturnsEverything() throws Exception {
        Heap heap = Heap.create(HeapConfig.ofSize(64 * MIB));
        MemorySegment segment = heap.segment();
        long p = heap.allocPages(0, 1024);
        for (int i = 0; i < 1024; i++) heap.view().setU32(p + i * Heap.PAGE_SIZE, 1);
        assertThat(mappingRssBytes(heap)).isGreaterThanOrEqualTo(4 * MIB);
        heap.close();
        assertThat(NativeMemory.residentBytes(segment)).isZero();
        assertThat(segment.get(ValueLayout.JAVA_INT, Heap.GUARD + (p & heap.mask()))).as("reads zero until unmapped").isZero();
    }

    static long vmRssBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * KIB;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** Resident bytes of the heap's segment, from the kernel's page table ({@code mincore}). */
    static long mappingRssBytes(Heap heap) {
        long rss = heap.residentBytes();
        assertThat(rss).as("mincore works").isNotNegative();
        return rss;
    }
}
