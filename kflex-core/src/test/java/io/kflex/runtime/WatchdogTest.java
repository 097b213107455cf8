package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import java.time.Duration;
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
