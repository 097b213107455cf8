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

        /**
         * The default of a paired measurement: the same warm-up, then 100 round pairs of 20 ms —
         * short rounds, so that the two rounds of a pair see nearly the same machine, and many,
         * so that the ratio's interval is narrow.
         */
        public static Settings paired() {
            return new Settings(Duration.ofSeconds(2), 10_000, 100, Duration.ofMillis(20), Clock.CPU);
        }

        /** A short paired run for tests and smoke checks: 6 pairs of 5 ms. */
        public static Settings pairedQuick() {
            return new Settings(Duration.ofMillis(30), 50, 6, Duration.ofMillis(5), Clock.CPU);
        }

        public Settings withRounds(int rounds, Duration round) {
            return new Settings(warmup, warmupRuns, rounds, round, clock);
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

    /** Warm-up runs in chunks of about this long, so that the clock is read rarely. */
    private static final long CHUNK_NS = 5_000_000;

    /** Times {@code run} in a loop of its own ({@link RunLoop#fresh()}). */
    public static Result measure(LongSupplier run, Settings settings) {
        return measure(run, settings, RunLoop.fresh());
    }

    /** Times {@code run} in {@code loop}. */
    public static Result measure(LongSupplier run, Settings settings, RunLoop loop) {
        Warm warm = new Warm(run, loop);
        long warmupNs = settings.warmup().toNanos(), start = System.nanoTime(), elapsed;
        do {
            warm.chunk();
            elapsed = System.nanoTime() - start;
        } while (elapsed < warmupNs || (warm.runs < settings.warmupRuns() && elapsed < 4 * warmupNs));
        long batch = warm.batchFor(settings.round());
        double[] rounds = new double[settings.rounds()];
        long timed = 0, acc = 0;
        Clock clock = settings.clock();
        for (int r = 0; r < rounds.length; r++) {
            long t0 = clock.now();
            acc += loop.run(run, batch);
            rounds[r] = (double) (clock.now() - t0) / batch;
            timed += batch;
        }
        sink = acc + warm.acc;
        return new Result(PairedStats.median(rounds), rounds, timed);
    }

    /**
     * What a paired measurement found: A's and B's time per run in each round ({@code a[i]} and
     * {@code b[i]} ran next to each other), the statistics of their ratio, and the runs timed.
     */
    public record Paired(double[] roundsA, double[] roundsB, PairedStats ratio, long runsA, long runsB) {
        public Paired {
            roundsA = roundsA.clone();
            roundsB = roundsB.clone();
        }

        @Override public double[] roundsA() { return roundsA.clone(); }

        @Override public double[] roundsB() { return roundsB.clone(); }
    }

    /**
     * Times two runs against each other in interleaved rounds: both are warmed up together
     * (alternating chunks, so that neither is compiled against a profile the other has not yet
     * left), then {@code settings.rounds()} round pairs in the order A B, B A, A B, ... — a
     * drift of the machine (a neighbour's job starting) then weighs on both alike, and neither
     * always goes first. Each runs in a loop of its own. The ratio is A / B per pair.
     */
    public static Paired measurePaired(LongSupplier a, LongSupplier b, Settings settings) {
        return measurePaired(a, b, settings, RunLoop.fresh(), RunLoop.fresh());
    }

    /** {@link #measurePaired(LongSupplier, LongSupplier, Settings)} in the given loops (the same loop twice: a shared call site). */
    public static Paired measurePaired(LongSupplier a, LongSupplier b, Settings settings, RunLoop loopA, RunLoop loopB) {
        Warm warmA = new Warm(a, loopA), warmB = new Warm(b, loopB);
        long warmupNs = 2 * settings.warmup().toNanos(), start = System.nanoTime(), elapsed;
        do {
            warmA.chunk();
            warmB.chunk();
            elapsed = System.nanoTime() - start;
        } while (elapsed < warmupNs
                || (Math.min(warmA.runs, warmB.runs) < settings.warmupRuns() && elapsed < 4 * warmupNs));
        long batchA = warmA.batchFor(settings.round()), batchB = warmB.batchFor(settings.round());
        int pairs = settings.rounds();
        double[] ra = new double[pairs], rb = new double[pairs];
        Clock clock = settings.clock();
        long acc = warmA.acc + warmB.acc;
        for (int i = 0; i < pairs; i++) {
            boolean aFirst = i % 2 == 0;
            for (int k = 0; k < 2; k++) {
                boolean timeA = aFirst == (k == 0);
                LongSupplier run = timeA ? a : b;
                RunLoop loop = timeA ? loopA : loopB;
                long batch = timeA ? batchA : batchB;
                long t0 = clock.now();
                acc += loop.run(run, batch);
                double perRun = (double) (clock.now() - t0) / batch;
                if (timeA) ra[i] = perRun;
                else rb[i] = perRun;
            }
        }
        sink = acc;
        // A round too short for the clock's resolution reads as 0: never a ratio of it.
        for (int i = 0; i < pairs; i++) {
            ra[i] = Math.max(ra[i], 1e-3);
            rb[i] = Math.max(rb[i], 1e-3);
        }
        return new Paired(ra, rb, PairedStats.of(ra, rb), batchA * pairs, batchB * pairs);
    }

    /** Warm-up of one run in its loop, chunk by chunk; estimates the run's time from its last chunk. */
    private static final class Warm {
        private final LongSupplier run;
        private final RunLoop loop;
        long runs, acc, chunk = 1;
        double perRunNs = Double.NaN;

        Warm(LongSupplier run, RunLoop loop) {
            this.run = run;
            this.loop = loop;
        }

        void chunk() {
            long t0 = System.nanoTime();
            acc += loop.run(run, chunk);
            long took = Math.max(1, System.nanoTime() - t0);
            runs += chunk;
            perRunNs = (double) took / chunk;
            // Grow towards chunks of CHUNK_NS, never by more than doubling (the first runs are slow).
            chunk = Math.max(1, Math.min(2 * chunk, (long) (CHUNK_NS / perRunNs)));
        }

        long batchFor(java.time.Duration round) {
            return Math.max(1, (long) (round.toNanos() / Math.max(perRunNs, 1)));
        }
    }
}
