package io.kflex.jmh;

import io.kflex.bench.Workload;
import io.kflex.bench.Workloads;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The same algorithms written in plain Java ({@link io.kflex.bench.PlainJavaWorkloads}): the JVM's own yardstick. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
// Not --sun-misc-unsafe-memory-access=deny as in the tests: JMH itself uses sun.misc.Unsafe in the forks.
@Fork(value = 1, jvmArgsAppend = ForkOptions.NATIVE_ACCESS)
public class PlainJavaBenchmarks {
    @Param({"hashmix-1000", "hashmix-100000", "listwalk-65536", "memcached-get", "kvstore-get", "skiplist-lookup", "countmin-update"})
    public String suite;

    private Workload.PlainJava java;

    @Setup(Level.Trial)
    public void prepare() {
        Workload w = Workloads.named(suite).orElseThrow(() -> new IllegalArgumentException("unknown suite " + suite));
        java = w.plainJava().get();
        if (java.run() != w.expectedRetval()) throw new IllegalStateException(suite + ": wrong result");
    }

    @Benchmark
    public long run() {
        return java.run();
    }
}
