package io.kflex.cli;

import io.kflex.bench.BenchException;
import io.kflex.bench.KflexTarget;
import io.kflex.bench.Measure;
import io.kflex.bench.Workload;
import io.kflex.bench.Workloads;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.jit.JitEngine;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kflex bench}: the benchmark suites side by side in one process — interpreter, JIT, JIT
 * without instrumentation (measuring only), the algorithm in plain Java, and Linux's JIT on the
 * same object where root and {@code bpf()} allow. Progress on stderr, a table (or one JSON object
 * per row) on stdout. Exit status 1 when a run gave a wrong result.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Runs the benchmark suites on every engine, plain Java and Linux's JIT; prints medians and ratios.")
final class BenchCommand implements Callable<Integer> {
    /** The engine columns, in table order; "linux" is governed by --linux. */
    static final List<String> ENGINES = List.of("interpreter", "jit", JitEngine.UNINSTRUMENTED_NAME, "java", "linux");

    @Spec
    CommandSpec spec;

    @Option(names = "--suite", paramLabel = "NAME", description = "Suite to run (repeatable; default all): ${COMPLETION-CANDIDATES}",
            completionCandidates = SuiteNames.class)
    List<String> suites = new ArrayList<>();

    @Option(names = "--engine", paramLabel = "NAME",
            description = "Column to run (repeatable; default all): interpreter, jit, jit-uninstrumented, java, linux.")
    List<String> engines = new ArrayList<>();

    @Option(names = "--quick", description = "A short run (a few seconds): for checking that everything runs, not for numbers.")
    boolean quick;

    @Option(names = "--linux", paramLabel = "auto|off", defaultValue = "auto",
            description = "Time the same object in the Linux kernel (BPF_PROG_TEST_RUN) when root and bpf() work: auto (default) or off.")
    String linux;

    @Option(names = "--objects", paramLabel = "DIR", description = "Directory of the extension objects (default: extensions/objects of the checkout).")
    Path objects;

    @Option(names = "--clock", paramLabel = "cpu|wall", defaultValue = "cpu",
            description = "Time rounds by the thread's CPU time (default; robust on a shared machine) or by wall time.")
    String clock;

    @Option(names = "--json", description = "One JSON object per row on stdout.")
    boolean json;

    static final class SuiteNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Workloads.names().iterator();
        }
    }

    /** One cell of the table. */
    record Row(String suite, String engine, String status, double medianNs, double perUnitNs, String unit, long runs,
               String note) {
        boolean ok() { return status.equals("ok"); }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        List<Workload> selected = new ArrayList<>();
        for (String name : suites.isEmpty() ? Workloads.names() : suites) {
            var w = Workloads.named(name);
            if (w.isEmpty()) {
                err.println("kflex bench: unknown suite '" + name + "' (suites: " + String.join(", ", Workloads.names()) + ")");
                return Main.USAGE;
            }
            selected.add(w.get());
        }
        for (String e : engines) {
            if (!ENGINES.contains(e)) {
                err.println("kflex bench: unknown engine '" + e + "' (engines: " + String.join(", ", ENGINES) + ")");
                return Main.USAGE;
            }
        }
        if (!linux.equals("auto") && !linux.equals("off")) {
            err.println("kflex bench: --linux must be auto or off, not '" + linux + "'");
            return Main.USAGE;
        }
        Path home = Path.of(System.getProperty("kflex.home", "."));
        Path dir = objects != null ? objects : home.resolve("extensions/objects");
        for (Workload w : selected) {
            if (!Files.isRegularFile(dir.resolve(w.object()))) {
                err.println("kflex bench: no object " + dir.resolve(w.object()) + " (use --objects DIR)");
                return Main.USAGE;
            }
        }
        List<String> columns = ENGINES.stream().filter(e -> engines.isEmpty() || engines.contains(e)).toList();
        LinuxBench.Probe probe = !columns.contains("linux") ? null
                : linux.equals("off") ? new LinuxBench.Probe.Unavailable("--linux off")
                : LinuxBench.probe(home);
        if (!clock.equals("cpu") && !clock.equals("wall")) {
            err.println("kflex bench: --clock must be cpu or wall, not '" + clock + "'");
            return Main.USAGE;
        }
        Measure.Settings settings = (quick ? Measure.Settings.quick() : Measure.Settings.standard())
                .withClock(clock.equals("cpu") ? Measure.Clock.CPU : Measure.Clock.WALL);

        err.printf("kflex bench: %d suite(s) x %s%s%n", selected.size(), String.join(", ", columns),
                quick ? " (quick: numbers are not meaningful)" : "");
        List<Row> rows = new ArrayList<>();
        int total = selected.size() * columns.size(), done = 0;
        for (Workload w : selected) {
            double jitNs = Double.NaN;
            for (String column : columns) {
                done++;
                err.printf("[%d/%d] %-16s %-20s ", done, total, w.name(), column);
                err.flush();
                Row row = switch (column) {
                    case "java" -> timeJava(w, settings);
                    case "linux" -> timeLinux(w, dir, probe, jitNs, settings);
                    default -> timeEngine(w, dir, engine(column), settings);
                };
                if (column.equals("jit") && row.ok()) jitNs = row.medianNs();
                err.println(row.ok() ? formatNs(row.medianNs()) + " per run, " + formatNs(row.perUnitNs()) + " per " + row.unit()
                        : row.status() + ": " + row.note());
                rows.add(row);
            }
            // A suite's rows once all its columns are in, so that every row has its ratios.
            if (json) rows.stream().filter(r -> r.suite().equals(w.name())).forEach(r -> out.println(Json.object(jsonOf(r, rows))));
            out.flush();
        }
        if (!json) printTable(out, rows);
        if (probe instanceof LinuxBench.Probe.Unavailable u && !json) {
            out.println("note: Linux's JIT not measured: " + u.why());
        }
        out.flush();
        return rows.stream().anyMatch(r -> r.status().equals("failed")) ? Main.FAILED : Main.OK;
    }

    private static Engine engine(String name) {
        if (name.equals(JitEngine.UNINSTRUMENTED_NAME)) return JitEngine.uninstrumentedForMeasurementOnly();
        return Engines.named(name).orElseThrow(() -> new IllegalStateException("engine " + name + " is not registered"));
    }

    private static Row timeEngine(Workload w, Path dir, Engine engine, Measure.Settings settings) {
        try (KflexTarget target = KflexTarget.open(w, dir, engine)) {
            Measure.Result r = Measure.measure(target::run, settings);
            target.runChecked(); // the last run, after warm-up and C2, must still be right
            return row(w, engine.name(), r);
        } catch (BenchException e) {
            return new Row(w.name(), engine.name(), "failed", Double.NaN, Double.NaN, w.unit(), 0, e.getMessage());
        }
    }

    private static Row timeJava(Workload w, Measure.Settings settings) {
        Workload.PlainJava java = w.plainJava().get();
        long got = java.run();
        if (got != w.expectedRetval()) {
            return new Row(w.name(), "java", "failed", Double.NaN, Double.NaN, w.unit(), 0, "returned " + got + ", expected " + w.expectedRetval());
        }
        return row(w, "java", Measure.measure(java::run, settings));
    }

    private static Row timeLinux(Workload w, Path dir, LinuxBench.Probe probe, double jitNs, Measure.Settings settings) {
        if (!(probe instanceof LinuxBench.Probe.Available(LinuxBench bench))) {
            return new Row(w.name(), "linux", "skipped", Double.NaN, Double.NaN, w.unit(), 0,
                    ((LinuxBench.Probe.Unavailable) probe).why());
        }
        // About one round's worth of runs per round, as for the engines (estimated from the JIT).
        double estimate = Double.isNaN(jitNs) ? 10_000 : jitNs;
        int repeat = (int) Math.max(5, Math.min(1_000_000, settings.round().toNanos() / estimate));
        try {
            LinuxBench.Timing t = bench.time(w, dir, repeat, settings.rounds());
            if (t.retval() != w.expectedRetval()) {
                return new Row(w.name(), "linux", "failed", Double.NaN, Double.NaN, w.unit(), 0,
                        "returned " + t.retval() + ", expected " + w.expectedRetval());
            }
            return new Row(w.name(), "linux", "ok", t.medianNs(), t.medianNs() / w.unitsPerRun(), w.unit(),
                    (long) repeat * settings.rounds(), "");
        } catch (java.io.IOException e) {
            return new Row(w.name(), "linux", "skipped", Double.NaN, Double.NaN, w.unit(), 0, "Linux: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Row(w.name(), "linux", "skipped", Double.NaN, Double.NaN, w.unit(), 0, "interrupted");
        }
    }

    private static Row row(Workload w, String engine, Measure.Result r) {
        return new Row(w.name(), engine, "ok", r.medianNs(), r.medianNs() / w.unitsPerRun(), w.unit(), r.runs(), "");
    }

    /** The ratio of a row to the suite's row of {@code engine}, or NaN. */
    private static double ratio(Row row, List<Row> rows, String engine) {
        return rows.stream().filter(r -> r.suite().equals(row.suite()) && r.engine().equals(engine) && r.ok())
                .findFirst().map(r -> row.ok() ? row.medianNs() / r.medianNs() : Double.NaN).orElse(Double.NaN);
    }

    private static Map<String, Object> jsonOf(Row row, List<Row> rows) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("suite", row.suite());
        m.put("engine", row.engine());
        m.put("status", row.status());
        m.put("median_ns", row.ok() ? round(row.medianNs()) : null);
        m.put("ns_per_unit", row.ok() ? round(row.perUnitNs()) : null);
        m.put("unit", row.unit());
        m.put("runs", row.runs());
        double vsJit = ratio(row, rows, "jit"), vsLinux = ratio(row, rows, "linux");
        m.put("vs_jit", Double.isNaN(vsJit) ? null : round(vsJit));
        m.put("vs_linux", Double.isNaN(vsLinux) ? null : round(vsLinux));
        m.put("note", row.note());
        return m;
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    private static void printTable(PrintWriter out, List<Row> rows) {
        out.println();
        out.printf("%-16s %-20s %14s %14s %9s %9s%n", "suite", "engine", "median/run", "per unit", "vs jit", "vs linux");
        String last = null;
        for (Row row : rows) {
            if (last != null && !last.equals(row.suite())) out.println();
            last = row.suite();
            if (!row.ok()) {
                out.printf("%-16s %-20s %s%n", row.suite(), row.engine(), row.status() + ": " + row.note());
                continue;
            }
            out.printf("%-16s %-20s %14s %14s %9s %9s%n", row.suite(), row.engine(), formatNs(row.medianNs()),
                    formatNs(row.perUnitNs()) + "/" + abbreviate(row.unit()),
                    formatRatio(ratio(row, rows, "jit")), formatRatio(ratio(row, rows, "linux")));
        }
    }

    private static String abbreviate(String unit) {
        return switch (unit) {
            case "iteration" -> "iter";
            case "request" -> "req";
            default -> unit;
        };
    }

    static String formatNs(double ns) {
        if (Double.isNaN(ns)) return "-";
        if (ns >= 1e6) return String.format(Locale.ROOT, "%.2f ms", ns / 1e6);
        if (ns >= 1e4) return String.format(Locale.ROOT, "%.1f us", ns / 1e3);
        if (ns >= 100) return String.format(Locale.ROOT, "%.0f ns", ns);
        return String.format(Locale.ROOT, "%.2f ns", ns);
    }

    private static String formatRatio(double r) {
        return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
    }
}
