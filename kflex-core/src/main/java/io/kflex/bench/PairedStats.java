package io.kflex.bench;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The ratio of two columns measured in interleaved rounds: one ratio per round pair
 * ({@code a[i] / b[i]}, rounds that ran next to each other and so saw the same machine), their
 * median, interquartile range, and a bootstrap 95% interval of the median. Pairing cancels what
 * moves both columns (a neighbour's build, frequency changes); the spread of the per-pair ratios
 * is what is left, so an interval that excludes 1.03 resolves "at most 3%".
 *
 * @param pairs      round pairs (over every load)
 * @param median     median of the per-pair ratios
 * @param q1         first quartile of the ratios (linear interpolation)
 * @param q3         third quartile
 * @param ciLow      lower end of the bootstrap 95% interval of the median (percentile method)
 * @param ciHigh     upper end
 * @param medianA    median time per run of column A over its rounds
 * @param medianB    median time per run of column B
 */
public record PairedStats(int pairs, double median, double q1, double q3, double ciLow, double ciHigh,
                          double medianA, double medianB) implements java.io.Serializable {

    /** Resamples of the bootstrap; with a fixed seed, the same inputs always give the same interval. */
    static final int RESAMPLES = 4000;
    private static final long SEED = 0x6b666c6578L;

    /**
     * The statistics of rounds {@code a[i]}, {@code b[i]} (time per run of A and of B in pair
     * {@code i}).
     *
     * @throws IllegalArgumentException when the arrays differ in length, are empty, or hold a
     *         value that is not a positive finite time
     */
    public static PairedStats of(double[] a, double[] b) {
        return ofLoads(List.of(a), List.of(b));
    }

    /**
     * The statistics of several independent loads of A and B ({@code a.get(l)[i]} and {@code
     * b.get(l)[i]}: pair {@code i} of load {@code l}). Two loads of the very same program can
     * differ by several percent (each is compiled anew), so a load is the unit that is
     * replicated: the median and quartiles are those of every pair's ratio, and the interval
     * resamples loads first and then the pairs within each chosen load (a two-stage bootstrap),
     * so that it is as wide as the loads disagree.
     *
     * @throws IllegalArgumentException when A and B have different loads or rounds, none, or a
     *         value that is not a positive finite time
     */
    public static PairedStats ofLoads(List<double[]> a, List<double[]> b) {
        if (a.size() != b.size()) throw new IllegalArgumentException("A has " + a.size() + " loads, B " + b.size());
        if (a.isEmpty()) throw new IllegalArgumentException("no loads");
        double[][] ratios = new double[a.size()][];
        int total = 0;
        for (int l = 0; l < a.size(); l++) {
            ratios[l] = ratios(a.get(l), b.get(l));
            total += ratios[l].length;
        }
        double[] pooled = new double[total], pooledA = new double[total], pooledB = new double[total];
        for (int l = 0, at = 0; l < ratios.length; at += ratios[l].length, l++) {
            System.arraycopy(ratios[l], 0, pooled, at, ratios[l].length);
            System.arraycopy(a.get(l), 0, pooledA, at, ratios[l].length);
            System.arraycopy(b.get(l), 0, pooledB, at, ratios[l].length);
        }
        double[] sorted = pooled.clone();
        Arrays.sort(sorted);
        double[] medians = new double[RESAMPLES];
        SplittableRandom random = new SplittableRandom(SEED);
        double[] sample = new double[total];
        for (int r = 0; r < RESAMPLES; r++) {
            int at = 0;
            while (at < total) {
                double[] load = ratios[random.nextInt(ratios.length)];
                for (int i = 0; i < load.length && at < total; i++) sample[at++] = load[random.nextInt(load.length)];
            }
            Arrays.sort(sample);
            medians[r] = quantile(sample, 0.5);
        }
        Arrays.sort(medians);
        return new PairedStats(total, quantile(sorted, 0.5), quantile(sorted, 0.25), quantile(sorted, 0.75),
                quantile(medians, 0.025), quantile(medians, 0.975), median(pooledA), median(pooledB));
    }

    private static double[] ratios(double[] a, double[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("A has " + a.length + " rounds, B " + b.length);
        if (a.length == 0) throw new IllegalArgumentException("no rounds");
        double[] ratios = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            if (!(a[i] > 0 && b[i] > 0) || Double.isInfinite(a[i]) || Double.isInfinite(b[i])) {
                throw new IllegalArgumentException("round " + i + " is not a positive time: " + a[i] + ", " + b[i]);
            }
            ratios[i] = a[i] / b[i];
        }
        return ratios;
    }

    /** The {@code p} quantile of sorted values, interpolating linearly between order statistics (type 7). */
    static double quantile(double[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        int hi = Math.min(lo + 1, sorted.length - 1);
        return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return quantile(sorted, 0.5);
    }
}
