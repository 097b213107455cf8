package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Region;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The array accesses of compiled code — a context's {@code long[]} words on the own-region path, a
 * packet's or stack's {@code byte[]} — read and write exactly what the segment view of the same
 * array does, at every offset and width, fail past the end without writing anything, and are
 * used only for a writable view of a whole array.
 */
class JitRuntimeArraysTest {
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int[] LOAD_WIDTHS = {1, 2, 4, 8};

    /**
     * An array kind a region can be backed by, with {@link JitRuntime}'s accessors for it: loads of
     * {@code width} bytes (1, 2, 4, 8; zero- or sign-extended) and stores of {@link #storeWidths}.
     */
    private sealed interface Backing<A> {
        /** A new array holding {@code content} (for words, a multiple of 8 bytes). */
        A of(byte[] content);

        /** The segment view of {@code array} itself (not of a copy). */
        MemorySegment segment(A array);

        /** What compiled code finds behind {@code address} for this kind of array. */
        A arrayAt(AddressSpace memory, long address, int size, boolean write);

        default A arrayAt(AddressSpace memory, long address) { return arrayAt(memory, address, 1, false); }

        long load(A array, long offset, int width, boolean signed);

        /** The widths compiled code stores into this kind of array with its accessors. */
        int[] storeWidths();

        void store(A array, long offset, int width, long value);

        /** The other kind of array. */
        Backing<?> other();

        default byte[] content(A array) {
            return segment(array).toArray(ValueLayout.JAVA_BYTE);
        }

        default A copy(A array) {
            return of(content(array));
        }
    }

    /** A context: word {@code i} holds bytes {@code 8i .. 8i + 7}; whole 64-bit values are stored to it. */
    private record Words() implements Backing<long[]> {
        @Override
        public long[] of(byte[] content) {
            return MemorySegment.ofArray(content).toArray(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN));
        }

        @Override
        public MemorySegment segment(long[] array) { return MemorySegment.ofArray(array); }

        @Override
        public long[] arrayAt(AddressSpace memory, long address, int size, boolean write) { return memory.wordsAt(address, size, write); }

        @Override
        public long load(long[] w, long offset, int width, boolean signed) {
            return switch (width) {
                case 1 -> signed ? JitRuntime.wordS8(w, offset) : JitRuntime.wordU8(w, offset);
                case 2 -> signed ? JitRuntime.wordS16(w, offset) : JitRuntime.wordU16(w, offset);
                case 4 -> signed ? JitRuntime.wordS32(w, offset) : JitRuntime.wordU32(w, offset);
                default -> JitRuntime.word64(w, offset);
            };
        }

        @Override
        public int[] storeWidths() { return new int[] {8}; }

        @Override
        public void store(long[] w, long offset, int width, long value) {
            if (width != 8) throw new IllegalArgumentException("words take whole 64-bit stores only");
            JitRuntime.wordSet64(w, offset, value);
        }

        @Override
        public Backing<?> other() { return new Bytes(); }
    }

    /** A packet or stack: every width loaded and stored. */
    private record Bytes() implements Backing<byte[]> {
        @Override
        public byte[] of(byte[] content) { return content.clone(); }

        @Override
        public MemorySegment segment(byte[] array) { return MemorySegment.ofArray(array); }

        @Override
        public byte[] arrayAt(AddressSpace memory, long address, int size, boolean write) { return memory.bytesAt(address, size, write); }

        @Override
        public long load(byte[] b, long offset, int width, boolean signed) {
            return switch (width) {
                case 1 -> signed ? JitRuntime.bytesS8(b, offset) : JitRuntime.bytesU8(b, offset);
                case 2 -> signed ? JitRuntime.bytesS16(b, offset) : JitRuntime.bytesU16(b, offset);
                case 4 -> signed ? JitRuntime.bytesS32(b, offset) : JitRuntime.bytesU32(b, offset);
                default -> JitRuntime.bytes64(b, offset);
            };
        }

        @Override
        public int[] storeWidths() { return new int[] {1, 2, 4, 8}; }

        @Override
        public void store(byte[] b, long offset, int width, long value) {
            switch (width) {
                case 1 -> JitRuntime.bytesSet8(b, offset, value);
                case 2 -> JitRuntime.bytesSet16(b, offset, value);
                case 4 -> JitRuntime.bytesSet32(b, offset, value);
                default -> JitRuntime.bytesSet64(b, offset, value);
            }
        }

        @Override
        public Backing<?> other() { return new Words(); }
    }

    /**
     * One backing under test: arrays of {@code size} bytes filled from {@code seed}, {@code rounds}
     * of them where every offset is tried, and {@code pastEndSize} bytes for the accesses past the
     * end (the sizes are each kind's usual: whole words of a context, an odd-sized packet).
     */
    record Case(String name, Backing<?> backing, int size, int rounds, long seed, int pastEndSize) {
        @Override
        public String toString() { return name; }
    }

    static List<Case> backings() {
        return List.of(new Case("long[] words", new Words(), 32, 20, 7, 16), new Case("byte[]", new Bytes(), 37, 10, 11, 10));
    }

    @ParameterizedTest
    @MethodSource("backings")
    void loadsAndStoresOfEveryWidthAgreeWithTheSegmentAtEveryOffset(Case c) {
        agreeWithTheSegment(c.backing(), c);
    }

    private static <A> void agreeWithTheSegment(Backing<A> backing, Case c) {
        Random random = new Random(c.seed());
        for (int round = 0; round < c.rounds(); round++) {
            byte[] content = new byte[c.size()];
            random.nextBytes(content);
            A array = backing.of(content);
            MemorySegment s = backing.segment(array);
            for (long off = 0; off < c.size(); off++) {
                for (int width : LOAD_WIDTHS) {
                    if (off + width <= c.size()) assertLoadsAgree(backing, array, s, off, width);
                }
                long value = random.nextLong();
                for (int width : backing.storeWidths()) {
                    if (off + width > c.size()) continue;
                    A actual = backing.copy(array);
                    backing.store(actual, off, width, value);
                    MemorySegment expected = MemorySegment.ofArray(backing.content(array));
                    switch (width) {
                        case 1 -> expected.set(ValueLayout.JAVA_BYTE, off, (byte) value);
                        case 2 -> expected.set(LE16, off, (short) value);
                        case 4 -> expected.set(LE32, off, (int) value);
                        default -> expected.set(LE64, off, value);
                    }
                    assertThat(backing.content(actual)).as("%d-byte store at %d", width, off).isEqualTo(expected.toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }
    }

    /** The zero-extending and (below 8 bytes) sign-extending loads of {@code width} bytes at {@code off} read what {@code s} holds. */
    private static <A> void assertLoadsAgree(Backing<A> backing, A array, MemorySegment s, long off, int width) {
        switch (width) {
            case 1 -> {
                assertThat(backing.load(array, off, 1, false)).as("u8 at %d", off).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off) & 0xffL);
                assertThat(backing.load(array, off, 1, true)).as("s8 at %d", off).isEqualTo(s.get(ValueLayout.JAVA_BYTE, off));
            }
            case 2 -> {
                assertThat(backing.load(array, off, 2, false)).as("u16 at %d", off).isEqualTo(s.get(LE16, off) & 0xffffL);
                assertThat(backing.load(array, off, 2, true)).as("s16 at %d", off).isEqualTo(s.get(LE16, off));
            }
            case 4 -> {
                assertThat(backing.load(array, off, 4, false)).as("u32 at %d", off).isEqualTo(s.get(LE32, off) & 0xffff_ffffL);
                assertThat(backing.load(array, off, 4, true)).as("s32 at %d", off).isEqualTo(s.get(LE32, off));
            }
            default -> assertThat(backing.load(array, off, 8, false)).as("u64 at %d", off).isEqualTo(s.get(LE64, off));
        }
    }

    @ParameterizedTest
    @MethodSource("backings")
    void anAccessPastTheEndFailsAndAStoreWritesNothing(Case c) {
        failPastTheEnd(c.backing(), c.pastEndSize());
    }

    private static <A> void failPastTheEnd(Backing<A> backing, int size) {
        byte[] before = new byte[size];
        for (int i = 0; i < size; i++) before[i] = (byte) (0x11 * (i / 8 + 1) + i); // no two words alike
        A array = backing.of(before);
        MemorySegment s = backing.segment(array);
        // Every offset up to just past the end, and offsets whose cast to int is the largest
        // positive index, negative, and a negative index whose access would wrap into the array.
        long[] offsets = LongStream.concat(LongStream.rangeClosed(0, size + 1),
                LongStream.of(0x7fff_ffffL, 0x8000_0000L, 0xffff_fffcL)).toArray();
        for (long off : offsets) {
            for (int width : LOAD_WIDTHS) {
                if (off + width <= size) {
                    assertLoadsAgree(backing, array, s, off, width); // the last accesses that fit still work
                } else {
                    assertThatThrownBy(() -> backing.load(array, off, width, false)).as("u%d at %d", 8 * width, off)
                            .isInstanceOf(IndexOutOfBoundsException.class);
                    if (width < 8) {
                        assertThatThrownBy(() -> backing.load(array, off, width, true)).as("s%d at %d", 8 * width, off)
                                .isInstanceOf(IndexOutOfBoundsException.class);
                    }
                }
            }
            for (int width : backing.storeWidths()) {
                if (off + width <= size) continue;
                assertThatThrownBy(() -> backing.store(array, off, width, -1L)).as("%d-byte store at %d", width, off)
                        .isInstanceOf(IndexOutOfBoundsException.class);
                assertThat(backing.content(array)).as("after a failed %d-byte store at %d", width, off).isEqualTo(before);
            }
        }
        assertThat(backing.content(array)).isEqualTo(before);
    }

    @ParameterizedTest
    @MethodSource("backings")
    void onlyAWritableViewOfAWholeArrayIsUsed(Case c) {
        onlyWholeWritableViews(c.backing());
    }

    private static <A> void onlyWholeWritableViews(Backing<A> backing) {
        A array = backing.of(new byte[32]);
        AddressSpace memory = new AddressSpace();
        long whole = map(memory, backing.segment(array));
        long prefix = map(memory, backing.segment(array).asSlice(0, 20));
        long inner = map(memory, backing.segment(array).asSlice(8));
        long readOnly = map(memory, backing.segment(array).asReadOnly());
        long otherKind = map(memory, otherKindSegment(backing.other()));
        long nativeMemory = map(memory, Arena.ofAuto().allocate(32, 8));
        assertThat(backing.arrayAt(memory, whole + 5)).isSameAs(array);
        assertThat(backing.arrayAt(memory, prefix)).as("a prefix: the array's bounds are not the region's").isNull();
        assertThat(backing.arrayAt(memory, inner)).as("not from the first byte").isNull();
        assertThat(backing.arrayAt(memory, readOnly)).isNull();
        assertThat(backing.arrayAt(memory, otherKind)).as("an array of the other kind").isNull();
        assertThat(backing.other().arrayAt(memory, otherKind)).as("found as the other kind").isNotNull();
        assertThat(backing.arrayAt(memory, nativeMemory)).isNull();
        assertThat(backing.arrayAt(memory, whole + 24, 8, true)).as("the last word").isSameAs(array);
        assertThat(backing.arrayAt(memory, whole + 25, 8, false)).as("an access past the end: the address space's fault").isNull();
        long notWritable = memory.map(new Region(Region.Kind.CONTEXT, backing.segment(array), false, "ctx"));
        assertThat(backing.arrayAt(memory, notWritable, 8, false)).as("a load from a region the program may not write").isSameAs(array);
        assertThat(backing.arrayAt(memory, notWritable, 8, true)).as("a store to it: the address space's fault").isNull();
        memory.unmap(whole);
        assertThat(backing.arrayAt(memory, whole)).as("unmapped").isNull();
        assertThat(backing.arrayAt(memory, 0)).isNull();
        assertThat(backing.arrayAt(memory, 0x2000L << 32)).as("a shared window").isNull();
    }

    private static <A> MemorySegment otherKindSegment(Backing<A> other) {
        return other.segment(other.of(new byte[32]));
    }

    private static long map(AddressSpace memory, MemorySegment segment) {
        return memory.map(new Region(Region.Kind.MEMORY, segment, true, "r"));
    }
}
