package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The process-wide cancellation beacon the JIT polls: lit exactly while a requested invocation may
 * still run, and never a reason for another invocation to stop.
 */
class CancellationBeaconTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    /** r0 = sum of 0..n-1 for n = r1, by a loop with a taken back-edge on every step. */
    private static final Code COUNT = code(
            /* 0 */ mov(0, 0),
            /* 1 */ mov(2, 0),
            /* 2 */ jmpr(JumpOp.JGE, 2, 1, 3),
            /* 3 */ addr(0, 2),
            /* 4 */ add(2, 1),
            /* 5 */ ja(-4),
            /* 6 */ exit());

    private static final Code SPIN = code(mov(0, 0), add(0, 1), ja(-2));

    @BeforeEach
    @AfterEach
    void nothingIsHeld() {
        CancellationBeacon.sweep();
        assertThat(CancellationBeacon.pending).as("beacon left lit by an earlier test").isZero();
    }

    @Test
    void aRequestLightsTheBeaconUntilItsRunEnds() {
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.beginRun();
        invocation.requestCancel("stop");
        invocation.requestCancel("again"); // the second request holds nothing more
        assertThat(CancellationBeacon.pending).isEqualTo(1);
        invocation.endRun();
        assertThat(CancellationBeacon.pending).isZero();
    }

    @Test
    void aRequestAfterTheRunLeavesTheBeaconDark() {
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.beginRun();
        invocation.endRun();
        invocation.requestCancel("too late");
        assertThat(CancellationBeacon.pending).isZero();
        assertThat(invocation.cancelRequested()).isEqualTo("too late");
    }

    @Test
    void aSweepReleasesAHoldWhoseRunHasEnded() {
        // The state a request racing with the end of its run can leave behind.
        Invocation ended = new Invocation(new AddressSpace());
        ended.beginRun();
        ended.endRun();
        Invocation running = new Invocation(new AddressSpace());
        running.beginRun();
        running.requestCancel("still running");
        CancellationBeacon.hold(ended);
        assertThat(CancellationBeacon.pending).isEqualTo(2);

        assertThat(CancellationBeacon.sweep()).as("holds left").isEqualTo(1);
        assertThat(CancellationBeacon.pending).as("the running invocation keeps its hold").isEqualTo(1);
        running.endRun();
        assertThat(CancellationBeacon.pending).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void anInvocationRunsOnce(Engine e) {
        Executable program = Runs.load(e, COUNT, HelperTable.empty());
        Invocation invocation = new Invocation(new AddressSpace(), 10);
        assertThat(program.run(invocation)).isEqualTo(new Outcome.Returned(45));
        assertThatThrownBy(() -> program.run(invocation)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("runs once");
        assertThat(program.run(invocation.forNextRun())).isEqualTo(new Outcome.Returned(45));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRequestedRunEndsWithTheBeaconDark(Engine e) {
        Invocation invocation = new Invocation(new AddressSpace());
        invocation.requestCancel("stop");
        assertThat(CancellationBeacon.pending).isEqualTo(1);
        assertThat(Runs.load(e, SPIN, HelperTable.empty()).run(invocation))
                .isEqualTo(new Outcome.Cancelled(2, "stop", List.of()));
        assertThat(CancellationBeacon.pending).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(30)
    void anotherInvocationsRequestDoesNotStopARun(Engine e) throws Exception {
        Executable spin = Runs.load(e, SPIN, HelperTable.empty());
        Executable count = Runs.load(e, COUNT, HelperTable.empty());
        // A runaway program spins on another thread until it is cancelled; meanwhile the beacon
        // is lit and every point of the counting loop takes its slow path, finds no request of
        // its own, and carries on.
        Invocation runaway = new Invocation(new AddressSpace());
        CountDownLatch started = new CountDownLatch(1);
        CompletableFuture<Outcome> spinning = CompletableFuture.supplyAsync(() -> {
            started.countDown();
            return spin.run(runaway);
        });
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        Invocation neverRuns = new Invocation(new AddressSpace());
        try {
            neverRuns.requestCancel("never runs"); // lights the beacon for as long as it is reachable
            assertThat(CancellationBeacon.lit()).isTrue();
            for (int i = 0; i < 200; i++) {
                long n = 1_000 + i;
                assertThat(count.run(new Invocation(new AddressSpace(), n))).isEqualTo(new Outcome.Returned(n * (n - 1) / 2));
            }
        } finally {
            runaway.requestCancel("runaway");
        }
        assertThat(spinning.get(10, TimeUnit.SECONDS)).isEqualTo(new Outcome.Cancelled(2, "runaway", List.of()));
        // The invocation that never ran still holds the beacon: it could still run.
        assertThat(CancellationBeacon.sweep()).isEqualTo(1);
        assertThat(neverRuns.cancelRequested()).isEqualTo("never runs");
        CancellationBeacon.release(neverRuns);
    }

    @Test
    @Timeout(30)
    void aRequestedInvocationDroppedWithoutRunningStopsHoldingTheBeacon() throws InterruptedException {
        new Invocation(new AddressSpace()).requestCancel("dropped");
        assertThat(CancellationBeacon.pending).isEqualTo(1);
        while (CancellationBeacon.sweep() != 0) {
            System.gc();
            Thread.sleep(10);
        }
        assertThat(CancellationBeacon.pending).isZero();
    }
}
