package io.kflex.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.conformance.ConformanceRunner.Result;
import io.kflex.conformance.ConformanceRunner.Status;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.isa.Code;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/** The runner's rules, on engines whose behaviour each test chooses. */
class ConformanceRunnerTest {
    private static final Path FILE = Path.of("t.data");

    /** An engine whose programs all behave as {@code behaviour} says, whatever their code. */
    record ScriptedEngine(String name, BiFunction<Bindings, Invocation, Outcome> behaviour) implements Engine {
        @Override
        public Executable load(Code code, Bindings bindings) {
            return invocation -> behaviour.apply(bindings, invocation);
        }
    }

    private static Result runOne(BiFunction<Bindings, Invocation, Outcome> behaviour, String file) throws Exception {
        return runOne(new ScriptedEngine("scripted", behaviour), file, Duration.ofSeconds(1));
    }

    private static Result runOne(Engine engine, String file, Duration budget) throws Exception {
        try (ConformanceRunner runner = new ConformanceRunner(List.of(engine), budget)) {
            List<Result> results = runner.run(TestFile.parse(FILE, file));
            assertThat(results).hasSize(1);
            assertThat(results.getFirst().file()).isEqualTo(FILE);
            assertThat(results.getFirst().engine()).isEqualTo(engine.name());
            return results.getFirst();
        }
    }

    private static final String RETURNS_8 = "-- asm\nexit\n-- mem\n00 01 02 03 04 05 06 07\n-- result\n0x8\n";

    @Test
    void passesWhenR0MatchesAndR1R2DescribeAWritableMemoryCopy() throws Exception {
        AtomicReference<Long> firstByte = new AtomicReference<>();
        Result result = runOne((bindings, inv) -> {
            long r1 = inv.argument(0);
            firstByte.set(inv.memory().load(r1 + 7, 1));
            inv.memory().store(r1, 8, -1L); // writable
            return new Outcome.Returned(inv.argument(1));
        }, RETURNS_8);
        assertThat(result).isEqualTo(new Result(FILE, "scripted", Status.PASSED, ""));
        assertThat(firstByte.get()).isEqualTo(7L);
    }

    @Test
    void withoutMemoryR1AndR2AreZero() throws Exception {
        Result result = runOne((bindings, inv) -> new Outcome.Returned(inv.argument(0) + inv.argument(1) + 5), "-- asm\nexit\n-- result\n5\n");
        assertThat(result.status()).isEqualTo(Status.PASSED);
    }

    @Test
    void helperFiveReturnsItsFirstArgument() throws Exception {
        Result result = runOne((bindings, inv) -> new Outcome.Returned(
                bindings.helpers().get(5).implementation().call(inv, 0x8, 1, 2, 3, 4)), RETURNS_8);
        assertThat(result.status()).isEqualTo(Status.PASSED);
    }

    @Test
    void aWrongResultFails() throws Exception {
        Result result = runOne((bindings, inv) -> new Outcome.Returned(-2), RETURNS_8);
        assertThat(result).isEqualTo(new Result(FILE, "scripted", Status.FAILED, "returned 0xfffffffffffffffe, expected 0x8"));
    }

    @Test
    void aFaultFailsAResultTestAndPassesAnErrorTest() throws Exception {
        BiFunction<Bindings, Invocation, Outcome> fault = (bindings, inv) -> new Outcome.Faulted(3, "division by zero");
        assertThat(runOne(fault, RETURNS_8)).isEqualTo(new Result(FILE, "scripted", Status.FAILED, "faulted at insn 3: division by zero"));
        assertThat(runOne(fault, "-- asm\nexit\n-- error\ndiv by 0\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.PASSED, "faulted at insn 3: division by zero (expected error: div by 0)"));
    }

    @Test
    void anErrorTestFailsWhenTheProgramReturns() throws Exception {
        assertThat(runOne((bindings, inv) -> new Outcome.Returned(1), "-- asm\nexit\n-- error pattern\n.*\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.FAILED, "returned 0x1 but an error was expected (expected error matching: .*)"));
    }

    @Test
    void programsThatDoNotAssembleOrLoadAreRejections() throws Exception {
        BiFunction<Bindings, Invocation, Outcome> unreachable = (bindings, inv) -> { throw new AssertionError("must not run"); };
        assertThat(runOne(unreachable, "# header\n-- asm\nmov %r0, 1\nmov %r11, 1\nexit\n-- error\ninvalid register\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.PASSED,
                        "does not assemble: line 4: invalid register '%r11' (r0 to r10) (expected error: invalid register)"));
        assertThat(runOne(unreachable, "-- asm\nja +5\nexit\n-- result\n0\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.FAILED, "does not assemble: line 2: jump out of range: target 6 outside [0, 2)"));
        assertThat(runOne(unreachable, "-- raw\n0x00000000000000ff\n-- error\nbad\n").status()).isEqualTo(Status.PASSED);

        Engine refusing = new Engine() {
            @Override public String name() { return "refusing"; }
            @Override public Executable load(Code code, Bindings bindings) throws EngineException { throw new EngineException("too big"); }
        };
        assertThat(runOne(refusing, "-- asm\nexit\n-- error\n", Duration.ofSeconds(1)))
                .isEqualTo(new Result(FILE, "refusing", Status.PASSED, "rejected by refusing: too big"));
        assertThat(runOne(refusing, "-- asm\nexit\n-- result\n0\n", Duration.ofSeconds(1)).status()).isEqualTo(Status.FAILED);
    }

    @Test
    void asmMustAgreeWithRaw() throws Exception {
        BiFunction<Bindings, Invocation, Outcome> returns0 = (bindings, inv) -> new Outcome.Returned(0);
        assertThat(runOne(returns0, "-- asm\nmov %r0, 0\nexit\n-- raw\n0xb7 0x95\n-- result\n0\n").status()).isEqualTo(Status.PASSED);
        assertThat(runOne(returns0, "-- asm\nmov %r0, 1\nexit\n-- raw\n0xb7 0x95\n-- result\n0\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.FAILED,
                        "-- asm assembles to 0x00000001000000b7 but -- raw has 0x00000000000000b7 at slot 0"));
        assertThat(runOne(returns0, "-- asm\nexit\n-- raw\n0x95 0x95\n-- result\n0\n").message())
                .isEqualTo("-- asm assembles to nothing but -- raw has 0x0000000000000095 at slot 1");
    }

    @Test
    void aRunOverBudgetIsCancelledAndCountsAsAFault() throws Exception {
        Engine spinning = new ScriptedEngine("spinning", (bindings, inv) -> {
            while (inv.cancelRequested() == null) Thread.onSpinWait();
            return new Outcome.Cancelled(7, inv.cancelRequested(), List.of());
        });
        assertThat(runOne(spinning, "-- asm\nexit\n-- result\n0\n", Duration.ofMillis(50)))
                .isEqualTo(new Result(FILE, "spinning", Status.FAILED, "cancelled at insn 7: exceeded budget of 50 ms"));
        assertThat(runOne(spinning, "-- asm\nexit\n-- error\n", Duration.ofMillis(50)))
                .isEqualTo(new Result(FILE, "spinning", Status.PASSED, "cancelled at insn 7: exceeded budget of 50 ms"));
    }

    @Test
    void anEngineThatIgnoresCancellationIsAbandonedAndFails() throws Exception {
        // Ignores the cancellation request; stops only when its thread is interrupted, so the test leaks nothing.
        Engine stubborn = new ScriptedEngine("stubborn", (bindings, inv) -> {
            while (!Thread.currentThread().isInterrupted()) Thread.onSpinWait();
            return new Outcome.Returned(0);
        });
        assertThat(runOne(stubborn, "-- asm\nexit\n-- result\n0\n", Duration.ofMillis(20)))
                .isEqualTo(new Result(FILE, "stubborn", Status.FAILED, "did not stop within 1s of being cancelled after its 20ms budget"));
    }

    @Test
    void anEngineCrashIsAFailureNotAnException() throws Exception {
        assertThat(runOne((bindings, inv) -> { throw new IllegalStateException("boom"); }, "-- asm\nexit\n-- error\n"))
                .isEqualTo(new Result(FILE, "scripted", Status.FAILED, "engine error: IllegalStateException: boom"));
    }

    @Test
    void skippedFilesAreReportedPerEngine() throws Exception {
        Engine a = new ScriptedEngine("a", (bindings, inv) -> new Outcome.Returned(0));
        Engine b = new ScriptedEngine("b", (bindings, inv) -> new Outcome.Returned(0));
        try (ConformanceRunner runner = new ConformanceRunner(List.of(a, b), Duration.ofSeconds(1))) {
            assertThat(runner.run(TestFile.parse(FILE, "-- asm\nexit\n-- result\n0\n-- plugin\nx\n")))
                    .extracting(Result::engine, Result::status)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("a", Status.SKIPPED), org.assertj.core.groups.Tuple.tuple("b", Status.SKIPPED));
        }
    }
}
