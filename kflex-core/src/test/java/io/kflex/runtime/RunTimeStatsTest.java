package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The run-time statistics switch ({@code kernel.bpf_stats_enabled} semantics): runs are always
 * counted, their time only while the switch is on; test runs measure their duration either way.
 */
class RunTimeStatsTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    /** A program that takes a few microseconds: a bounded loop of 2,000 iterations. */
    private static final String BUSY = """
            r0 = 0
            r1 = 2000
            loop:
            r0 += r1
            r1 += -1
            if r1 != 0 goto loop
            exit
            """;

    private static LoadedProgram load(KFlexRuntime runtime) throws Exception {
        return runtime.open("busy", ProgramType.SYSCALL, Assembler.assemble(BUSY)).load("busy");
    }

    private static Outcome invoke(LoadedProgram program) {
        AddressSpace memory = program.newAddressSpace();
        long ctx = memory.map(new Region(Region.Kind.CONTEXT, MemorySegment.ofArray(new long[8]), true, "ctx"));
        return program.invoke(new Invocation(memory, ctx), null);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void runTimeIsMeasuredOnlyWhileTheSwitchIsOn(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build()) {
            LoadedProgram program = load(runtime);
            assertThat(runtime.runTimeStatsEnabled()).as("off by default, as in Linux").isFalse();
            for (int i = 0; i < 5; i++) assertThat(invoke(program)).isEqualTo(new Outcome.Returned(2001000));
            assertThat(program.stats().runCount()).isEqualTo(5);
            assertThat(program.stats().timedRuns()).isZero();
            assertThat(program.stats().runTimeNs()).isZero();

            runtime.enableRunTimeStats(true);
            for (int i = 0; i < 3; i++) invoke(program);
            assertThat(program.stats().runCount()).isEqualTo(8);
            assertThat(program.stats().timedRuns()).isEqualTo(3);
            long timed = program.stats().runTimeNs();
            assertThat(timed).isPositive();

            runtime.enableRunTimeStats(false);
            invoke(program);
            assertThat(program.stats().runCount()).isEqualTo(9);
            assertThat(program.stats().timedRuns()).isEqualTo(3);
            assertThat(program.stats().runTimeNs()).isEqualTo(timed);
            assertThat(program.stats().snapshot()).isEqualTo(new ProgramStats.Snapshot(9, timed, 0, 0));
        }
    }

    @Test
    void theBuilderAndTheSystemPropertyTurnItOnFromTheStart() throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().runTimeStats(true).build()) {
            assertThat(runtime.runTimeStatsEnabled()).isTrue();
            LoadedProgram program = load(runtime);
            invoke(program);
            assertThat(program.stats().timedRuns()).isEqualTo(1);
            assertThat(program.stats().runTimeNs()).isPositive();
        }
        String old = System.getProperty(KFlexRuntime.RUN_TIME_STATS_PROPERTY);
        System.setProperty(KFlexRuntime.RUN_TIME_STATS_PROPERTY, "true");
        try (KFlexRuntime runtime = KFlexRuntime.builder().build()) {
            assertThat(runtime.runTimeStatsEnabled()).isTrue();
        } finally {
            if (old == null) System.clearProperty(KFlexRuntime.RUN_TIME_STATS_PROPERTY);
            else System.setProperty(KFlexRuntime.RUN_TIME_STATS_PROPERTY, old);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void testRunsMeasureTheirDurationWithTheSwitchOff(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build()) {
            LoadedProgram program = load(runtime);
            TestRunResult r = program.testRun(TestRun.once().withRepeat(5));
            assertThat(r.durationNs()).isPositive();
            assertThat(program.stats().runCount()).isEqualTo(5);
            assertThat(program.stats().runTimeNs()).isZero();
        }
    }

    @Test
    void anUntimedWatchStillKnowsAnUpperBoundOfItsElapsedTime() throws Exception {
        try (Watchdog watchdog = new Watchdog(Duration.ofMillis(1))) {
            AddressSpace memory = new AddressSpace();
            Watchdog.Watch watch = watchdog.watch(new Invocation(memory), Duration.ofSeconds(5));
            long start = System.nanoTime();
            Thread.sleep(20);
            watch.close();
            long real = System.nanoTime() - start;
            long reported = watch.elapsedNanos();
            assertThat(reported).as("never less than the real time").isGreaterThanOrEqualTo(real);
            assertThat(reported).as("at most a tick and scheduling delays more").isLessThan(real + Duration.ofSeconds(1).toNanos());
        }
    }
}
