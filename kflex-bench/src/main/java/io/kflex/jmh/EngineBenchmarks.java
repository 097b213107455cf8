package io.kflex.jmh;

import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workload;
import io.kflex.bench.Workloads;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.jit.JitEngine;
import java.nio.file.Path;
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
 * The {@code kflex bench} workloads as JMH benchmarks: one run of the workload's program per
 * operation, through {@link io.kflex.runtime.LoadedProgram#invoke} as a hook runs it. Objects are
 * read from {@code extensions/objects} of the working directory (or {@code -Dkflex.objects=DIR}
 * passed to the forks with {@code -jvmArgsAppend}).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
// Not --sun-misc-unsafe-memory-access=deny as in the tests: JMH itself uses sun.misc.Unsafe in the forks.
@Fork(value = 1, jvmArgsAppend = ForkOptions.NATIVE_ACCESS)
public class EngineBenchmarks extends KflexTargetBenchmark {
    @Param({"hashmix-1000", "hashmix-100000", "listwalk-65536", "memcached-get", "kvstore-get", "skiplist-lookup", "countmin-update"})
    public String suite;

    @Param({"jit", "jit-uninstrumented", "interpreter"})
    public String engine;

    @Setup(Level.Trial)
    public void open() {
        Workload w = Workloads.named(suite).orElseThrow(() -> new IllegalArgumentException("unknown suite " + suite));
        target = KflexTarget.open(w, objects(), engine(engine));
    }

    static Path objects() {
        return Path.of(System.getProperty("kflex.objects", "extensions/objects"));
    }

    static Engine engine(String name) {
        if (name.equals(JitEngine.UNINSTRUMENTED_NAME)) return JitEngine.uninstrumentedForMeasurementOnly();
        return Engines.named(name).orElseThrow(() -> new IllegalArgumentException("unknown engine " + name));
    }
}
