package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.helpers.HelperTable;
import io.kflex.interp.Interpreter;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Interpreter and JIT must agree on every terminating program: random straight-line and
 * forward-branching code over ALU, jumps, byte swaps and stack memory (including atomics and the
 * occasional faulting access). A fixed prologue gives every register a value, a fixed epilogue
 * writes r0..r8 and the whole main stack frame into an output region, so the comparison covers
 * registers, memory and the outcome (with the fault pc).
 */
class DifferentialTest {
    private static final int OUTPUT_SIZE = 512 + 9 * 8;
    private static final Engine INTERPRETER = new Interpreter();
    private static final Engine JIT = new JitEngine();

    /** One generated instruction; jumps hold a forward distance fixed up when the program is laid out. */
    sealed interface Step {}

    record Plain(Instruction insn) implements Step {}

    record ForwardJump(boolean wide, JumpOp op, int dst, Operand src, int distance) implements Step {}

    record ForwardGoto(int distance) implements Step {}

    @Property(tries = 3000)
    void interpreterAndJitAgree(@ForAll("programs") List<Step> body, @ForAll("registerValues") List<Long> initial) throws Exception {
        Code code = Code.of(layout(body, initial));
        Result expected = run(INTERPRETER, code);
        Result actual = run(JIT, code);
        assertThat(actual.outcome()).as("outcome of%n%s", code.instructions()).isEqualTo(expected.outcome());
        if (expected.outcome() instanceof Outcome.Returned) {
            assertThat(actual.output()).as("registers and stack of%n%s", code.instructions()).isEqualTo(expected.output());
        }
    }

    /**
     * The same with a tiny method-size limit, so that the JIT splits every program into many
     * regions: branches, fall-through and faults across region boundaries must not change anything.
     */
    @Property(tries = 400)
    void splitProgramsAgreeToo(@ForAll("programs") List<Step> body, @ForAll("registerValues") List<Long> initial) throws Exception {
        Code code = Code.of(layout(body, initial));
        Result expected = run(INTERPRETER.load(code, Bindings.of(HelperTable.empty())));
        JitExecutable split = new JitEngine().load(new JitCompiler(code, Bindings.of(HelperTable.empty()), 600));
        assertThat(split.splitSubprograms()).isEqualTo(1);
        assertThat(JitCompiler.classFile().verify(split.classBytes())).isEmpty();
        Result actual = run(split);
        assertThat(actual.outcome()).as("outcome of%n%s", code.instructions()).isEqualTo(expected.outcome());
        assertThat(actual.output()).as("registers and stack of%n%s", code.instructions()).isEqualTo(expected.output());
    }

    private record Result(Outcome outcome, byte[] output) {}

    private static Result run(Engine engine, Code code) throws Exception {
        return run(engine.load(code, Bindings.of(HelperTable.empty())));
    }

    private static Result run(Executable executable) {
        AddressSpace memory = new AddressSpace();
        MemorySegment output = MemorySegment.ofArray(new byte[OUTPUT_SIZE]);
        long base = memory.map(new Region(Region.Kind.MEMORY, output, true, "output"));
        Outcome outcome = executable.run(new Invocation(memory, base));
        return new Result(outcome, output.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    /** prologue (r9 = output, r0..r8 = values) + body + epilogue (registers and frame to output). */
    static List<Instruction> layout(List<Step> body, List<Long> initial) {
        List<Instruction> program = new ArrayList<>();
        program.add(new Alu(true, AluOp.MOV, 9, Operand.reg(1)));
        for (int r = 0; r <= 8; r++) program.add(LoadImm64.of(r, initial.get(r)));
        // Distances count steps (so a jump never lands inside lddw), clamped to the epilogue.
        for (int i = 0; i < body.size(); i++) {
            program.add(switch (body.get(i)) {
                case Plain p -> p.insn();
                case ForwardJump j -> new Jump(j.wide(), j.op(), j.dst(), j.src(), (short) skippedSlots(body, i, j.distance()));
                case ForwardGoto g -> new Goto(skippedSlots(body, i, g.distance()), false);
            });
        }
        for (int r = 0; r <= 8; r++) program.add(new StoreReg(Size.DW, 9, r, (short) (512 + 8 * r)));
        for (int i = 0; i < 64; i++) {
            program.add(new Load(Size.DW, false, 1, 10, (short) (-512 + 8 * i)));
            program.add(new StoreReg(Size.DW, 9, 1, (short) (8 * i)));
        }
        program.add(new Exit());
        return program;
    }

    /** Slots taken by the (at most {@code distance}) steps after step {@code at}. */
    private static int skippedSlots(List<Step> body, int at, int distance) {
        int slots = 0;
        for (int k = at + 1; k <= Math.min(body.size() - 1, at + distance); k++) slots += slots(body.get(k));
        return slots;
    }

    private static int slots(Step step) {
        return step instanceof Plain p ? p.insn().slots() : 1;
    }

    @Provide
    Arbitrary<List<Long>> registerValues() {
        return interestingLongs().list().ofSize(9);
    }

    @Provide
    Arbitrary<List<Step>> programs() {
        return Arbitraries.frequencyOf(
                        net.jqwik.api.Tuple.of(30, alu()),
                        net.jqwik.api.Tuple.of(3, endian()),
                        net.jqwik.api.Tuple.of(3, lddw()),
                        net.jqwik.api.Tuple.of(8, store()),
                        net.jqwik.api.Tuple.of(8, load()),
                        net.jqwik.api.Tuple.of(3, atomic()),
                        net.jqwik.api.Tuple.of(10, jump()),
                        net.jqwik.api.Tuple.of(2, forwardGoto()),
                        net.jqwik.api.Tuple.of(1, wildLoad()))
                .list().ofMinSize(1).ofMaxSize(40);
    }

    private static Arbitrary<Long> interestingLongs() {
        return Arbitraries.oneOf(
                Arbitraries.of(0L, 1L, -1L, 2L, 31L, 32L, 63L, 64L, Long.MIN_VALUE, Long.MAX_VALUE,
                        (long) Integer.MIN_VALUE, (long) Integer.MAX_VALUE, 0xffff_ffffL, 0x8000_0000L, 0x1_0000_0000L),
                Arbitraries.longs(),
                Arbitraries.longs().between(-600, 600));
    }

    private static Arbitrary<Integer> interestingInts() {
        return Arbitraries.oneOf(
                Arbitraries.of(0, 1, -1, 2, 31, 32, 63, 64, Integer.MIN_VALUE, Integer.MAX_VALUE),
                Arbitraries.integers(),
                Arbitraries.integers().between(-100, 100));
    }

    /** Registers the body may write: r9 holds the output pointer and r10 the frame. */
    private static Arbitrary<Integer> dst() { return Arbitraries.integers().between(0, 8); }

    private static Arbitrary<Integer> anySrc() { return Arbitraries.integers().between(0, 10); }

    private static Arbitrary<Operand> operand() {
        return Arbitraries.oneOf(anySrc().map(Operand::reg), interestingInts().map(Operand::imm));
    }

    private static Arbitrary<Step> alu() {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(AluOp.class), dst(), operand())
                .as((wide, op, d, src) -> {
                    if (op == AluOp.MOVSX32 && !wide) op = AluOp.MOV; // not an ALU32 form
                    if (op.isMovSx() && src instanceof Operand.Imm) src = Operand.reg(d); // movsx takes a register
                    return new Plain(new Alu(wide, op, d, src));
                });
    }

    private static Arbitrary<Step> endian() {
        return Combinators.combine(Arbitraries.of(ByteSwap.class), Arbitraries.of(16, 32, 64), dst())
                .as((kind, bits, d) -> new Plain(new Endian(kind, bits, d)));
    }

    private static Arbitrary<Step> lddw() {
        return Combinators.combine(dst(), interestingLongs()).as((d, v) -> new Plain(LoadImm64.of(d, v)));
    }

    /** A frame offset for an access of {@code size} bytes, mostly aligned, always inside the frame. */
    private static Arbitrary<Short> frameOffset(Size size) {
        return Arbitraries.integers().between(-512, -size.bytes()).map(o -> (short) (int) o);
    }

    private static Arbitrary<Step> store() {
        return Arbitraries.of(Size.class).flatMap(size -> Arbitraries.oneOf(
                Combinators.combine(frameOffset(size), interestingInts()).as((off, v) -> new Plain(new Store(size, 10, off, v))),
                Combinators.combine(frameOffset(size), anySrc()).as((off, s) -> new Plain(new StoreReg(size, 10, s, off)))));
    }

    private static Arbitrary<Step> load() {
        return Arbitraries.of(Size.class).flatMap(size -> Combinators.combine(
                        frameOffset(size), dst(), size == Size.DW ? Arbitraries.just(false) : Arbitraries.of(true, false))
                .as((off, d, signed) -> new Plain(new Load(size, signed, d, 10, off))));
    }

    private static Arbitrary<Step> atomic() {
        return Combinators.combine(Arbitraries.of(Size.W, Size.DW), Arbitraries.of(AtomicOp.class), Arbitraries.of(true, false),
                        Arbitraries.integers().between(1, 64), Arbitraries.integers().between(0, 8))
                .as((size, op, fetch, slot, src) -> new Plain(new Atomic(size, op, fetch || op.alwaysFetches(), 10, src,
                        (short) (-slot * size.bytes()))));
    }

    private static Arbitrary<Step> jump() {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(JumpOp.class), dst(), operand(),
                        Arbitraries.integers().between(0, 12))
                .as(ForwardJump::new);
    }

    private static Arbitrary<Step> forwardGoto() {
        return Arbitraries.integers().between(0, 8).map(ForwardGoto::new);
    }

    /** A load through an arbitrary register: usually a fault, whose pc both engines must report. */
    private static Arbitrary<Step> wildLoad() {
        return Combinators.combine(dst(), Arbitraries.integers().between(0, 8), Arbitraries.integers().between(-8, 8))
                .as((d, s, off) -> new Plain(new Load(Size.W, false, d, s, (short) (int) off)));
    }
}
