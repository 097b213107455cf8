package io.kflex.bench;

import java.time.Duration;
import java.util.Arrays;
import java.util.function.LongSupplier;

/**
 * Times a run: warm-up (long enough for C2 to compile the hot code: thousands of runs), then
 * {@link Settings#rounds()} rounds of a batch of runs sized to last about
 * {@link Settings#round()}; the result is the median of the rounds' time per run. Medians, not
 * means, because the machines are noisy (DESIGN §10).
 */
public final class Measure {
    private Measure() {}

    /**
     * How long to measure.
     *
     * @param warmup         at least this long warming up ...
     * @param warmupRuns     ... and at least this many runs, unless that takes four times {@code warmup}
     * @param rounds         timed rounds (the median is reported)
     * @param round          the target duration of one round
     * @param clock          what a round's duration is read from
     */
    public record Settings(Duration warmup, int warmupRuns, int rounds, Duration round, Clock clock) {
        public Settings {
            if (rounds < 1 || warmupRuns < 0) throw new IllegalArgumentException("rounds must be positive");
            java.util.Objects.requireNonNull(clock);
        }

        /** The default: 2 s and 10,000 runs of warm-up, 15 rounds of 100 ms of the thread's CPU time. */
        public static Settings standard() {
            return new Settings(Duration.ofSeconds(2), 10_000, 15, Duration.ofMillis(100), Clock.CPU);
        }

        /** A short run for tests and smoke checks: the numbers mean little. */
        public static Settings quick() {
            return new Settings(Duration.ofMillis(30), 50, 3, Duration.ofMillis(5), Clock.CPU);
        }

        public Settings withClock(Clock c) {
            return new Settings(warmup, warmupRuns, rounds, round, c);
        }
    }

    /**
     * The clock rounds are timed with. {@code CPU} — the measuring thread's CPU time — leaves out
     * the time the thread waits for a core, which on a shared, overloaded machine is most of the
     * wall time; the kernel's own measurement of an eBPF program (sched_clock around the run, with
     * the program not migrated) is closer to it than to wall time. {@code WALL} is
     * {@link System#nanoTime()}.
     */
    public enum Clock {
        CPU, WALL;

        private static final java.lang.management.ThreadMXBean THREADS = java.lang.management.ManagementFactory.getThreadMXBean();

        long now() {
            return this == CPU ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
        }
    }

    /** What was measured: the median time per run, every round's time per run, the runs timed. */
    public record Result(double medianNs, double[] roundsNs, long runs) {
        public Result {
            roundsNs = roundsNs.clone();
        }

        @Override public double[] roundsNs() { return roundsNs.clone(); }
    }

    /** Keeps results alive so that the JVM cannot drop the work that produced them. */
    private static volatile long sink;

    public static Result measure(LongSupplier run, Settings settings) {
        long warmupNs = settings.warmup().toNanos();
        long start = System.nanoTime(), runs = 0, acc = 0, elapsed;
        do {
            acc += run.getAsLong();
            runs++;
            elapsed = System.nanoTime() - start;
        } while (elapsed < warmupNs || (runs < settings.warmupRuns() && elapsed < 4 * warmupNs));
        double perRun = (double) elapsed / runs;
        long batch = Math.max(1, (long) (settings.round().toNanos() / Math.max(perRun, 1)));
        double[] rounds = new double[settings.rounds()];
        long timed = 0;
        Clock clock = settings.clock();
        for (int r = 0; r < rounds.length; r++) {
            long t0 = clock.now();
            for (long i = 0; i < batch; i++) acc += run.getAsLong();
            rounds[r] = (double) (clock.now() - t0) / batch;
            timed += batch;
        }
        sink = acc;
        double[] sorted = rounds.clone();
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
        return new Result(median, rounds, timed);
    }
}
