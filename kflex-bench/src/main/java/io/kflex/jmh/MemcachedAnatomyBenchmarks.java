package io.kflex.jmh;

import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workload;
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
 * The {@code memcached-get} run taken apart by what its program does: the same program and hook
 * path as {@link EngineBenchmarks} on four frames, each in its own JVM —
 * {@code not-ipv4} (the program exits after a dozen instructions: the floor every run pays),
 * {@code miss-1} and {@code miss-8} (a 1-byte and an 8-byte key that are not cached: the
 * difference over 7 is the copy-and-hash loop per key byte, {@code miss-1} over the floor is the
 * parse and the map lookup), and {@code hit} (the benchmark's frame: the entry's key compared).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = ForkOptions.NATIVE_ACCESS)
public class MemcachedAnatomyBenchmarks extends KflexTargetBenchmark {
    private static final long XDP_PASS = 2;

    @Param({"not-ipv4", "miss-1", "miss-8", "hit"})
    public String frame;

    @Param({"jit", "interpreter"})
    public String engine;

    @Setup(Level.Trial)
    public void open() {
        Workload hit = Workloads.named("memcached-get").orElseThrow();
        byte[] bytes = switch (frame) {
            case "not-ipv4" -> {
                byte[] b = hit.dataIn().clone();
                b[12] = (byte) 0x86; // EtherType 0x86dd: the first check fails
                yield b;
            }
            case "miss-1" -> Workloads.udpFrame(11211, Workloads.memcachedRequest("get k\r\n"));
            case "miss-8" -> Workloads.udpFrame(11211, Workloads.memcachedRequest("get kkkkkkkk\r\n"));
            case "hit" -> hit.dataIn();
            default -> throw new IllegalArgumentException("unknown frame " + frame);
        };
        long expected = frame.equals("hit") ? hit.expectedRetval() : XDP_PASS;
        Workload w = new Workload(hit.name(), hit.description() + ", frame " + frame, hit.unit(), 1, hit.object(), hit.program(),
                hit.ctxIn(), bytes, expected, hit.setupRuns(), hit.mapFills(), hit.arenaPages(), hit.plainJava(), hit.linuxNote());
        target = KflexTarget.open(w, EngineBenchmarks.objects(), EngineBenchmarks.engine(engine));
    }
}
