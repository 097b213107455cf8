package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.runtime.Watchdog;
import java.time.Duration;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CancellationTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final Code SPIN = code(mov(0, 0), add(0, 1), ja(-2));

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(10)
    void watchdogCancelsAnInfiniteLoop(Engine e) {
        Executable program = Runs.load(e, SPIN, HelperTable.empty());
        try (Watchdog watchdog = new Watchdog()) {
            Invocation invocation = new Invocation(new AddressSpace());
            long start = System.nanoTime();
            Outcome outcome;
            try (Watchdog.Watch watch = watchdog.watch(invocation, Duration.ofMillis(100))) {
                outcome = program.run(invocation);
                assertThat(watch.fired()).isTrue();
            }
            long elapsedMillis = (System.nanoTime() - start) / 1_000_000;
            assertThat(outcome).isEqualTo(new Outcome.Cancelled(2, "exceeded budget of 100 ms", java.util.List.of()));
            assertThat(elapsedMillis).isBetween(90L, 5_000L);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(10)
    void aMayGotoLoopIsACancellationPointEvenWhileItsBudgetLasts(Engine e) {
        // may_goto at 0 never exhausts within the test; only the cancellation can end it.
        Code code = code(mayGoto(1), ja(-2), exit());
        Invocation invocation = new Invocation(new AddressSpace()).withLoopBudget(Long.MAX_VALUE);
        invocation.requestCancel("stop");
        assertThat(Runs.load(e, code, HelperTable.empty()).run(invocation))
                .isEqualTo(new Outcome.Cancelled(0, "stop", java.util.List.of()));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aPendingRequestStopsAtTheFirstTakenBackwardBranch(Engine e) {
        Code code = code(
                /* 0 */ mov(0, 0),
                /* 1 */ ja(1),
                /* 2 */ exit(),
                /* 3 */ jmp(JumpOp.JEQ, 0, 1, -2), // backward but not taken: no cancellation point
                /* 4 */ add(0, 1),
                /* 5 */ ja(-3));                     // backward, taken
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.requestCancel("first reason");
        invocation.requestCancel("second reason");
        assertThat(Runs.load(e, code, HelperTable.empty()).run(invocation))
                .isEqualTo(new Outcome.Cancelled(5, "first reason", java.util.List.of()));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void straightLineCodeHasNoCancellationPoint(Engine e) {
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.requestCancel("too late");
        assertThat(Runs.load(e, code(mov(0, 3), ja(0), exit()), HelperTable.empty()).run(invocation))
                .isEqualTo(new Outcome.Returned(3));
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(10)
    void anInterruptedWatchedThreadIsCancelledAndKeepsItsInterruptFlag(Engine e) {
        // Engines check the invocation's request; the watchdog turns a watched thread's interrupt into one.
        Executable program = Runs.load(e, SPIN, HelperTable.empty());
        Invocation invocation = new Invocation(new AddressSpace());
        try (io.kflex.runtime.Watchdog watchdog = new io.kflex.runtime.Watchdog();
             var watch = watchdog.watch(invocation, java.time.Duration.ofMinutes(1))) {
            Thread.currentThread().interrupt();
            assertThat(program.run(invocation)).isEqualTo(new Outcome.Cancelled(2, "interrupted", java.util.List.of()));
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(10)
    void anUnwatchedInvocationStopsOnItsRequestAlone(Engine e) throws Exception {
        // Without a watchdog nothing turns an interrupt into a request: the request is the contract.
        Executable program = Runs.load(e, SPIN, HelperTable.empty());
        Invocation invocation = new Invocation(new AddressSpace());
        Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException ignored) {
                // requested below anyway
            }
            invocation.requestCancel("host");
        });
        assertThat(program.run(invocation)).isEqualTo(new Outcome.Cancelled(2, "host", java.util.List.of()));
    }
}
