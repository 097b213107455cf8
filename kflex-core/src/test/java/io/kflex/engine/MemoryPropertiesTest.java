package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Instruction.ByteSwap;
import io.kflex.isa.Size;
import java.math.BigInteger;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * Byte swaps, sign-extending loads and atomics on random values, on every engine, against
 * definitions written in terms of byte sequences.
 */
class MemoryPropertiesTest {
    private static final List<Engine> ENGINES = TestEngines.all();

    @Provide
    Arbitrary<Long> values() {
        return Arbitraries.oneOf(
                Arbitraries.longs(),
                Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 0x80L, 0x8000L, 0x8000_0000L, 0xffff_ffffL, 0x7fL));
    }

    /** The 8 bytes of {@code v} in memory order on a little-endian machine. */
    private static byte[] littleEndianBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (v >>> (8 * i));
        return b;
    }

    /** The unsigned number whose little-endian encoding is {@code bytes[from, from + n)}. */
    private static BigInteger fromLittleEndian(byte[] bytes, int from, int n) {
        BigInteger v = BigInteger.ZERO;
        for (int i = n - 1; i >= 0; i--) v = v.shiftLeft(8).or(BigInteger.valueOf(bytes[from + i] & 0xff));
        return v;
    }

    /** The unsigned number whose big-endian encoding is {@code bytes[from, from + n)}. */
    private static BigInteger fromBigEndian(byte[] bytes, int from, int n) {
        BigInteger v = BigInteger.ZERO;
        for (int i = 0; i < n; i++) v = v.shiftLeft(8).or(BigInteger.valueOf(bytes[from + i] & 0xff));
        return v;
    }

    private static long r0(Engine e, io.kflex.isa.Code code, long... args) {
        Outcome outcome = Runs.load(e, code, HelperTable.empty()).run(new Invocation(new AddressSpace(), args));
        assertThat(outcome).as(e.name()).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @Property(tries = 500)
    void byteSwaps(@ForAll("values") long v, @ForAll ByteSwap kind, @ForAll("widths") int bits) {
        byte[] bytes = littleEndianBytes(v);
        int n = bits / 8;
        // A register's low n bytes are bytes[0, n). to-LE keeps them; to-BE and bswap reverse them.
        BigInteger expected = kind == ByteSwap.TO_LE ? fromLittleEndian(bytes, 0, n) : fromBigEndian(bytes, 0, n);
        for (Engine e : ENGINES) {
            assertThat(r0(e, code(movr(0, 1), endian(kind, bits, 0), exit()), v))
                    .as("%s: %s%d %#x", e.name(), kind, bits, v)
                    .isEqualTo(expected.longValue());
        }
    }

    @Provide
    Arbitrary<Integer> widths() {
        return Arbitraries.of(16, 32, 64);
    }

    @Property(tries = 500)
    void loadsOfEverySizeAndSignedness(@ForAll("values") long v, @ForAll Size size, @ForAll boolean signed,
            @ForAll @IntRange(min = 0, max = 7) int offset) {
        if (signed && size == Size.DW) signed = false; // there is no sign-extending 64-bit load
        int n = size.bytes();
        if (offset + n > 8) offset = 8 - n;
        byte[] bytes = littleEndianBytes(v);
        BigInteger u = fromLittleEndian(bytes, offset, n);
        BigInteger value = signed && u.testBit(8 * n - 1) ? u.subtract(BigInteger.ONE.shiftLeft(8 * n)) : u;
        long expected = value.longValue();
        var load = signed ? ldxs(size, 0, 10, -8 + offset) : ldx(size, 0, 10, -8 + offset);
        for (Engine e : ENGINES) {
            assertThat(r0(e, code(stx(Size.DW, 10, 1, -8), load, exit()), v))
                    .as("%s: %s%s at +%d of %#x", e.name(), signed ? "s" : "", size, offset, v)
                    .isEqualTo(expected);
        }
    }

    @Property(tries = 500)
    void atomicsAgreeWithTheirDefinition(@ForAll("values") long memory, @ForAll("values") long operand, @ForAll("values") long r0,
            @ForAll AtomicOp op, @ForAll boolean fetch, @ForAll boolean wide) {
        if (op.alwaysFetches()) fetch = true;
        int bits = wide ? 64 : 32;
        long mask = wide ? -1L : 0xffff_ffffL;
        long old = memory & mask;
        long b = operand & mask;
        long updated = switch (op) {
            case ADD -> old + b;
            case OR -> old | b;
            case AND -> old & b;
            case XOR -> old ^ b;
            case XCHG -> b;
            case CMPXCHG -> (r0 & mask) == old ? b : old;
        };
        long expectedMemory = (memory & ~mask) | (updated & mask); // a 32-bit atomic leaves the high word alone
        long expectedR1 = fetch && op != AtomicOp.CMPXCHG ? old : operand;
        long expectedR0 = op == AtomicOp.CMPXCHG ? old : r0;
        Size size = wide ? Size.DW : Size.W;
        for (Engine e : ENGINES) {
            // Returns memory, r1 or r0 depending on `which`.
            for (int which = 0; which < 3; which++) {
                var result = which == 0 ? ldx(Size.DW, 0, 10, -8) : which == 1 ? movr(0, 1) : movr(0, 0);
                long got = r0(e, code(
                        stx(Size.DW, 10, 2, -8),
                        lddw(0, r0),
                        atomic(size, op, fetch, 10, 1, -8),
                        result,
                        exit()), operand, memory);
                long want = which == 0 ? expectedMemory : which == 1 ? expectedR1 : expectedR0;
                assertThat(got).as("%s: %s%s%d mem=%#x src=%#x r0=%#x, checking %s", e.name(), fetch ? "fetch " : "", op, bits,
                        memory, operand, r0, List.of("memory", "src", "r0").get(which)).isEqualTo(want);
            }
        }
    }
}
