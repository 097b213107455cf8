package io.kflex.jit;

import static io.kflex.isa.Operand.imm;
import static io.kflex.isa.Operand.reg;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Bindings;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Pins the bytecode of a few tiny programs, so that a change in translation shows up as a diff.
 * After an intended change, regenerate with the environment variable {@code KFLEX_GOLDEN_UPDATE=1} and review the diff.
 */
class JitGoldenTest {

    @Test
    void loopWithBackEdge() throws Exception {
        // r0 = 0; r1 = r1 (argument); loop: r0 += r1; r1 -= 1; if r1 != 0 goto loop; exit
        Code code = Code.of(
                new Alu(true, AluOp.MOV, 0, imm(0)),
                new Alu(true, AluOp.ADD, 0, reg(1)),
                new Alu(true, AluOp.SUB, 1, imm(1)),
                new Jump(true, JumpOp.JNE, 1, imm(0), (short) -3),
                new Exit());
        assertGolden("loop", code, HelperTable.empty());
    }

    @Test
    void stackStoreLoadAndHelperCall() throws Exception {
        // *(u32 *)(r10 - 4) = r1; r1 = *(s16 *)(r10 - 4); call 7; r0 /= r1 (32-bit); exit
        HelperTable helpers = HelperTable.builder().add(7, "seven", (inv, a, b, c, d, e) -> 7).build();
        Code code = Code.of(
                new StoreReg(Size.W, 10, 1, (short) -4),
                new Load(Size.H, true, 1, 10, (short) -4),
                Call.helper(7),
                new Alu(false, AluOp.DIV, 0, reg(1)),
                new Exit());
        assertGolden("memory-helper", code, helpers);
    }

    @Test
    void guardedAndElidedHeapAccesses() throws Exception {
        // r1 = cast_kern(0x100) + 0x10000 (beyond the guard distance); *(u64 *)(r1 + 0) = 1 (guarded);
        // r0 = *(u64 *)(r1 + 8) (guard elided); exit
        Code code = Code.of(
                io.kflex.isa.Instruction.LoadImm64.of(1, 0x100),
                new io.kflex.isa.Instruction.AddrSpaceCast(1, 1, 0, 1),
                new io.kflex.isa.Instruction.Alu(true, AluOp.ADD, 1, io.kflex.isa.Operand.imm(0x10000)),
                new io.kflex.isa.Instruction.Store(Size.DW, 1, (short) 0, 1),
                new Load(Size.DW, false, 0, 1, (short) 8),
                new Exit());
        var facts = io.kflex.verifier.Verifier.verify(code, io.kflex.loader.ProgramType.SYSCALL, java.util.List.of(),
                io.kflex.verifier.VerifierOptions.defaults());
        assertGolden("heap", code, Bindings.of(HelperTable.empty()).withVerified(facts).withHeap(new io.kflex.heaprun.TestHeap(1 << 20, false)));
    }

    @Test
    void packetAndContextAccessesFromFacts() throws Exception {
        // XDP: data and data_end from the context (rewritten to the shadow slots), a bounds check,
        // one packet byte: three accesses that go straight to their region's segment.
        Code code = io.kflex.isa.asm.Assembler.assemble("""
                r2 = *(u32 *)(r1 + 0x0)
                r3 = *(u32 *)(r1 + 0x4)
                r4 = r2
                r4 += 0x1
                r0 = 0x1
                if r4 > r3 goto +0x1
                r0 = *(u8 *)(r2 + 0x0)
                exit
                """);
        var layout = io.kflex.runtime.ContextLayout.of(io.kflex.loader.ProgramType.XDP);
        var facts = io.kflex.runtime.ContextRewriter.rewritten(io.kflex.verifier.Verifier.verify(code, io.kflex.loader.ProgramType.XDP,
                java.util.List.of(), io.kflex.verifier.VerifierOptions.defaults()), layout);
        assertGolden("packet", io.kflex.runtime.ContextRewriter.rewrite(facts, layout), Bindings.of(HelperTable.empty()).withVerified(facts));
    }

    private static void assertGolden(String name, Code code, HelperTable helpers) throws Exception {
        assertGolden(name, code, Bindings.of(helpers));
    }

    private static void assertGolden(String name, Code code, Bindings bindings) throws Exception {
        byte[] bytes = JitEngine.generate(code, bindings);
        assertThat(JitCompiler.classFile().verify(bytes)).isEmpty();
        String actual = BytecodeListing.of(bytes);
        String resource = "golden/" + name + ".txt";
        if (Boolean.getBoolean("kflex.golden.update") || System.getenv("KFLEX_GOLDEN_UPDATE") != null) {
            Path file = Path.of("src/test/resources/io/kflex/jit", resource);
            Files.createDirectories(file.getParent());
            Files.writeString(file, actual);
            return;
        }
        assertThat(actual).isEqualTo(read(resource));
    }

    private static String read(String resource) throws IOException {
        try (InputStream in = JitGoldenTest.class.getResourceAsStream(resource)) {
            if (in == null) throw new AssertionError("missing golden file " + resource + "; run with KFLEX_GOLDEN_UPDATE=1");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
