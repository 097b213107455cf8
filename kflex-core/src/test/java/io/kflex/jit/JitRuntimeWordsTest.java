package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The word accesses of the JIT's own-region path read and write exactly what the segment view of the same array does, at every offset. */
class JitRuntimeWordsTest {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void loadsAndWholeWordStoresAgreeWithTheSegmentAtEveryOffset() {
        Random random = new Random(7);
        for (int round = 0; round < 20; round++) {
            long[] words = new long[4];
            for (int i = 0; i < words.length; i++) words[i] = random.nextLong();
            MemorySegment s = MemorySegment.ofArray(words);
            for (long off = 0; off < 32; off++) {
                assertThat(JitRuntime.wordU8(words, off)).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off) & 0xffL);
                assertThat(JitRuntime.wordS8(words, off)).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off));
                if (off <= 30) {
                    assertThat(JitRuntime.wordU16(words, off)).as("u16 at %d", off).isEqualTo(s.get(LE16, off) & 0xffffL);
                    assertThat(JitRuntime.wordS16(words, off)).isEqualTo(s.get(LE16, off));
                }
                if (off <= 28) {
                    assertThat(JitRuntime.wordU32(words, off)).as("u32 at %d", off).isEqualTo(s.get(LE32, off) & 0xffff_ffffL);
                    assertThat(JitRuntime.wordS32(words, off)).isEqualTo(s.get(LE32, off));
                }
                if (off <= 24) {
                    assertThat(JitRuntime.word64(words, off)).as("u64 at %d", off).isEqualTo(s.get(LE64, off));
                    long[] copy = words.clone();
                    long value = random.nextLong();
                    JitRuntime.wordSet64(copy, off, value);
                    MemorySegment expected = MemorySegment.ofArray(words.clone());
                    expected.set(LE64, off, value);
                    assertThat(copy).as("store at %d", off).containsExactly(expected.toArray(ValueLayout.JAVA_LONG));
                }
            }
        }
    }

    @Test
    void onlyAWritableViewOfAWholeLongArrayHasWords() {
        long[] words = new long[4];
        io.kflex.engine.AddressSpace memory = new io.kflex.engine.AddressSpace();
        long whole = map(memory, MemorySegment.ofArray(words));
        long prefix = map(memory, MemorySegment.ofArray(words).asSlice(0, 20));
        long inner = map(memory, MemorySegment.ofArray(words).asSlice(8));
        long readOnly = map(memory, MemorySegment.ofArray(words).asReadOnly());
        long bytes = map(memory, MemorySegment.ofArray(new byte[32]));
        long nativeMemory = map(memory, java.lang.foreign.Arena.ofAuto().allocate(32, 8));
        assertThat(memory.wordsAt(whole + 5)).isSameAs(words);
        assertThat(memory.wordsAt(prefix)).as("a prefix: the array's bounds are not the region's").isNull();
        assertThat(memory.wordsAt(inner)).as("not from the first byte").isNull();
        assertThat(memory.wordsAt(readOnly)).isNull();
        assertThat(memory.wordsAt(bytes)).isNull();
        assertThat(memory.wordsAt(nativeMemory)).isNull();
        memory.unmap(whole);
        assertThat(memory.wordsAt(whole)).as("unmapped").isNull();
        assertThat(memory.wordsAt(0)).isNull();
        assertThat(memory.wordsAt(0x2000L << 32)).as("a shared window").isNull();
    }

    @Test
    void anAccessPastTheLastWordFailsAndAStoreWritesNothingFirst() {
        long[] words = {0x1111_1111_1111_1111L, 0x2222_2222_2222_2222L};
        for (long off = 9; off < 16; off++) {
            long at = off;
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> JitRuntime.wordSet64(words, at, -1L))
                    .isInstanceOf(IndexOutOfBoundsException.class);
            assertThat(words).as("after a failed store at %d", off).containsExactly(0x1111_1111_1111_1111L, 0x2222_2222_2222_2222L);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> JitRuntime.word64(words, at)).isInstanceOf(IndexOutOfBoundsException.class);
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> JitRuntime.wordU32(words, 13)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThat(JitRuntime.wordU32(words, 12)).isEqualTo(0x2222_2222L);
    }

    private static long map(io.kflex.engine.AddressSpace memory, MemorySegment segment) {
        return memory.map(new io.kflex.engine.Region(io.kflex.engine.Region.Kind.MEMORY, segment, true, "r"));
    }
}
