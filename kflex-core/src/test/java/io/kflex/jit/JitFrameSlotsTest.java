package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.helpers.HelperTable;
import io.kflex.interp.Interpreter;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.Alu;
import io.kflex.isa.Instruction.Exit;
import io.kflex.isa.Instruction.Load;
import io.kflex.isa.Instruction.Store;
import io.kflex.isa.Instruction.StoreReg;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.classfile.ClassFile;
import java.lang.classfile.instruction.InvokeInstruction;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * Frame slots whose address never escapes live in {@code long} locals (issue: "stack slots as
 * locals where their address does not escape"); any copy of r10 keeps the frame in memory.
 */
class JitFrameSlotsTest {

    private static VerifiedProgram verify(Code code) throws Exception {
        return Verifier.verify(code, ProgramType.SOCKET_FILTER, List.of(), VerifierOptions.defaults());
    }

    private static JitCompiler compiler(Code code) throws Exception {
        return new JitCompiler(code, Bindings.of(HelperTable.empty()).withVerified(verify(code)));
    }

    private static long r0(Executable executable) {
        Outcome outcome = executable.run(new Invocation(new AddressSpace(), new long[0]));
        assertThat(outcome).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    /** r0 on the interpreter and on the JIT, both given the verifier's facts. */
    private static long[] bothEngines(Code code) throws Exception {
        Bindings bindings = Bindings.of(HelperTable.empty()).withVerified(verify(code));
        return new long[] {r0(new Interpreter().load(code, bindings)), r0(new JitEngine().load(code, bindings))};
    }

    /** Calls into the stack segment left in the program's methods. */
    /** Accesses to the stack's memory: segment calls, and loads and stores of the stack's words (the only {@code long[]} of these methods). */
    private static long stackMemoryAccesses(byte[] classBytes) {
        return ClassFile.of().parse(classBytes).methods().stream()
                .flatMap(m -> m.code().stream()).flatMap(c -> c.elementStream())
                .filter(e -> e instanceof InvokeInstruction i && (i.owner().asInternalName().equals("java/lang/foreign/MemorySegment")
                        || i.owner().asInternalName().equals("io/kflex/jit/JitRuntime") && i.name().stringValue().startsWith("bytes")))
                .count();
    }

    private static final String SPILLS = """
            r1 = 0x1122334455667788 ll
            *(u64 *)(r10 - 0x8) = r1
            *(u8 *)(r10 - 0x6) = 0xff
            *(u16 *)(r10 - 0x10) = 0x8001
            *(u16 *)(r10 - 0xe) = 0x7
            *(u32 *)(r10 - 0xc) = 0x80000000
            r2 = *(u64 *)(r10 - 0x8)
            r3 = *(s16 *)(r10 - 0x10)
            r4 = *(u32 *)(r10 - 0xc)
            r5 = *(s8 *)(r10 - 0x6)
            r0 = r2
            r0 ^= r3
            r0 += r4
            r0 ^= r5
            exit
            """;

    @Test
    void spillsAndPartialWritesLiveInLocalsAndAgreeWithTheInterpreter() throws Exception {
        Code code = Assembler.assemble(SPILLS);
        JitCompiler compiler = compiler(code);
        byte[] bytes = compiler.generate();
        assertThat(compiler.promotedFrameSlots()).as("slots -8 and -16").isEqualTo(2);
        assertThat(stackMemoryAccesses(bytes)).as("no stack segment access left").isZero();
        long[] r0 = bothEngines(code);
        long r2 = 0x1122334455ff7788L; // byte -6 overwritten with 0xff
        long r3 = (short) 0x8001;       // the slot at -16 holds 0x80000000_0007_8001
        long r4 = 0x80000000L;
        long r5 = -1;                   // (s8) 0xff
        assertThat(r0[1]).isEqualTo(r0[0]).isEqualTo(((r2 ^ r3) + r4) ^ r5);
    }

    @Test
    void aCopyOfTheFramePointerKeepsTheFrameInMemory() throws Exception {
        Code code = Assembler.assemble("""
                *(u64 *)(r10 - 0x8) = 0x5
                r1 = r10
                r1 += -0x8
                r0 = *(u64 *)(r1 + 0x0)
                exit
                """);
        JitCompiler compiler = compiler(code);
        assertThat(stackMemoryAccesses(compiler.generate())).isPositive();
        assertThat(compiler.promotedFrameSlots()).isZero();
        assertThat(bothEngines(code)).containsExactly(5, 5);
    }

    @Test
    void withoutTheVerifiersFactsTheFrameStaysInMemory() throws Exception {
        Code code = Assembler.assemble("""
                *(u64 *)(r10 - 0x8) = 0x5
                r0 = *(u64 *)(r10 - 0x8)
                exit
                """);
        JitCompiler compiler = new JitCompiler(code, Bindings.of(HelperTable.empty()));
        assertThat(stackMemoryAccesses(compiler.generate())).isPositive();
        assertThat(compiler.promotedFrameSlots()).isZero();
    }

    /** One frame access of a random program: a store of a constant or register, or a load. */
    record Access(int kind, Size size, int slot, int byteInSlot, int reg, int imm, boolean signed) {}

    @Provide
    Arbitrary<List<Access>> accesses() {
        Arbitrary<Access> access = Combinators.combine(
                Arbitraries.integers().between(0, 2), Arbitraries.of(Size.values()), Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(0, 7), Arbitraries.integers().between(1, 5), Arbitraries.integers(),
                Arbitraries.of(true, false)).as(Access::new);
        return access.list().ofMinSize(1).ofMaxSize(40);
    }

    /**
     * Random loads and stores of every size at every aligned offset of four slots (initialised
     * first, as the verifier requires), mixed into r0: the JIT with its slots in locals must give
     * the interpreter's result.
     */
    @Property(tries = 300)
    void randomFrameTrafficAgreesWithTheInterpreter(@ForAll("accesses") List<Access> accesses) throws Exception {
        frameTraffic(accesses, false);
    }

    /**
     * The same traffic with the frame kept in memory (a copy of r10 escapes): every access is an
     * element or a byte-array view of the stack's {@code byte[]}.
     */
    @Property(tries = 300)
    void randomFrameTrafficInMemoryAgreesWithTheInterpreter(@ForAll("accesses") List<Access> accesses) throws Exception {
        frameTraffic(accesses, true);
    }

    private static void frameTraffic(List<Access> accesses, boolean inMemory) throws Exception {
        List<Instruction> insns = new ArrayList<>();
        if (inMemory) insns.add(new Alu(true, AluOp.MOV, 9, Operand.reg(10)));
        for (int slot = 1; slot <= 4; slot++) insns.add(new Store(Size.DW, 10, (short) (-8 * slot), 0x5a5a5a5a * slot));
        for (int r = 1; r <= 5; r++) insns.add(new Alu(true, AluOp.MOV, r, Operand.imm(0x7f01f203 * r)));
        insns.add(new Alu(true, AluOp.MOV, 0, Operand.imm(0)));
        for (Access a : accesses) {
            int width = a.size().bytes();
            short off = (short) (-8 * a.slot() + (a.byteInSlot() / width) * width);
            switch (a.kind()) {
                case 0 -> insns.add(new Store(a.size(), 10, off, a.imm()));
                case 1 -> insns.add(new StoreReg(a.size(), 10, a.reg(), off));
                default -> {
                    boolean signed = a.signed() && a.size() != Size.DW;
                    insns.add(new Load(a.size(), signed, a.reg(), 10, off));
                    insns.add(new Alu(true, AluOp.MUL, 0, Operand.imm(31)));
                    insns.add(new Alu(true, AluOp.ADD, 0, Operand.reg(a.reg())));
                }
            }
        }
        for (int slot = 1; slot <= 4; slot++) {
            insns.add(new Load(Size.DW, false, 1, 10, (short) (-8 * slot)));
            insns.add(new Alu(true, AluOp.XOR, 0, Operand.reg(1)));
            insns.add(new Alu(true, AluOp.LSH, 0, Operand.imm(3)));
        }
        insns.add(new Exit());
        Code code = Code.of(insns);
        JitCompiler compiler = compiler(code);
        compiler.generate();
        assertThat(compiler.promotedFrameSlots()).isEqualTo(inMemory ? 0 : 4);
        if (inMemory) assertThat(stackMemoryAccesses(compiler.generate())).isPositive();
        long[] r0 = bothEngines(code);
        assertThat(r0[1]).isEqualTo(r0[0]);
    }
}
