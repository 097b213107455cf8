package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * Every ALU operation (32 and 64 bits, register and immediate forms) and every JMP/JMP32
 * condition on random operands, weighted towards the values where implementations go wrong,
 * checked on every engine against {@link ArithmeticModel}.
 */
class ArithmeticPropertiesTest {
    private static final List<Engine> ENGINES = TestEngines.all();

    /** Register-form programs depend only on the operation, so each is loaded once per engine. */
    private static final Map<String, Executable> LOADED = new ConcurrentHashMap<>();

    private static final long[] EDGES = {
        0, 1, -1, 2, -2, 31, 32, 63, 64,
        Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE + 1L,
        Long.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE + 1,
        0xffff_ffffL, 0x8000_0000L, 0x1_0000_0000L, 0x7fff_ffffL, 0x1_ffff_ffffL,
        0xffff_ffff_8000_0000L, 0xffff_ffff_0000_0000L, 0x8000_0000_ffff_ffffL,
        0xffL, 0x80L, 0xffffL, 0x8000L,
    };

    private static final int[] IMMEDIATE_EDGES = {
        0, 1, -1, 2, -2, 31, 32, 63, 64, Integer.MIN_VALUE, Integer.MAX_VALUE, Integer.MIN_VALUE + 1, 0x80, 0xff, 0x8000, 0xffff,
    };

    @Provide
    Arbitrary<Long> operands() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.of(Arrays.stream(EDGES).boxed().toList())),
                Tuple.of(3, Arbitraries.longs()),
                Tuple.of(1, Arbitraries.integers().map(i -> (long) i)),
                Tuple.of(1, Arbitraries.integers().map(i -> i & 0xffff_ffffL)),
                Tuple.of(1, Arbitraries.longs().between(-70, 70)));
    }

    @Provide
    Arbitrary<Integer> immediates() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(Arrays.stream(IMMEDIATE_EDGES).boxed().toList())),
                Tuple.of(3, Arbitraries.integers()),
                Tuple.of(1, Arbitraries.integers().between(-70, 70)));
    }

    /** Operations with an immediate form: the sign-extending moves only take a register. */
    @Provide
    Arbitrary<AluOp> immediateOps() {
        return Arbitraries.of(AluOp.class).filter(op -> !op.isMovSx());
    }

    /** RFC 9669 defines the 32-bit sign-extending moves for 8 and 16 bits only. */
    @Provide
    Arbitrary<AluOp> alu32Ops() {
        return Arbitraries.of(AluOp.class).filter(op -> op != AluOp.MOVSX32);
    }

    private static Executable loadOnce(Engine engine, String key, Code code) {
        return LOADED.computeIfAbsent(engine.name() + ":" + key, k -> Runs.load(engine, code, HelperTable.empty()));
    }

    private static long run(Executable program, long... args) {
        Outcome outcome = program.run(new Invocation(new AddressSpace(), args));
        assertThat(outcome).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @Property(tries = 2000)
    void alu64RegisterForm(@ForAll AluOp op, @ForAll("operands") long a, @ForAll("operands") long b) {
        long expected = ArithmeticModel.alu(op, 64, a, b);
        for (Engine e : ENGINES) {
            Executable p = loadOnce(e, "alu64x " + op, code(movr(0, 1), alu64r(op, 0, 2), exit()));
            assertThat(run(p, a, b)).as("%s: r0 = %#x; r0 %s %#x", e.name(), a, op, b).isEqualTo(expected);
        }
    }

    @Property(tries = 2000)
    void alu32RegisterForm(@ForAll("alu32Ops") AluOp op, @ForAll("operands") long a, @ForAll("operands") long b) {
        long expected = ArithmeticModel.alu(op, 32, a, b);
        for (Engine e : ENGINES) {
            Executable p = loadOnce(e, "alu32x " + op, code(movr(0, 1), alu32r(op, 0, 2), exit()));
            assertThat(run(p, a, b)).as("%s: r0 = %#x; w0 %s w(%#x)", e.name(), a, op, b).isEqualTo(expected);
        }
    }

    @Property(tries = 600)
    void alu64ImmediateForm(@ForAll("immediateOps") AluOp op, @ForAll("operands") long a, @ForAll("immediates") int imm) {
        long expected = ArithmeticModel.alu(op, 64, a, imm); // the immediate is sign-extended
        for (Engine e : ENGINES) {
            Executable p = Runs.load(e, code(movr(0, 1), alu64(op, 0, imm), exit()), HelperTable.empty());
            assertThat(run(p, a)).as("%s: r0 = %#x; r0 %s %d", e.name(), a, op, imm).isEqualTo(expected);
        }
    }

    @Property(tries = 600)
    void alu32ImmediateForm(@ForAll("immediateOps") AluOp op, @ForAll("operands") long a, @ForAll("immediates") int imm) {
        long expected = ArithmeticModel.alu(op, 32, a, imm);
        for (Engine e : ENGINES) {
            Executable p = Runs.load(e, code(movr(0, 1), alu32(op, 0, imm), exit()), HelperTable.empty());
            assertThat(run(p, a)).as("%s: r0 = %#x; w0 %s %d", e.name(), a, op, imm).isEqualTo(expected);
        }
    }

    /** r0 = 1 if the branch is taken, else 0. */
    private static Code branch(io.kflex.isa.Instruction jump) {
        return code(mov(0, 1), jump, mov(0, 0), exit());
    }

    @Property(tries = 2000)
    void jumpRegisterForms(@ForAll JumpOp op, @ForAll boolean wide, @ForAll("operands") long a, @ForAll("operands") long b) {
        long expected = ArithmeticModel.condition(op, wide ? 64 : 32, a, b) ? 1 : 0;
        for (Engine e : ENGINES) {
            Executable p = loadOnce(e, (wide ? "jmp " : "jmp32 ") + op, branch(wide ? jmpr(op, 1, 2, 1) : jmp32r(op, 1, 2, 1)));
            assertThat(run(p, a, b)).as("%s: %s%s %#x, %#x", e.name(), op, wide ? "" : "32", a, b).isEqualTo(expected);
        }
    }

    @Property(tries = 600)
    void jumpImmediateForms(@ForAll JumpOp op, @ForAll boolean wide, @ForAll("operands") long a, @ForAll("immediates") int imm) {
        long expected = ArithmeticModel.condition(op, wide ? 64 : 32, a, imm) ? 1 : 0;
        for (Engine e : ENGINES) {
            Executable p = Runs.load(e, branch(wide ? jmp(op, 1, imm, 1) : jmp32(op, 1, imm, 1)), HelperTable.empty());
            assertThat(run(p, a)).as("%s: %s%s %#x, %d", e.name(), op, wide ? "" : "32", a, imm).isEqualTo(expected);
        }
    }
}
