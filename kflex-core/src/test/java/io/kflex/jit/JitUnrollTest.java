package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.helpers.HelperTable;
import io.kflex.interp.Interpreter;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import java.lang.classfile.ClassFile;
import java.lang.classfile.Opcode;
import java.lang.classfile.instruction.FieldInstruction;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Small innermost loops are emitted {@link ProgramStructure#UNROLL} times in a row with their
 * cancellation points in the last copy only: every way into, around and out of such a loop must behave as the interpreter does.
 */
class JitUnrollTest {

    private static final Bindings BINDINGS = Bindings.of(HelperTable.empty());

    /** Sums 0..n-1 for n = r1, but leaves the loop when i reaches 7 (an exit in mid-body). */
    private static final String SUM_WITH_BREAK = """
            mov r0, 0
            mov r2, 0
            jge r2, r1, +4
            add r0, r2
            add r2, 1
            jeq r2, 7, +1
            ja -5
            exit
            """;

    /** A loop that r1 > 100 enters in the middle of its body. */
    private static final String ENTERED_MID_BODY = """
            mov r0, 0
            mov r2, 0
            jgt r1, 100, +2
            add r0, 1
            add r0, 10
            add r2, 1
            jlt r2, 5, -4
            exit
            """;

    private static final List<Engine> ENGINES = List.of(new Interpreter(), new JitEngine(), JitEngine.uninstrumentedForMeasurementOnly());

    private static long r0(Engine engine, Code code, Invocation invocation) throws Exception {
        Outcome outcome = engine.load(code, BINDINGS).run(invocation);
        assertThat(outcome).as("%s", engine.name()).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @Test
    void everyIterationCountAndEveryExitGiveTheInterpretersResult() throws Exception {
        Code code = Assembler.assemble(SUM_WITH_BREAK);
        for (long n = 0; n <= 12; n++) {
            long expected = Math.min(n, 7) * (Math.min(n, 7) - 1) / 2;
            for (Engine e : ENGINES) {
                assertThat(r0(e, code, new Invocation(new AddressSpace(), n))).as("%s, n = %d", e.name(), n).isEqualTo(expected);
            }
        }
    }

    @Test
    void aBranchIntoTheMiddleOfTheLoopEntersItsFirstCopy() throws Exception {
        Code code = Assembler.assemble(ENTERED_MID_BODY);
        for (Engine e : ENGINES) {
            assertThat(r0(e, code, new Invocation(new AddressSpace(), 0))).as(e.name()).isEqualTo(55);
            assertThat(r0(e, code, new Invocation(new AddressSpace(), 200))).as(e.name()).isEqualTo(44);
        }
    }

    @Test
    void mayGotoCountsDownItsBudgetInEveryCopy() throws Exception {
        Code code = Assembler.assemble("""
                mov r0, 0
                may_goto +2
                add r0, 1
                ja -3
                exit
                """);
        for (long budget : new long[] {0, 1, 2, 3, 4, 5, 6, 7, 1000, 1001}) {
            for (Engine e : ENGINES) {
                Invocation invocation = new Invocation(new AddressSpace()).withLoopBudget(budget);
                assertThat(r0(e, code, invocation)).as("%s, budget %d", e.name(), budget).isEqualTo(budget);
            }
        }
    }

    @Test
    void theLoopBodyIsEmittedUnrollTimesWithOneCancellationPoint() throws Exception {
        Code loop = Assembler.assemble("""
                mov r0, 0
                mov r2, 0
                add r0, r2
                add r2, 1
                jlt r2, r1, -3
                exit
                """);
        byte[] instrumented = new JitCompiler(loop, BINDINGS).generate();
        byte[] plain = new JitCompiler(loop, BINDINGS, JitCompiler.HUGE_METHOD_LIMIT, false).generate();
        assertThat(ProgramStructure.UNROLL).isGreaterThanOrEqualTo(2);
        assertThat(count(instrumented, i -> i.opcode() == Opcode.LADD)).as("add r0, r2 and add r2, 1 in each copy").isEqualTo(2 * ProgramStructure.UNROLL);
        assertThat(count(plain, i -> i.opcode() == Opcode.LADD)).as("the same copies uninstrumented").isEqualTo(2 * ProgramStructure.UNROLL);
        assertThat(count(instrumented, i -> i instanceof FieldInstruction f && f.owner().asInternalName().endsWith("CancellationBeacon")))
                .as("one cancellation point, in the last copy").isEqualTo(1);
    }

    @Test
    void loopsWithAnInnerLoopOrALongBodyAreEmittedOnce() throws Exception {
        Code nested = Assembler.assemble("""
                mov r0, 0
                mov r2, 0
                mov r3, 0
                add r0, 1
                add r3, 1
                jlt r3, 3, -3
                add r2, 1
                jlt r2, 4, -6
                exit
                """);
        byte[] bytes = new JitCompiler(nested, BINDINGS).generate();
        // The inner loop (two adds) is unrolled, the outer one (its own add and the inner loop) is not.
        assertThat(count(bytes, i -> i.opcode() == Opcode.LADD)).isEqualTo(2 * ProgramStructure.UNROLL + 1);
        assertThat(count(bytes, i -> i instanceof FieldInstruction f && f.owner().asInternalName().endsWith("CancellationBeacon"))).isEqualTo(2);
        for (Engine e : ENGINES) assertThat(r0(e, nested, new Invocation(new AddressSpace()))).as(e.name()).isEqualTo(4 * 3 + 0 * 0 + 0);

        StringBuilder longBody = new StringBuilder("mov r0, 0\nmov r2, 0\n");
        int adds = ProgramStructure.UNROLL_MAX_SLOTS;
        for (int i = 0; i < adds; i++) longBody.append("add r0, 1\n");
        longBody.append("add r2, 1\njlt r2, 3, -").append(adds + 2).append("\nexit\n");
        Code longLoop = Assembler.assemble(longBody.toString());
        assertThat(count(new JitCompiler(longLoop, BINDINGS).generate(), i -> i.opcode() == Opcode.LADD)).isEqualTo(adds + 1);
        for (Engine e : ENGINES) assertThat(r0(e, longLoop, new Invocation(new AddressSpace()))).as(e.name()).isEqualTo(3L * adds);
    }

    private static long count(byte[] classBytes, Predicate<java.lang.classfile.Instruction> what) {
        return ClassFile.of().parse(classBytes).methods().stream()
                .flatMap(m -> m.code().stream()).flatMap(c -> c.elementStream())
                .filter(e -> e instanceof java.lang.classfile.Instruction i && what.test(i))
                .count();
    }

    @Test
    void unrolledLoopsInsideTheRegionsOfASplitSubprogramKeepTheirSemantics() throws Exception {
        // Padding around the loop makes the subprogram worth splitting; at every limit the loop
        // either lies inside one region (unrolled there) or straddles regions (emitted once).
        StringBuilder text = new StringBuilder("mov r0, 0\nmov r2, 0\n");
        for (int i = 0; i < 40; i++) text.append("add r3, ").append(i).append('\n');
        text.append(SUM_WITH_BREAK.lines().skip(2).reduce("", (a, l) -> a + l + "\n").replace("exit\n", ""));
        for (int i = 0; i < 40; i++) text.append("xor r4, r3\n");
        text.append("exit\n");
        Code code = Assembler.assemble(text.toString());
        int whole = JitCompiler.largestMethod(JitEngine.generate(code, BINDINGS));
        for (int limit : new int[] {whole / 4, whole / 3, whole / 2, whole * 3 / 4}) {
            JitExecutable split = new JitEngine().load(new JitCompiler(code, BINDINGS, limit));
            assertThat(split.splitSubprograms()).as("limit %d of %d", limit, whole).isPositive();
            assertThat(JitCompiler.classFile().verify(split.classBytes())).isEmpty();
            for (long n = 0; n <= 9; n++) {
                long expected = Math.min(n, 7) * (Math.min(n, 7) - 1) / 2;
                assertThat(split.run(new Invocation(new AddressSpace(), n))).as("limit %d, n = %d", limit, n)
                        .isEqualTo(Outcome.Returned.of(expected));
            }
        }
    }
}
