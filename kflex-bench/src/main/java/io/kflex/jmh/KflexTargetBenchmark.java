package io.kflex.jmh;

import io.kflex.bench.KflexTarget;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What every benchmark of a kflex program shares: one operation is one run of the program through
 * {@link io.kflex.runtime.LoadedProgram#invoke}, as a hook runs it ({@link KflexTarget#run}); after
 * all of them, one more run must still return what the workload promises. Subclasses open the
 * target in their trial setup.
 */
@State(Scope.Thread)
public abstract class KflexTargetBenchmark {
    protected KflexTarget target;

    @TearDown(Level.Trial)
    public void close() {
        // A wrong result after all the runs must not go unnoticed.
        target.runChecked();
        target.close();
    }

    @Benchmark
    public long run() {
        return target.run();
    }
}
