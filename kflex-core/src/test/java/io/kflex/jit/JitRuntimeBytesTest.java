package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Region;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The byte-array accesses of the JIT's packet path read and write exactly what the segment view of
 * the same array does, at every offset and width, and fail (writing nothing) past the end.
 */
class JitRuntimeBytesTest {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void loadsAndStoresOfEveryWidthAgreeWithTheSegmentAtEveryOffset() {
        Random random = new Random(11);
        for (int round = 0; round < 10; round++) {
            byte[] bytes = new byte[37];
            random.nextBytes(bytes);
            MemorySegment s = MemorySegment.ofArray(bytes);
            for (long off = 0; off < bytes.length; off++) {
                assertThat(JitRuntime.bytesU8(bytes, off)).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off) & 0xffL);
                assertThat(JitRuntime.bytesS8(bytes, off)).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off));
                if (off + 2 <= bytes.length) {
                    assertThat(JitRuntime.bytesU16(bytes, off)).as("u16 at %d", off).isEqualTo(s.get(LE16, off) & 0xffffL);
                    assertThat(JitRuntime.bytesS16(bytes, off)).isEqualTo(s.get(LE16, off));
                }
                if (off + 4 <= bytes.length) {
                    assertThat(JitRuntime.bytesU32(bytes, off)).as("u32 at %d", off).isEqualTo(s.get(LE32, off) & 0xffff_ffffL);
                    assertThat(JitRuntime.bytesS32(bytes, off)).isEqualTo(s.get(LE32, off));
                }
                if (off + 8 <= bytes.length) assertThat(JitRuntime.bytes64(bytes, off)).as("u64 at %d", off).isEqualTo(s.get(LE64, off));
                long value = random.nextLong();
                for (int width : new int[] {1, 2, 4, 8}) {
                    if (off + width > bytes.length) continue;
                    byte[] actual = bytes.clone();
                    MemorySegment expected = MemorySegment.ofArray(bytes.clone());
                    switch (width) {
                        case 1 -> { JitRuntime.bytesSet8(actual, off, value); expected.set(ValueLayout.JAVA_BYTE, off, (byte) value); }
                        case 2 -> { JitRuntime.bytesSet16(actual, off, value); expected.set(LE16, off, (short) value); }
                        case 4 -> { JitRuntime.bytesSet32(actual, off, value); expected.set(LE32, off, (int) value); }
                        default -> { JitRuntime.bytesSet64(actual, off, value); expected.set(LE64, off, value); }
                    }
                    assertThat(actual).as("%d-byte store at %d", width, off).isEqualTo(expected.toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    @Test
    void anAccessPastTheEndFailsAndAStoreWritesNothing() {
        byte[] bytes = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
        byte[] before = bytes.clone();
        for (long off : new long[] {3, 7, 9, 10, 0x7fff_ffffL, 0x8000_0000L, 0xffff_fffcL}) {
            if (off + 8 > bytes.length) assertThatThrownBy(() -> JitRuntime.bytesSet64(bytes, off, -1L)).isInstanceOf(IndexOutOfBoundsException.class);
            if (off + 4 > bytes.length) assertThatThrownBy(() -> JitRuntime.bytesU32(bytes, off)).isInstanceOf(IndexOutOfBoundsException.class);
            if (off + 1 > bytes.length) assertThatThrownBy(() -> JitRuntime.bytesSet8(bytes, off, -1L)).isInstanceOf(IndexOutOfBoundsException.class);
        }
        assertThat(bytes).isEqualTo(before);
    }

    @Test
    void onlyAWritableViewOfAWholeByteArrayHasBytes() {
        byte[] bytes = new byte[32];
        AddressSpace memory = new AddressSpace();
        long whole = map(memory, MemorySegment.ofArray(bytes));
        long prefix = map(memory, MemorySegment.ofArray(bytes).asSlice(0, 20));
        long inner = map(memory, MemorySegment.ofArray(bytes).asSlice(8));
        long readOnly = map(memory, MemorySegment.ofArray(bytes).asReadOnly());
        long words = map(memory, MemorySegment.ofArray(new long[4]));
        long nativeMemory = map(memory, Arena.ofAuto().allocate(32, 8));
        assertThat(memory.bytesAt(whole + 5)).isSameAs(bytes);
        assertThat(memory.bytesAt(prefix)).as("a prefix: the array's bounds are not the region's").isNull();
        assertThat(memory.bytesAt(inner)).isNull();
        assertThat(memory.bytesAt(readOnly)).isNull();
        assertThat(memory.bytesAt(words)).isNull();
        assertThat(memory.wordsAt(words)).isNotNull();
        assertThat(memory.bytesAt(nativeMemory)).isNull();
        memory.unmap(whole);
        assertThat(memory.bytesAt(whole)).as("unmapped").isNull();
        assertThat(memory.bytesAt(0x2000L << 32)).as("a shared window").isNull();
    }

    private static long map(AddressSpace memory, MemorySegment segment) {
        return memory.map(new Region(Region.Kind.MEMORY, segment, true, "r"));
    }
}
