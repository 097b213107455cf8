package io.kflex.bench;

import io.kflex.engine.Engines;
import io.kflex.engine.Invocation;
import io.kflex.engine.Stack;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Measures each piece of the hook path of one workload (default {@code memcached-get}) on the JIT:
 * the whole {@link LoadedProgram#invoke}, the executable's run alone, mapping and unmapping the
 * stack, the reclamation epoch and the watchdog watch. Prints medians of CPU time per operation;
 * no assertions, it is a tool: run its {@code main} with the test classpath, e.g.
 * {@code java -cp kflex-core/target/classes:kflex-core/target/test-classes io.kflex.bench.HookPathHarness [suite] [engine]}.
 */
public final class HookPathHarness {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private HookPathHarness() {}

    public static void main(String[] args) throws Exception {
        String suite = args.length > 0 ? args[0] : "memcached-get";
        String engine = args.length > 1 ? args[1] : "jit";
        Workload w = Workloads.all().stream().filter(x -> x.name().equals(suite)).findFirst().orElseThrow();
        try (KflexTarget target = KflexTarget.open(w, Path.of("extensions/objects"), Engines.named(engine).orElseThrow())) {
            LoadedProgram program = target.program();
            Invocation invocation = target.invocation();
            KFlexRuntime runtime = program.extension().runtime();
            Duration budget = Duration.ofSeconds(30);
            Map<String, Runnable> pieces = new LinkedHashMap<>();
            pieces.put("invoke (whole hook path)", () -> program.invoke(invocation.forNextRun(), budget));
            pieces.put("executable.run", () -> program.executable().run(invocation.forNextRun()));
            pieces.put("stack map + zero 4 KiB + unmap", () -> Stack.mapInto(invocation.memory()).close());
            pieces.put("stack map + zero 64 B + unmap", () -> Stack.mapInto(invocation.memory(), 64).close());
            pieces.put("epoch enter + exit", () -> runtime.maps().epochs().enter().close());
            pieces.put("watchdog watch + close", () -> runtime.watchdog().watch(invocation, budget).close());
            if (args.length > 2 && args[2].equals("profile")) {
                // For a profiler (JFR): the executable's run alone, for about ten seconds.
                long end = System.nanoTime() + 10_000_000_000L;
                while (System.nanoTime() < end) for (int i = 0; i < 10_000; i++) program.executable().run(invocation.forNextRun());
                return;
            }
            for (int round = 0; round < 2; round++) { // the first pass is warm-up
                for (var e : pieces.entrySet()) {
                    double ns = measure(e.getValue());
                    if (round == 1) System.out.printf("%-28s %9.1f ns%n", e.getKey(), ns);
                }
            }
        }
    }

    /** Median over 9 rounds of CPU nanoseconds per call. */
    private static double measure(Runnable r) {
        int batch = 20_000;
        for (int i = 0; i < 50_000; i++) r.run();
        double[] rounds = new double[9];
        for (int k = 0; k < rounds.length; k++) {
            long start = THREADS.getCurrentThreadCpuTime();
            for (int i = 0; i < batch; i++) r.run();
            rounds[k] = (double) (THREADS.getCurrentThreadCpuTime() - start) / batch;
        }
        Arrays.sort(rounds);
        return rounds[rounds.length / 2];
    }
}
