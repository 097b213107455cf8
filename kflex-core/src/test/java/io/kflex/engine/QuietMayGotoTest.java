package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * A {@code may_goto} (or a backward branch that is no reported back-edge) inside loops that are
 * all bounded as counted loops are is no loop's check, so the verifier reports it quiet and both
 * engines leave its poll out; any other {@code may_goto} stays a cancellation point.
 */
class QuietMayGotoTest {
    /** {@code for (i = 0; i < 32 && can_loop; i++)}, the counter moved between w-registers as clang does. */
    private static final String COUNTED = """
            w6 = 0x0
            w0 = 0x0
            loop:
            may_goto out
            w0 += 0x3
            w7 = w6
            w7 += 0x1
            w6 = w7
            if w6 < 0x20 goto loop
            out:
            exit
            """;

    /** The counter rotating between two registers, as clang emits {@code i < 31}: the comparison bounds w5, w6 counts. */
    private static final String ROTATED = """
            w6 = 0x0
            w0 = 0x0
            loop:
            w5 = w6
            may_goto out
            w0 += 0x3
            w6 = w5
            w6 += 0x1
            if w5 < 0x1f goto loop
            out:
            exit
            """;

    /** The same loop up to a bound from the context: only may_goto bounds it. */
    private static final String UNBOUNDED = """
            w6 = 0x0
            w0 = 0x0
            r8 = *(u64 *)(r1 + 0x0)
            loop:
            may_goto out
            w0 += 0x3
            w6 += 0x1
            if r6 < r8 goto loop
            out:
            exit
            """;

    /** A counted may_goto loop with a counted loop inside it: the inner one repeats within it. */
    private static final String NESTED = """
            w6 = 0x0
            w0 = 0x0
            outer:
            may_goto out
            w7 = 0x0
            inner:
            w0 += 0x1
            w7 += 0x1
            if w7 < 0x8 goto inner
            w6 += 0x1
            if w6 < 0x20 goto outer
            out:
            exit
            """;

    /** A counted may_goto loop that calls a subprogram, which could run loops of its own. */
    private static final String CALLS = """
            w6 = 0x0
            loop:
            may_goto out
            call sub
            w6 += 0x1
            if w6 < 0x20 goto loop
            out:
            w0 = 0x0
            exit
            sub:
            w0 = 0x0
            exit
            """;

    private static VerifiedProgram verify(String source) throws Exception {
        return Verifier.verify(Assembler.assemble(source), ProgramType.SYSCALL, List.of(), VerifierOptions.defaults());
    }

    @Test
    void onlyAMayGotoWhoseLoopsAreAllCountedIsQuiet() throws Exception {
        VerifiedProgram counted = verify(COUNTED);
        assertThat(counted.quietPolls()).containsExactly(2);
        assertThat(counted.backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isTrue());
        assertThat(verify(ROTATED).quietPolls()).containsExactly(3);
        assertThat(verify(UNBOUNDED).quietPolls()).isEmpty();
        assertThat(verify(NESTED).quietPolls()).isEmpty();
        assertThat(verify(CALLS).quietPolls()).isEmpty();
    }

    static List<Engine> engines() {
        return TestEngines.all();
    }

    /** Runs {@code source} with a cancellation already requested: a poll on the way ends the run. */
    private static Outcome runCancelled(Engine engine, String source, long ctxValue) throws Exception {
        Code code = Assembler.assemble(source);
        VerifiedProgram verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(), VerifierOptions.defaults());
        Executable executable = engine.load(code, Bindings.of(HelperTable.empty()).withVerified(verified));
        AddressSpace memory = new AddressSpace();
        java.lang.foreign.MemorySegment ctx = java.lang.foreign.MemorySegment.ofArray(new long[] {ctxValue});
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx"));
        Invocation invocation = new Invocation(memory, ctxAddress);
        invocation.requestCancel("test");
        try {
            return executable.run(invocation);
        } finally {
            CancellationBeacon.release(invocation);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("engines")
    void aQuietMayGotoDoesNotPollAndAnyOtherDoes(Engine engine) throws Exception {
        assertThat(runCancelled(engine, COUNTED, 0)).as("32 iterations, no poll").isEqualTo(new Outcome.Returned(96));
        assertThat(runCancelled(engine, ROTATED, 0)).as("32 iterations, no poll").isEqualTo(new Outcome.Returned(96));
        Outcome polled = runCancelled(engine, UNBOUNDED, 32);
        assertThat(polled).isInstanceOf(Outcome.Cancelled.class);
        assertThat(((Outcome.Cancelled) polled).pc()).as("at the may_goto").isEqualTo(3);
    }
}
