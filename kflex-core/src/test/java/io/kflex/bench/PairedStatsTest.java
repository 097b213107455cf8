package io.kflex.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The paired statistic on fixed inputs, and the structure of a paired measurement (never its timings). */
class PairedStatsTest {

    @Test
    void theRatioIsTheMedianOfPerPairRatiosNotTheRatioOfMedians() {
        // Ratios 3, 0.5, 2/3: their median is 2/3, while median(a) / median(b) would be 2 / 2 = 1.
        PairedStats s = PairedStats.of(new double[] {3, 1, 2}, new double[] {1, 2, 3});
        assertThat(s.median()).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(s.medianA()).isEqualTo(2);
        assertThat(s.medianB()).isEqualTo(2);
        assertThat(s.pairs()).isEqualTo(3);
    }

    @Test
    void quartilesInterpolateBetweenOrderStatistics() {
        PairedStats s = PairedStats.of(new double[] {5, 1, 4, 2, 3}, new double[] {1, 1, 1, 1, 1});
        assertThat(s.median()).isEqualTo(3);
        assertThat(s.q1()).isEqualTo(2);
        assertThat(s.q3()).isEqualTo(4);
        PairedStats even = PairedStats.of(new double[] {1, 2, 3, 4}, new double[] {1, 1, 1, 1});
        assertThat(even.median()).isEqualTo(2.5);
        assertThat(even.q1()).isEqualTo(1.75);
        assertThat(even.q3()).isEqualTo(3.25);
    }

    @Test
    void aDriftThatMovesBothColumnsCancelsOut() {
        // The machine slows down 40x over the rounds; A is always 3% slower than B next to it.
        double[] a = new double[40], b = new double[40];
        for (int i = 0; i < a.length; i++) {
            b[i] = 100 + 100 * i;
            a[i] = 1.03 * b[i];
        }
        PairedStats s = PairedStats.of(a, b);
        assertThat(s.median()).isCloseTo(1.03, within(1e-12));
        assertThat(s.ciLow()).isCloseTo(1.03, within(1e-12));
        assertThat(s.ciHigh()).isCloseTo(1.03, within(1e-12));
        assertThat(s.q3() - s.q1()).isLessThan(1e-12);
    }

    @Test
    void theBootstrapIntervalHoldsTheMedianAndIsReproducible() {
        double[] a = {1.10, 0.95, 1.02, 1.07, 0.99, 1.01, 1.04, 0.98, 1.03, 1.00, 1.06, 0.97};
        double[] b = new double[a.length];
        java.util.Arrays.fill(b, 1.0);
        PairedStats s = PairedStats.of(a, b);
        assertThat(s.median()).isCloseTo(1.015, within(1e-12));
        assertThat(s.ciLow()).isLessThanOrEqualTo(s.median()).isGreaterThanOrEqualTo(0.95);
        assertThat(s.ciHigh()).isGreaterThanOrEqualTo(s.median()).isLessThanOrEqualTo(1.10);
        assertThat(s.ciHigh() - s.ciLow()).isPositive();
        assertThat(PairedStats.of(a, b)).isEqualTo(s);
    }

    @Test
    void loadsThatDisagreeWidenTheIntervalToBothOfThem() {
        // Two loads, each perfectly steady, one at 1.00 and one at 1.10: the rounds alone would
        // give a narrow interval; resampling loads shows that either could be the truth.
        double[] ones = new double[10], b = new double[10];
        double[] tens = new double[10];
        java.util.Arrays.fill(ones, 1.0);
        java.util.Arrays.fill(tens, 1.1);
        java.util.Arrays.fill(b, 1.0);
        PairedStats s = PairedStats.ofLoads(List.of(ones, tens), List.of(b, b));
        assertThat(s.pairs()).isEqualTo(20);
        assertThat(s.median()).isCloseTo(1.05, within(1e-12));
        assertThat(s.ciLow()).isCloseTo(1.0, within(1e-12));
        assertThat(s.ciHigh()).isCloseTo(1.1, within(1e-12));
        PairedStats one = PairedStats.ofLoads(List.of(ones), List.of(b));
        assertThat(one).isEqualTo(PairedStats.of(ones, b));
    }

    @Test
    void badRoundsAreRefused() {
        assertThatThrownBy(() -> PairedStats.of(new double[] {1, 2}, new double[] {1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 rounds");
        assertThatThrownBy(() -> PairedStats.of(new double[0], new double[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PairedStats.of(new double[] {1, 0}, new double[] {1, 1})).hasMessageContaining("round 1");
        assertThatThrownBy(() -> PairedStats.of(new double[] {Double.NaN}, new double[] {1})).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PairedStats.of(new double[] {Double.POSITIVE_INFINITY}, new double[] {1}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PairedStats.ofLoads(List.of(new double[] {1}), List.of())).hasMessageContaining("loads");
    }

    @Test
    void aPairedMeasurementTimesBothInEveryRoundPair() {
        long[] calls = new long[2];
        Measure.Settings settings = Measure.Settings.pairedQuick().withRounds(5, Duration.ofMillis(2));
        Measure.Paired p = Measure.measurePaired(() -> ++calls[0], () -> ++calls[1], settings);
        assertThat(p.roundsA()).hasSize(5);
        assertThat(java.util.Arrays.stream(p.roundsA()).min().orElseThrow()).isPositive();
        assertThat(p.roundsB()).hasSize(5);
        assertThat(java.util.Arrays.stream(p.roundsB()).min().orElseThrow()).isPositive();
        assertThat(p.ratio()).isEqualTo(PairedStats.of(p.roundsA(), p.roundsB()));
        assertThat(calls[0]).isGreaterThan(p.runsA());
        assertThat(calls[1]).isGreaterThan(p.runsB());
    }

    @Test
    void freshLoopsAreDistinctClassesThatRunTheirSupplier() {
        long[] calls = new long[1];
        RunLoop one = RunLoop.fresh(), two = RunLoop.fresh();
        assertThat(one.run(() -> { calls[0]++; return 2; }, 10)).isEqualTo(20);
        assertThat(two.run(() -> { calls[0]++; return 3; }, 5)).isEqualTo(15);
        assertThat(RunLoop.shared().run(() -> 1, 7)).isEqualTo(7);
        assertThat(calls[0]).isEqualTo(15);
    }
}
