package io.kflex.jit;

import static io.kflex.isa.Operand.imm;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.Alu;
import io.kflex.isa.Instruction.Exit;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A program too large for one JVM class runs on the interpreter, and says why. */
class JitFallbackTest {

    /**
     * {@code r0 += k} for 40,000 distinct constants k: every one becomes a long entry of the
     * constant pool (two of its 65,535 slots each), so no class can hold the program.
     */
    private static Code tooManyConstants() throws Exception {
        List<Instruction> program = new ArrayList<>();
        program.add(new Alu(true, AluOp.MOV, 0, imm(0)));
        for (int k = 0; k < 40_000; k++) program.add(new Alu(true, AluOp.ADD, 0, imm(1_000_000 + k)));
        program.add(new Exit());
        return Code.of(program);
    }

    @Test
    void aProgramOverflowingTheConstantPoolRunsOnTheInterpreterWithTheReasonReported() throws Exception {
        Code code = tooManyConstants();
        Executable executable = new JitEngine().load(code, Bindings.of(HelperTable.empty()));

        assertThat(executable).isInstanceOf(InterpreterFallback.class);
        assertThat(executable.description()).startsWith("interpreter").contains("could not generate");
        assertThat(((InterpreterFallback) executable).reason()).isNotBlank();
        long expected = 0;
        for (int k = 0; k < 40_000; k++) expected += 1_000_000 + k;
        Outcome outcome = executable.run(new Invocation(new AddressSpace()));
        assertThat(outcome).isEqualTo(new Outcome.Returned(expected));
    }

    @Test
    void aProgramThatFitsIsCompiled() throws Exception {
        Code code = Code.of(List.of(new Alu(true, AluOp.MOV, 0, imm(7)), new Exit()));
        Executable executable = new JitEngine().load(code, Bindings.of(HelperTable.empty()));
        assertThat(executable).isInstanceOf(JitExecutable.class);
        assertThat(executable.description()).isEqualTo("jit");
    }
}
