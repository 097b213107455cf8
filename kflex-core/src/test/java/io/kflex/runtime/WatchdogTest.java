package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

class WatchdogTest {

    @Test
    @Timeout(10)
    void requestsCancellationWhenTheBudgetElapses() throws Exception {
        try (Watchdog watchdog = new Watchdog()) {
            Invocation invocation = new Invocation(new AddressSpace());
            Watchdog.Watch watch = watchdog.watch(invocation, Duration.ofMillis(20));
            while (invocation.cancelRequested() == null) Thread.sleep(5);
            assertThat(invocation.cancelRequested()).isEqualTo("exceeded budget of 20 ms");
            assertThat(watch.fired()).isTrue();
            watch.close();
        }
    }

    @Test
    void aClosedWatchNeverFires() throws Exception {
        try (Watchdog watchdog = new Watchdog()) {
            Invocation invocation = new Invocation(new AddressSpace());
            Watchdog.Watch watch = watchdog.watch(invocation, Duration.ofMillis(30));
            watch.close();
            watch.close();
            Thread.sleep(80);
            assertThat(invocation.cancelRequested()).isNull();
            assertThat(watch.fired()).isFalse();
        }
    }

    @Test
    void closedWatchesLeaveNothingBehind() {
        try (Watchdog watchdog = new Watchdog()) {
            Invocation invocation = new Invocation(new AddressSpace());
            for (int i = 0; i < 100_000; i++) {
                try (Watchdog.Watch watch = watchdog.watch(invocation, Duration.ofSeconds(1))) {
                    assertThat(watchdog.armed()).isEqualTo(1);
                }
            }
            assertThat(watchdog.armed()).isZero();
            assertThat(invocation.cancelRequested()).isNull();
        }
    }

    @Test
    void aThreadReusesOneSlotForEveryInvocation() {
        try (Watchdog watchdog = new Watchdog()) {
            Watchdog.Watch first = null;
            for (int i = 0; i < 100_000; i++) {
                try (Watchdog.Watch watch = watchdog.watch(new Invocation(new AddressSpace()), Duration.ofSeconds(1))) {
                    if (first == null) first = watch;
                    assertThat(watch).isSameAs(first);
                }
            }
            assertThat(watchdog.slots()).isEqualTo(1);
            assertThat(watchdog.armed()).isZero();
        }
    }

    @Test
    @Timeout(10)
    void aWatchOpenedInsideAnotherIsWatchedOnItsOwn() throws Exception {
        try (Watchdog watchdog = new Watchdog()) {
            Invocation outer = new Invocation(new AddressSpace()), inner = new Invocation(new AddressSpace());
            try (Watchdog.Watch o = watchdog.watch(outer, Duration.ofSeconds(30))) {
                try (Watchdog.Watch i = watchdog.watch(inner, Duration.ofMillis(5))) {
                    assertThat(i).isNotSameAs(o);
                    assertThat(watchdog.armed()).isEqualTo(2);
                    while (inner.cancelRequested() == null) Thread.sleep(1);
                    assertThat(i.fired()).isTrue();
                }
                assertThat(o.fired()).isFalse();
                assertThat(outer.cancelRequested()).isNull();
                assertThat(watchdog.armed()).isEqualTo(1);
            }
            assertThat(watchdog.armed()).isZero();
        }
    }

    @Test
    @Timeout(10)
    void invocationsOnManyThreadsAreEachCancelledAtTheirOwnBudget() throws Exception {
        try (Watchdog watchdog = new Watchdog()) {
            int threads = 6;
            List<Invocation> invocations = new ArrayList<>();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Invocation inv = new Invocation(new AddressSpace());
                invocations.add(inv);
                Duration budget = t % 2 == 0 ? Duration.ofMillis(5) : Duration.ofSeconds(60);
                workers.add(Thread.ofPlatform().start(() -> {
                    try (Watchdog.Watch w = watchdog.watch(inv, budget)) {
                        long until = System.nanoTime() + 300_000_000L;
                        while (inv.cancelRequested() == null && System.nanoTime() < until) Thread.onSpinWait();
                    }
                }));
            }
            for (Thread w : workers) w.join();
            for (int t = 0; t < threads; t++) {
                if (t % 2 == 0) assertThat(invocations.get(t).cancelRequested()).isEqualTo("exceeded budget of 5 ms");
                else assertThat(invocations.get(t).cancelRequested()).isNull();
            }
            assertThat(watchdog.slots()).isEqualTo(threads);
        }
    }

    @Test
    @Timeout(10)
    void theSlotsOfEndedThreadsAreForgotten() throws Exception {
        try (Watchdog watchdog = new Watchdog(Duration.ofMillis(1).dividedBy(20))) {
            Thread t = Thread.ofPlatform().start(() -> watchdog.watch(new Invocation(new AddressSpace()), Duration.ofSeconds(1)).close());
            t.join();
            while (watchdog.slots() != 0) Thread.sleep(5);
        }
    }

    @Test
    void aWatchIsClosedByItsOwnThread() throws Exception {
        try (Watchdog watchdog = new Watchdog()) {
            Watchdog.Watch watch = watchdog.watch(new Invocation(new AddressSpace()), Duration.ofSeconds(1));
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    watch.close();
                } catch (Throwable e) {
                    thrown.set(e);
                }
            });
            other.join();
            assertThat(thrown.get()).isInstanceOf(IllegalStateException.class);
            assertThat(watchdog.armed()).isEqualTo(1);
            watch.close();
            assertThat(watchdog.armed()).isZero();
        }
    }

    @Test
    void refusesTicksTooFineToKeepUpWith() {
        assertThatThrownBy(() -> new Watchdog(Duration.ofNanos(1000))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void describesBudgetsInTheirNaturalUnit() {
        assertThat(Watchdog.describe(Duration.ofSeconds(1))).isEqualTo("1 s");
        assertThat(Watchdog.describe(Duration.ofMillis(1500))).isEqualTo("1500 ms");
        assertThat(Watchdog.describe(Duration.ofNanos(2000))).isEqualTo("2 µs");
        assertThat(Watchdog.describe(Duration.ofNanos(7))).isEqualTo("7 ns");
    }

    @Test
    void refusesNegativeBudgets() {
        try (Watchdog watchdog = new Watchdog()) {
            assertThatThrownBy(() -> watchdog.watch(new Invocation(new AddressSpace()), Duration.ofMillis(-1)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }
}
