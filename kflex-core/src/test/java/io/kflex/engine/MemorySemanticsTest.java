package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static io.kflex.engine.Runs.r0;
import static io.kflex.engine.Runs.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Size;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class MemorySemanticsTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Runs {@code code} with r1 pointing at a fresh context region holding {@code bytes}. */
    private static Outcome runWithContext(Engine e, Code code, MemorySegment context, boolean writable) {
        AddressSpace memory = new AddressSpace();
        long base = memory.map(new Region(Region.Kind.CONTEXT, context, writable, "ctx"));
        return Runs.load(e, code, HelperTable.empty()).run(new Invocation(memory, base));
    }

    private static MemorySegment bytes(int... values) {
        MemorySegment s = MemorySegment.ofArray(new byte[values.length]);
        for (int i = 0; i < values.length; i++) s.set(ValueLayout.JAVA_BYTE, i, (byte) values[i]);
        return s;
    }

    @ParameterizedTest
    @MethodSource("engines")
    void loadsAreLittleEndianAndZeroExtended(Engine e) {
        MemorySegment ctx = bytes(0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x99);
        assertThat(runWithContext(e, code(ldx(Size.B, 0, 1, 8), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0x99));
        assertThat(runWithContext(e, code(ldx(Size.H, 0, 1, 0), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0x8281));
        assertThat(runWithContext(e, code(ldx(Size.W, 0, 1, 1), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0x8584_8382L));
        assertThat(runWithContext(e, code(ldx(Size.DW, 0, 1, 0), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0x8887_8685_8483_8281L));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void signExtendingLoads(Engine e) {
        MemorySegment ctx = bytes(0x81, 0x82, 0x83, 0x84, 0x05, 0x06, 0x07, 0x08);
        assertThat(runWithContext(e, code(ldxs(Size.B, 0, 1, 0), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0xffff_ffff_ffff_ff81L));
        assertThat(runWithContext(e, code(ldxs(Size.H, 0, 1, 0), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0xffff_ffff_ffff_8281L));
        assertThat(runWithContext(e, code(ldxs(Size.W, 0, 1, 0), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0xffff_ffff_8483_8281L));
        assertThat(runWithContext(e, code(ldxs(Size.W, 0, 1, 4), exit()), ctx, false)).isEqualTo(new Outcome.Returned(0x0807_0605L));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void storesOfEverySizeOnTheStack(Engine e) {
        Code code = code(
                st(Size.DW, 10, -8, -1),               // ffff ffff ffff ffff
                st(Size.B, 10, -8, 0x1234),            // low byte only: 34
                st(Size.H, 10, -6, 0xabcd),            // bytes 2..3
                mov(2, 0x7788),
                stx(Size.H, 10, 2, -4),                // bytes 4..5
                ldx(Size.DW, 0, 10, -8),
                exit());
        assertThat(r0(e, code)).isEqualTo(0xffff_7788_abcd_ff34L);
        Code wide = code(lddw(2, 0x1122_3344_5566_7788L), stx(Size.DW, 10, 2, -16), mov(3, 0), stx(Size.W, 10, 3, -16), ldx(Size.DW, 0, 10, -16), exit());
        assertThat(r0(e, wide)).isEqualTo(0x1122_3344_0000_0000L);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void storesReachTheContext(Engine e) {
        MemorySegment ctx = MemorySegment.ofArray(new long[2]);
        Code code = code(lddw(2, 0x0102_0304_0506_0708L), stx(Size.DW, 1, 2, 8), st(Size.W, 1, 0, -2), mov(0, 0), exit());
        assertThat(runWithContext(e, code, ctx, true)).isEqualTo(new Outcome.Returned(0));
        assertThat(ctx.get(LE64, 8)).isEqualTo(0x0102_0304_0506_0708L);
        assertThat(ctx.get(LE64, 0)).isEqualTo(0xffff_fffeL);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void outOfBoundsAccessesFaultAtTheirInstruction(Engine e) {
        MemorySegment ctx = bytes(1, 2, 3, 4);
        assertThat(runWithContext(e, code(mov(0, 0), ldx(Size.W, 0, 1, 1), exit()), ctx, false))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(1);
                    assertThat(f.reason()).contains("out of bounds");
                });
        assertThat(runWithContext(e, code(mov(0, 0), mov(0, 0), ldx(Size.B, 0, 1, -1), exit()), ctx, false))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(2));
        assertThat(runWithContext(e, code(lddw(0, 7), st(Size.B, 1, 0, 1), exit()), ctx, false))
                .as("read-only context")
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(2);
                    assertThat(f.reason()).contains("read-only");
                });
        assertThat(run(e, code(mov(1, 0), ldx(Size.DW, 0, 1, 0), exit())))
                .as("NULL")
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(1);
                    assertThat(f.reason()).contains("unmapped");
                });
        assertThat(run(e, code(st(Size.DW, 10, 0, 1), exit())))
                .as("above the main frame")
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isZero());
        assertThat(run(e, code(mov(0, 0), stx(Size.B, 10, 0, -RuntimeLimits.STACK_SIZE - 1), exit())))
                .as("below the whole stack")
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(1));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void stackIsZeroedPerInvocationAndUnmappedAfterwardsUnlessTheAddressSpaceKeepsIt(Engine e) {
        Code code = code(ldx(Size.DW, 0, 10, -8), st(Size.DW, 10, -8, 77), exit());
        Executable program = Runs.load(e, code, HelperTable.empty());
        AddressSpace memory = new AddressSpace();
        for (int run = 0; run < 4; run++) {
            assertThat(program.run(new Invocation(memory))).as("no stale data from an earlier run").isEqualTo(new Outcome.Returned(0));
        }

        Executable frame = Runs.load(e, code(movr(0, 10), exit()), HelperTable.empty());
        AddressSpace once = new AddressSpace();
        long r10 = ((Outcome.Returned) frame.run(new Invocation(once))).r0();
        assertThat(r10 & 0xffff_ffffL).isEqualTo(RuntimeLimits.STACK_SIZE);
        assertThat(once.regionOf(r10 - 8)).as("stack unmapped after the run").isNull();
        // An address space that runs again and again (a hook thread's) keeps its stack mapped.
        long kept = ((Outcome.Returned) frame.run(new Invocation(memory))).r0();
        assertThat(memory.regionOf(kept - 8)).isNotNull().extracting(Region::kind).isEqualTo(Region.Kind.STACK);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void stackIsUnmappedAfterAFaultToo(Engine e) {
        AddressSpace memory = new AddressSpace();
        Code code = code(mov(1, 0), ldx(Size.DW, 0, 1, 0), exit());
        assertThat(Runs.load(e, code, HelperTable.empty()).run(new Invocation(memory))).isInstanceOf(Outcome.Faulted.class);
        long next = memory.map(new Region(Region.Kind.MEMORY, MemorySegment.ofArray(new byte[1]), false, "probe"));
        assertThat(next >>> 32).as("the stack's window was released").isEqualTo(1);
    }

    /** Stores {@code initial} at r10-8 (64-bit) and applies the atomic with r1 = {@code operand}. */
    private static List<Instruction> atomicProgram(Size size, AtomicOp op, boolean fetch, long initial, long operand, long r0) {
        List<Instruction> p = new ArrayList<>();
        p.add(lddw(2, initial));
        p.add(stx(Size.DW, 10, 2, -8));
        p.add(lddw(1, operand));
        p.add(lddw(0, r0));
        p.add(atomic(size, op, fetch, 10, 1, -8));
        return p;
    }

    private static long atomicMemory(Engine e, Size size, AtomicOp op, boolean fetch, long initial, long operand) {
        List<Instruction> p = atomicProgram(size, op, fetch, initial, operand, 0);
        p.add(ldx(Size.DW, 0, 10, -8));
        p.add(exit());
        return r0(e, code(p));
    }

    private static long atomicFetched(Engine e, Size size, AtomicOp op, long initial, long operand) {
        List<Instruction> p = atomicProgram(size, op, true, initial, operand, 0);
        p.add(movr(0, 1));
        p.add(exit());
        return r0(e, code(p));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void atomicArithmeticIn64Bits(Engine e) {
        long init = 0x0f0f_0000_0000_00ffL;
        assertThat(atomicMemory(e, Size.DW, AtomicOp.ADD, false, init, 0x1_0000_0001L)).isEqualTo(0x0f0f_0001_0000_0100L);
        assertThat(atomicMemory(e, Size.DW, AtomicOp.OR, false, init, 0xf000_0000_0000_0000L)).isEqualTo(0xff0f_0000_0000_00ffL);
        assertThat(atomicMemory(e, Size.DW, AtomicOp.AND, false, init, 0x0f00_0000_0000_000fL)).isEqualTo(0x0f00_0000_0000_000fL);
        assertThat(atomicMemory(e, Size.DW, AtomicOp.XOR, true, init, -1L)).isEqualTo(~init);
        assertThat(atomicMemory(e, Size.DW, AtomicOp.XCHG, true, init, 42)).isEqualTo(42);
        for (AtomicOp op : List.of(AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR, AtomicOp.XCHG)) {
            assertThat(atomicFetched(e, Size.DW, op, init, 5)).as("fetch %s returns the old value", op).isEqualTo(init);
        }
        // Without fetch the source register is left alone.
        List<Instruction> p = atomicProgram(Size.DW, AtomicOp.ADD, false, 1, 2, 0);
        p.add(movr(0, 1));
        p.add(exit());
        assertThat(r0(e, code(p))).isEqualTo(2);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void atomicArithmeticIn32BitsTouchesOnlyTheLowWordAndZeroExtends(Engine e) {
        long init = 0x1111_1111_ffff_ffffL;
        assertThat(atomicMemory(e, Size.W, AtomicOp.ADD, false, init, 1)).isEqualTo(0x1111_1111_0000_0000L);
        assertThat(atomicMemory(e, Size.W, AtomicOp.AND, true, init, 0xdead_beef_0000_00f0L)).isEqualTo(0x1111_1111_0000_00f0L);
        assertThat(atomicMemory(e, Size.W, AtomicOp.OR, false, 0x1111_1111_0000_0000L, 0x2_8000_0000L)).isEqualTo(0x1111_1111_8000_0000L);
        assertThat(atomicMemory(e, Size.W, AtomicOp.XOR, true, init, 0xffffL)).isEqualTo(0x1111_1111_ffff_0000L);
        assertThat(atomicMemory(e, Size.W, AtomicOp.XCHG, true, init, 0x7777_7777_1234_5678L)).isEqualTo(0x1111_1111_1234_5678L);
        for (AtomicOp op : List.of(AtomicOp.ADD, AtomicOp.OR, AtomicOp.AND, AtomicOp.XOR, AtomicOp.XCHG)) {
            assertThat(atomicFetched(e, Size.W, op, init, 5)).as("fetch %s zero-extends the old word", op).isEqualTo(0xffff_ffffL);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void compareAndExchange(Engine e) {
        // r0 holds the expected value and receives the old one.
        List<Instruction> hit = atomicProgram(Size.DW, AtomicOp.CMPXCHG, true, 10, 99, 10);
        hit.add(ldx(Size.DW, 2, 10, -8));
        hit.add(addr(0, 2)); // old (10) + new memory (99)
        hit.add(exit());
        assertThat(r0(e, code(hit))).isEqualTo(109);

        List<Instruction> miss = atomicProgram(Size.DW, AtomicOp.CMPXCHG, true, 10, 99, 11);
        miss.add(ldx(Size.DW, 2, 10, -8));
        miss.add(alu64(io.kflex.isa.AluOp.LSH, 2, 8));
        miss.add(addr(0, 2)); // old (10) + memory unchanged (10 << 8)
        miss.add(exit());
        assertThat(r0(e, code(miss))).isEqualTo(10 + (10 << 8));

        // 32 bits: compares the low words of r0 and memory, r0 receives the zero-extended old word.
        List<Instruction> w = atomicProgram(Size.W, AtomicOp.CMPXCHG, true, 0x5555_5555_8000_0001L, 7, 0xffff_ffff_8000_0001L);
        w.add(exit());
        assertThat(r0(e, code(w))).isEqualTo(0x8000_0001L);
        List<Instruction> w2 = atomicProgram(Size.W, AtomicOp.CMPXCHG, true, 0x5555_5555_8000_0001L, 7, 0xffff_ffff_8000_0001L);
        w2.add(ldx(Size.DW, 0, 10, -8));
        w2.add(exit());
        assertThat(r0(e, code(w2))).isEqualTo(0x5555_5555_0000_0007L);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void misalignedAtomicsFault(Engine e) {
        Code code = code(mov(1, 1), atomic(Size.DW, AtomicOp.ADD, false, 10, 1, -12), exit());
        assertThat(run(e, code)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(1);
            assertThat(f.reason()).contains("misaligned");
        });
    }

    @ParameterizedTest
    @MethodSource("engines")
    void atomicsWorkOnByteArrayRegions(Engine e) {
        MemorySegment ctx = MemorySegment.ofArray(new byte[16]);
        ctx.set(LE64, 8, 40);
        Code code = code(mov(2, 2), atomic(Size.DW, AtomicOp.ADD, true, 1, 2, 8), movr(0, 2), exit());
        assertThat(runWithContext(e, code, ctx, true)).isEqualTo(new Outcome.Returned(40));
        assertThat(ctx.get(LE64, 8)).isEqualTo(42);
    }
}
