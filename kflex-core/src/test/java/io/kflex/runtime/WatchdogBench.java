package io.kflex.runtime;

import static io.kflex.engine.Asm.*;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * What watching an invocation costs: a short program (a 16-iteration counted loop, so it has a
 * back-edge) run on the JIT and the interpreter
 *
 * <ul>
 *   <li>unwatched: {@code executable.run(invocation)};</li>
 *   <li>epoch ticker: inside {@code try (var w = watchdog.watch(invocation, 10 ms))};</li>
 *   <li>timer task: the same with a task scheduled on a {@link ScheduledThreadPoolExecutor} and
 *       cancelled afterwards (what the watchdog did before it became a ticker);</li>
 *   <li>the two registrations alone, without running anything.</li>
 * </ul>
 *
 * Each variant runs {@code ROUNDS} rounds of {@code OPS} invocations, interleaved so that the
 * machine's noise hits all of them alike; the report is the median ns per invocation. Not a unit
 * test (timings are never asserted): run it with
 *
 * <pre>{@code
 * ./mvnw -q -o test-compile -pl kflex-core
 * java -cp kflex-core/target/classes:kflex-core/target/test-classes io.kflex.runtime.WatchdogBench [rounds] [ops]
 * }</pre>
 */
public final class WatchdogBench {
    private static final Duration BUDGET = Duration.ofMillis(10);

    private WatchdogBench() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 101;
        int ops = args.length > 1 ? Integer.parseInt(args[1]) : 20_000;
        Code code = code(mov(0, 0), mov(1, 16), add(0, 3), add(1, -1), jmp(io.kflex.isa.JumpOp.JNE, 1, 0, -3), exit());
        for (String engineName : new String[] {"jit", "interpreter"}) {
            Engine engine = Engines.named(engineName).orElseThrow();
            Executable program = engine.load(code, Bindings.of(HelperTable.empty()));
            // A fresh invocation per run, as hooks do (a late request must not hit a later run).
            AddressSpace memory = new AddressSpace();
            try (Watchdog watchdog = new Watchdog()) {
                ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> Thread.ofPlatform().daemon().unstarted(r));
                timer.setRemoveOnCancelPolicy(true);
                Map<String, Variant> variants = new LinkedHashMap<>();
                variants.put("unwatched", () -> check(program.run(new Invocation(memory))));
                variants.put("epoch ticker", () -> {
                    Invocation invocation = new Invocation(memory);
                    try (Watchdog.Watch w = watchdog.watch(invocation, BUDGET)) {
                        check(program.run(invocation));
                    }
                });
                variants.put("timer task", () -> {
                    Invocation invocation = new Invocation(memory);
                    ScheduledFuture<?> f = timer.schedule(() -> invocation.requestCancel("budget"), BUDGET.toNanos(), TimeUnit.NANOSECONDS);
                    try {
                        check(program.run(invocation));
                    } finally {
                        f.cancel(false);
                    }
                });
                // The registration alone, without a program: its cost with less noise around it.
                Invocation idle = new Invocation(memory);
                variants.put("ticker alone", () -> watchdog.watch(idle, BUDGET).close());
                variants.put("timer alone", () -> timer.schedule(() -> idle.requestCancel("budget"), BUDGET.toNanos(), TimeUnit.NANOSECONDS).cancel(false));
                Map<String, double[]> samples = new LinkedHashMap<>();
                variants.keySet().forEach(k -> samples.put(k, new double[rounds]));
                for (int warm = 0; warm < 3; warm++) for (Variant v : variants.values()) time(v, ops);
                for (int round = 0; round < rounds; round++) {
                    for (var e : variants.entrySet()) samples.get(e.getKey())[round] = time(e.getValue(), ops);
                }
                timer.shutdownNow();
                double base = median(samples.get("unwatched"));
                System.out.printf("%s engine, median of %d rounds of %,d invocations:%n", engineName, rounds, ops);
                for (var e : samples.entrySet()) {
                    double m = median(e.getValue());
                    if (e.getKey().endsWith("alone")) System.out.printf("  %-13s %8.1f ns/registration%n", e.getKey(), m);
                    else System.out.printf("  %-13s %8.1f ns/invocation  (+%.1f ns)%n", e.getKey(), m, m - base);
                }
                if (cancelled > 0) System.out.printf("  (%d runs exceeded the 10 ms budget: the machine is loaded)%n", cancelled);
                cancelled = 0;
            }
        }
    }

    @FunctionalInterface
    private interface Variant {
        void run();
    }

    /** Runs cancelled because the thread was descheduled past the budget (a loaded machine). */
    private static long cancelled;

    private static void check(Outcome o) {
        switch (o) {
            case Outcome.Returned r when r.r0() == 48 -> { }
            case Outcome.Cancelled c -> cancelled++;
            default -> throw new IllegalStateException("unexpected " + o);
        }
    }

    private static double time(Variant v, int ops) {
        long start = System.nanoTime();
        for (int i = 0; i < ops; i++) v.run();
        return (System.nanoTime() - start) / (double) ops;
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
