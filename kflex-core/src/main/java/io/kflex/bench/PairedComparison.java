package io.kflex.bench;

import io.kflex.engine.Engine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Two engines on one workload, A against B, measured so that a few percent can be resolved on a
 * noisy machine: each load opens the object once, loads the timed program with both engines
 * over the same maps and heap ({@link KflexTarget#openPair}), warms both up together and times
 * them in interleaved round pairs ({@link Measure#measurePaired}); loads are repeated (each a
 * fresh heap and a fresh compilation, the engine that loads first alternating) and pooled
 * ({@link PairedStats#ofLoads}).
 */
public final class PairedComparison {
    private PairedComparison() {}

    /**
     * What the loads gave.
     *
     * @param pooled  the ratio A / B over every round pair of every load
     * @param perLoad each load's own statistics, in order
     */
    public record Result(PairedStats pooled, List<PairedStats> perLoad, long runsA, long runsB) implements java.io.Serializable {
        public Result {
            perLoad = List.copyOf(perLoad);
        }
    }

    /**
     * Measures {@code w} on {@code a} against {@code b} over {@code loads} loads.
     *
     * @throws BenchException when the workload cannot be set up or a run gives a wrong result
     */
    public static Result run(Workload w, Path objects, Engine a, Engine b, Measure.Settings settings, int loads) {
        if (loads < 1) throw new IllegalArgumentException("loads must be positive");
        List<double[]> roundsA = new ArrayList<>(), roundsB = new ArrayList<>();
        List<PairedStats> perLoad = new ArrayList<>();
        long runsA = 0, runsB = 0;
        for (int l = 0; l < loads; l++) {
            // Whichever engine loads first runs the setup programs and is compiled first: alternate.
            boolean aFirst = l % 2 == 0;
            try (KflexTarget.Pair pair = aFirst ? KflexTarget.openPair(w, objects, a, b) : KflexTarget.openPair(w, objects, b, a)) {
                KflexTarget ta = aFirst ? pair.a() : pair.b(), tb = aFirst ? pair.b() : pair.a();
                Measure.Paired p = Measure.measurePaired(ta::run, tb::run, settings);
                // The last runs, after warm-up and C2, must still be right.
                ta.runChecked();
                tb.runChecked();
                roundsA.add(p.roundsA());
                roundsB.add(p.roundsB());
                perLoad.add(p.ratio());
                runsA += p.runsA();
                runsB += p.runsB();
            }
        }
        return new Result(PairedStats.ofLoads(roundsA, roundsB), perLoad, runsA, runsB);
    }
}
