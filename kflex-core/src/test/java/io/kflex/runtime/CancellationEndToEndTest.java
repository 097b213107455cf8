package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.HeldResources;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * cancel_demo.bpf.o on both engines: a runaway program holding a socket reference, a ring-buffer
 * record, two heap locks and a map-value lock is cancelled by the watchdog, the object table of its
 * cancellation point gives everything back, and the host's state is as if it had never been
 * acquired.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CancellationEndToEndTest {
    private static final List<String> EVERYTHING = List.of(HeldResources.SOCKET, HeldResources.RINGBUF_RECORD,
            HeldResources.HEAP_LOCK, HeldResources.HEAP_LOCK, HeldResources.MAP_LOCK);

    private static CancelDemo demo(String engine) throws Exception {
        return new CancelDemo(engine, b -> b.policy(CancellationPolicy.KEEP));
    }

    private static List<String> kinds(List<String> released) {
        return released.stream().map(HeldResources::kindOf).sorted().toList();
    }

    private static List<String> sorted(List<String> kinds) {
        return kinds.stream().sorted().toList();
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aRunawayIsCancelledWithinTwiceItsBudgetAndReleasesEverything(String engine) throws Exception {
        try (CancelDemo d = demo(engine)) {
            Duration budget = Duration.ofMillis(100);
            // The run's own duration (the cost of reporting a cancellation comes after the extension
            // stopped). A loaded machine can starve the watchdog's thread for a while, so the
            // "within twice the budget" promise is checked as: at least one of three runs keeps it,
            // and every run stops (none outlives the budget by seconds).
            TestRunResult r = null;
            long best = Long.MAX_VALUE;
            int attempts = 0;
            for (; attempts < 3 && best >= 2 * budget.toNanos(); attempts++) {
                r = d.spinOnce(budget);
                assertThat(r.cancelled()).as("%s", r.outcome()).isTrue();
                assertThat(r.durationNs()).as("stops at all").isLessThan(budget.toNanos() + Duration.ofSeconds(5).toNanos());
                best = Math.min(best, r.durationNs());
            }
            assertThat(best).as("cancelled within twice the budget").isLessThan(2 * budget.toNanos());
            Outcome.Cancelled c = (Outcome.Cancelled) r.outcome();
            assertThat(c.reason()).isEqualTo("exceeded budget of 100 ms");
            assertThat(d.spin.verified().cancellationPoints()).contains(c.pc());
            assertThat(d.spin.verifiedSourceLine(c.pc())).contains("cancel_demo.bpf.c:").contains("while");
            assertThat(kinds(c.released())).isEqualTo(sorted(EVERYTHING));
            // The verifier's object table of that point names exactly what was released.
            assertThat(sorted(d.spin.objectTable(c.pc()))).isEqualTo(kinds(c.released()));

            assertThat(d.quiescent()).isTrue();
            assertThat(d.events.consumer().poll(Duration.ZERO)).as("the discarded record is never seen").isEmpty();
            assertThat(d.events.query(io.kflex.maps.BpfRingBuf.RB_AVAIL_DATA)).isZero();
            long whole = d.events.reserve(d.events.ringSize() - 8, 0);
            assertThat(whole).as("the ring's whole space is free again").isNotZero();
            d.events.commit(whole, true, 0);

            assertThat(d.takeLocksOnce()).as("the next program takes the same locks").isEqualTo(new Outcome.Returned(2));
            assertThat(d.spin.stats().cancellations()).as("one per attempt").isEqualTo(attempts);
            assertThat(d.spin.unloaded()).as("policy KEEP").isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aThousandCancellationsInARowLeakNothing(String engine) throws Exception {
        try (CancelDemo d = new CancelDemo(engine, b -> b.policy(CancellationPolicy.KEEP).watchdogTick(Duration.ofMillis(1)))) {
            d.spinOnce(Duration.ofMillis(1)); // warm-up
            int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
            long allocated = d.heap.allocatedBytes();
            int cancellations = 1_000;
            // One warning per cancellation is the contract; a thousand of them are noise here.
            java.util.logging.Logger log = java.util.logging.Logger.getLogger("io.kflex.runtime");
            java.util.logging.Level level = log.getLevel();
            log.setLevel(java.util.logging.Level.SEVERE);
            try {
                for (int i = 0; i < cancellations; i++) {
                    TestRunResult r = d.spinOnce(Duration.ofMillis(1));
                    if (!r.cancelled() || r.released().size() != EVERYTHING.size() || !d.quiescent()) {
                        throw new AssertionError("run " + i + ": " + r.outcome() + ", socket references " + d.socket.references());
                    }
                    // The consumer skips the discarded record, so the 4 KiB ring never fills up.
                    assertThat(d.events.consumer().poll(Duration.ZERO)).isEmpty();
                }
            } finally {
                log.setLevel(level);
            }
            assertThat(d.spin.stats().cancellations()).isEqualTo(cancellations + 1);
            assertThat(d.heap.allocatedBytes()).as("heap pages").isEqualTo(allocated);
            assertThat(d.runtime.watchdog().armed()).isZero();
            assertThat(d.runtime.watchdog().slots()).as("one reused slot for this thread").isEqualTo(1);
            // A little slack for threads the JVM itself may start meanwhile; a leak per run would be hundreds.
            assertThat(ManagementFactory.getThreadMXBean().getThreadCount()).as("threads").isLessThanOrEqualTo(threadsBefore + 2);
            assertThat(d.takeLocksOnce()).isEqualTo(new Outcome.Returned(2));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void invocationsOnSeveralThreadsAllUnwind(String engine) throws Exception {
        try (CancelDemo d = demo(engine)) {
            PacketHook hook = new PacketHook(1, XdpAction.PASS, Duration.ofMillis(40));
            hook.attach(d.spin);
            int threads = 4, rounds = 3;
            List<Thread> workers = new ArrayList<>();
            List<PacketHook.Result> results = java.util.Collections.synchronizedList(new ArrayList<>());
            for (int t = 0; t < threads; t++) {
                int cpu = t;
                workers.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < rounds; i++) results.add(hook.process(CancelDemo.frame(), cpu));
                }));
            }
            for (Thread w : workers) w.join();
            assertThat(results).hasSize(threads * rounds).allSatisfy(r -> {
                assertThat(r.action()).as("the fallback verdict").isEqualTo(XdpAction.PASS);
                // Each one was stopped either spinning or waiting for a lock another one held.
                assertThat(r.outcome()).isInstanceOf(Outcome.Cancelled.class);
            });
            long spinning = results.stream().filter(r -> ((Outcome.Cancelled) r.outcome()).released().size() == EVERYTHING.size()).count();
            assertThat(spinning).as("the ones that got every lock").isPositive();
            assertThat(hook.fallbacks()).isEqualTo(threads * rounds);
            assertThat(d.quiescent()).isTrue();
            assertThat(d.events.consumer().poll(Duration.ZERO)).isEmpty();
            assertThat(d.takeLocksOnce()).isEqualTo(new Outcome.Returned(2));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aProgramWaitingForALockIsCancelledAndTheHolderByAnInterrupt(String engine) throws Exception {
        try (CancelDemo d = demo(engine)) {
            AtomicReference<TestRunResult> holder = new AtomicReference<>();
            Thread spinner = Thread.ofPlatform().start(() -> holder.set(d.spinOnce(Duration.ofSeconds(20))));
            while (!d.heapLockBHeld() || d.mapLockWord() == 0) Thread.onSpinWait();

            Invocation waiter = d.takeLocksInvocation();
            AtomicReference<Outcome> waited = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread waiting = Thread.ofPlatform().start(() -> {
                started.countDown();
                waited.set(d.takeLocks.invoke(waiter, Duration.ofSeconds(20)));
            });
            started.await();
            Thread.sleep(30);
            waiter.requestCancel("the host gave up on it");
            waiting.join(5_000);
            Outcome.Cancelled w = (Outcome.Cancelled) waited.get();
            assertThat(w.reason()).isEqualTo("the host gave up on it");
            assertThat(d.takeLocks.program().code().at(w.pc())).as("stopped at the lock call").isInstanceOf(io.kflex.isa.Instruction.Call.class);
            assertThat(w.released()).as("it held nothing yet").isEmpty();
            assertThat(d.heapLockAHeld()).as("the holder still holds its locks").isTrue();

            spinner.interrupt();
            spinner.join(5_000);
            Outcome.Cancelled h = (Outcome.Cancelled) holder.get().outcome();
            assertThat(h.reason()).isEqualTo("interrupted");
            assertThat(kinds(h.released())).isEqualTo(sorted(EVERYTHING));
            assertThat(d.quiescent()).isTrue();
            assertThat(d.takeLocksOnce()).isEqualTo(new Outcome.Returned(2));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void policyUnloadDetachesTheProgramAndKeepsItsMapsAndHeap(String engine) throws Exception {
        try (CancelDemo d = new CancelDemo(engine, b -> b.policy(CancellationPolicy.UNLOAD))) {
            PacketHook hook = new PacketHook(1, XdpAction.PASS, Duration.ofMillis(20));
            hook.attach(d.spin);
            PacketHook.Result cancelled = hook.process(CancelDemo.frame(), 0);
            assertThat(cancelled.action()).isEqualTo(XdpAction.PASS);
            assertThat(cancelled.outcome()).isInstanceOf(Outcome.Cancelled.class);
            assertThat(d.spin.unloaded()).isTrue();
            assertThat(hook.attached()).as("detached from its hook").isEmpty();
            assertThat(d.extension.programs()).containsOnlyKeys("take_locks");

            PacketHook.Result next = hook.process(CancelDemo.frame(), 0);
            assertThat(next.action()).isEqualTo(XdpAction.PASS);
            assertThat(next.outcome()).as("nothing ran").isNull();
            assertThat(d.spin.invoke(new Invocation(d.spin.newAddressSpace()), null)).isInstanceOf(Outcome.Faulted.class);

            // The heap and the maps stay: the host still reads them, the other program still runs.
            assertThat(d.quiescent()).isTrue();
            assertThat(d.heap.isAllocated(d.state & d.heap.mask())).isTrue();
            assertThat(d.takeLocksOnce()).isEqualTo(new Outcome.Returned(2));
            assertThat(d.takeLocksRuns()).isEqualTo(2);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void budgetsComeFromTheHookThenTheExtensionThenTheRuntime(String engine) throws Exception {
        try (CancelDemo d = new CancelDemo(engine, b -> b.policy(CancellationPolicy.KEEP).budget(Duration.ofMillis(30)))) {
            assertThat(reason(d.spinOnce(null).outcome())).isEqualTo("exceeded budget of 30 ms");
            d.extension.budget(Duration.ofMillis(20));
            assertThat(reason(d.spinOnce(null).outcome())).isEqualTo("exceeded budget of 20 ms");
            PacketHook hook = new PacketHook(1, XdpAction.PASS, Duration.ofMillis(10));
            hook.attach(d.spin);
            assertThat(reason(hook.process(CancelDemo.frame(), 0).outcome())).isEqualTo("exceeded budget of 10 ms");
            d.extension.budget(null);
            assertThat(d.extension.budget()).isEqualTo(Duration.ofMillis(30));
        }
    }

    private static String reason(Outcome o) {
        return ((Outcome.Cancelled) o).reason();
    }
}
