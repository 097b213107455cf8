package io.kflex.jmh;

import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workloads;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The list walk of {@code listwalk-65536} over lists of other sizes: 16-byte nodes in shuffled
 * order, from a working set that stays in the first-level cache (1,024 nodes, 16 KiB) to one
 * that does not fit the second level (65,536 nodes and their 256 KiB permutation). One operation
 * is one walk of the whole list; divide by {@code nodes} for the time per node. Shows how much of
 * the interpreter-to-JIT ratio the memory's latency leaves.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = ForkOptions.NATIVE_ACCESS)
public class ListWalkSizeBenchmarks extends KflexTargetBenchmark {
    @Param({"1024", "8192", "65536"})
    public int nodes;

    @Param({"jit", "interpreter"})
    public String engine;

    @Setup(Level.Trial)
    public void open() {
        target = KflexTarget.open(Workloads.listWalk(nodes), EngineBenchmarks.objects(), EngineBenchmarks.engine(engine));
    }
}
