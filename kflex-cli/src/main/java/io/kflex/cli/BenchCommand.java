package io.kflex.cli;

import io.kflex.bench.BenchException;
import io.kflex.bench.KflexTarget;
import io.kflex.bench.Measure;
import io.kflex.bench.PairedComparison;
import io.kflex.bench.PairedStats;
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

    @Option(names = "--pair", paramLabel = "A,B",
            description = "Also compare kflex engines A and B (interpreter, jit, jit-uninstrumented) in interleaved rounds over one heap; "
                    + "the ratio A/B is the median of per-round-pair ratios with its spread (repeatable). "
                    + "With --pair and no --engine, only the pairs run.")
    List<String> pairs = new ArrayList<>();

    @Option(names = "--loads", paramLabel = "N", defaultValue = "4",
            description = "Independent loads (fresh heap, fresh compilation) per --pair, pooled (default 4; 2 with --quick).")
    int loads;

    @Option(names = "--fork", description = "Run each suite in a JVM of its own (as JMH forks do): what C2 made of one suite's "
            + "programs then does not shape another's. Progress and results as without it.")
    boolean fork;

    /** Set by a parent's --fork: the child writes its rows here (serialized) instead of printing them. */
    @Option(names = "--results-file", hidden = true)
    Path resultsFile;

    /** The kflex engines a --pair may name. */
    static final List<String> PAIRABLE = List.of("interpreter", "jit", JitEngine.UNINSTRUMENTED_NAME);

    static final class SuiteNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return Workloads.names().iterator();
        }
    }

    /** One --pair comparison of a suite: the ratio A / B, or why it was not measured. */
    record PairRow(String suite, String a, String b, String status, PairedComparison.Result result, String note)
            implements java.io.Serializable {
        boolean ok() { return status.equals("ok"); }
    }

    /** One cell of the table. */
    record Row(String suite, String engine, String status, double medianNs, double perUnitNs, String unit, long runs,
               String note) implements java.io.Serializable {
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
        List<String[]> pairList = new ArrayList<>();
        for (String p : pairs) {
            String[] ab = p.split(",", -1);
            if (ab.length != 2 || !PAIRABLE.contains(ab[0].strip()) || !PAIRABLE.contains(ab[1].strip())) {
                err.println("kflex bench: --pair takes two kflex engines A,B (of " + String.join(", ", PAIRABLE) + "), not '" + p + "'");
                return Main.USAGE;
            }
            pairList.add(new String[] {ab[0].strip(), ab[1].strip()});
        }
        if (loads < 1) {
            err.println("kflex bench: --loads must be at least 1, not " + loads);
            return Main.USAGE;
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
        List<String> columns = !pairList.isEmpty() && engines.isEmpty() ? List.of()
                : ENGINES.stream().filter(e -> engines.isEmpty() || engines.contains(e)).toList();
        LinuxBench.Probe probe = !columns.contains("linux") ? null
                : linux.equals("off") ? new LinuxBench.Probe.Unavailable("--linux off")
                : LinuxBench.probe(home);
        if (!clock.equals("cpu") && !clock.equals("wall")) {
            err.println("kflex bench: --clock must be cpu or wall, not '" + clock + "'");
            return Main.USAGE;
        }
        Measure.Settings settings = (quick ? Measure.Settings.quick() : Measure.Settings.standard())
                .withClock(clock.equals("cpu") ? Measure.Clock.CPU : Measure.Clock.WALL);

        Measure.Settings pairSettings = (quick ? Measure.Settings.pairedQuick() : Measure.Settings.paired())
                .withClock(settings.clock());
        int pairLoads = quick ? Math.min(loads, 2) : loads;

        List<String> header = new ArrayList<>(columns);
        for (String[] ab : pairList) header.add(ab[0] + "/" + ab[1] + " (paired)");
        err.printf("kflex bench: %d suite(s) x %s%s%n", selected.size(), String.join(", ", header),
                quick ? " (quick: numbers are not meaningful)" : "");
        List<Row> rows = new ArrayList<>();
        List<PairRow> pairRows = new ArrayList<>();
        int total = selected.size() * header.size(), done = 0;
        for (Workload w : selected) {
            if (fork) {
                Suite child = forked(w, err);
                if (child == null) return Main.USAGE;
                rows.addAll(child.rows());
                pairRows.addAll(child.pairs());
                emitJson(out, w, rows, pairRows);
                continue;
            }
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
            for (String[] ab : pairList) {
                done++;
                err.printf("[%d/%d] %-16s %-20s ", done, total, w.name(), ab[0] + "/" + ab[1]);
                err.flush();
                PairRow row = timePair(w, dir, ab[0], ab[1], pairSettings, pairLoads);
                err.println(row.ok() ? formatPair(row.result().pooled()) : row.status() + ": " + row.note());
                pairRows.add(row);
            }
            emitJson(out, w, rows, pairRows);
        }
        if (resultsFile != null) {
            // A parent's --fork child: the parent prints; the rows go back whole.
            try (var file = new java.io.ObjectOutputStream(Files.newOutputStream(resultsFile))) {
                file.writeObject(new Suite(List.copyOf(rows), List.copyOf(pairRows)));
            } catch (java.io.IOException e) {
                err.println("kflex bench: cannot write " + resultsFile + ": " + e.getMessage());
                return Main.USAGE;
            }
            return Main.OK;
        }
        if (!json && !rows.isEmpty()) printTable(out, rows);
        if (!json && !pairRows.isEmpty()) printPairs(out, pairRows, pairLoads, pairSettings);
        if (probe instanceof LinuxBench.Probe.Unavailable u && !json && !rows.isEmpty()) {
            out.println("note: Linux's JIT not measured: " + u.why());
        }
        out.flush();
        boolean failed = rows.stream().anyMatch(r -> r.status().equals("failed")) || pairRows.stream().anyMatch(r -> !r.ok());
        return failed ? Main.FAILED : Main.OK;
    }

    /** A suite's rows and pair rows, as a --fork child hands them back. */
    record Suite(List<Row> rows, List<PairRow> pairs) implements java.io.Serializable {}

    /** A suite's rows once all its columns are in, so that every row has its ratios (with --json; not in a --fork child). */
    private void emitJson(PrintWriter out, Workload w, List<Row> rows, List<PairRow> pairRows) {
        if (json && resultsFile == null) {
            rows.stream().filter(r -> r.suite().equals(w.name())).forEach(r -> out.println(Json.object(jsonOf(r, rows))));
            pairRows.stream().filter(r -> r.suite().equals(w.name())).forEach(r -> out.println(Json.object(jsonOf(r))));
        }
        out.flush();
    }

    /**
     * Runs suite {@code w} in a JVM of its own — this JVM's options and class path, this command's
     * options but --fork — which reports its progress on this one's stderr and hands its rows
     * back through a file. Null (after saying why) when the child could not run the suite.
     */
    private Suite forked(Workload w, PrintWriter err) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "bench", "--suite", w.name()));
        for (String e : engines) command.addAll(List.of("--engine", e));
        for (String p : pairs) command.addAll(List.of("--pair", p));
        command.addAll(List.of("--loads", Integer.toString(loads), "--linux", linux, "--clock", clock));
        if (quick) command.add("--quick");
        if (objects != null) command.addAll(List.of("--objects", objects.toString()));
        Path results = null;
        try {
            results = Files.createTempFile("kflex-bench-", ".results");
            command.addAll(List.of("--results-file", results.toString()));
            err.flush();
            Process child = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            int status = child.waitFor();
            if (status != Main.OK || Files.size(results) == 0) {
                err.println("kflex bench: the JVM of suite " + w.name() + " exited with status " + status);
                return null;
            }
            try (var file = new java.io.ObjectInputStream(Files.newInputStream(results))) {
                // Only what a child writes: this command's rows and what they hold.
                file.setObjectInputFilter(java.io.ObjectInputFilter.Config.createFilter(
                        "maxdepth=8;io.kflex.cli.BenchCommand$*;io.kflex.bench.*;java.util.*;java.lang.*;!*"));
                return (Suite) file.readObject();
            }
        } catch (java.io.IOException | ClassNotFoundException e) {
            err.println("kflex bench: cannot run suite " + w.name() + " in a JVM of its own: " + e.getMessage());
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("kflex bench: interrupted while suite " + w.name() + " ran in its own JVM");
            return null;
        } finally {
            if (results != null) {
                try {
                    Files.deleteIfExists(results);
                } catch (java.io.IOException ignored) {
                    // a temporary file left behind
                }
            }
        }
    }

    private static PairRow timePair(Workload w, Path dir, String a, String b, Measure.Settings settings, int loads) {
        try {
            return new PairRow(w.name(), a, b, "ok", PairedComparison.run(w, dir, engine(a), engine(b), settings, loads), "");
        } catch (BenchException e) {
            return new PairRow(w.name(), a, b, "failed", null, e.getMessage());
        }
    }

    private static String formatPair(PairedStats s) {
        return String.format(Locale.ROOT, "ratio %.4f (IQR %.4f-%.4f, 95%% %.4f-%.4f, %d round pairs)", s.median(), s.q1(), s.q3(),
                s.ciLow(), s.ciHigh(), s.pairs());
    }

    private static Map<String, Object> jsonOf(PairRow row) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", "pair");
        m.put("suite", row.suite());
        m.put("a", row.a());
        m.put("b", row.b());
        m.put("status", row.status());
        PairedStats s = row.ok() ? row.result().pooled() : null;
        m.put("ratio", s == null ? null : round4(s.median()));
        m.put("ratio_q1", s == null ? null : round4(s.q1()));
        m.put("ratio_q3", s == null ? null : round4(s.q3()));
        m.put("ratio_ci95_low", s == null ? null : round4(s.ciLow()));
        m.put("ratio_ci95_high", s == null ? null : round4(s.ciHigh()));
        m.put("a_median_ns", s == null ? null : round(s.medianA()));
        m.put("b_median_ns", s == null ? null : round(s.medianB()));
        m.put("loads", row.ok() ? row.result().perLoad().size() : 0);
        m.put("round_pairs", s == null ? 0 : s.pairs());
        m.put("load_ratios", row.ok() ? row.result().perLoad().stream().map(l -> (Object) round4(l.median())).toList() : List.of());
        m.put("note", row.note());
        return m;
    }

    private static double round4(double v) {
        return Math.round(v * 10_000) / 10_000.0;
    }

    private static void printPairs(PrintWriter out, List<PairRow> rows, int loads, Measure.Settings settings) {
        out.println();
        out.printf(Locale.ROOT, "paired A/B: median of per-round-pair ratios A/B; %d loads x %d round pairs of %d ms, interleaved over one heap%n",
                loads, settings.rounds(), settings.round().toMillis());
        out.printf("%-16s %-31s %8s %17s %17s  %s%n", "suite", "A / B", "ratio", "IQR", "95% interval", "per load");
        for (PairRow row : rows) {
            String ab = row.a() + " / " + row.b();
            if (!row.ok()) {
                out.printf("%-16s %-31s %s%n", row.suite(), ab, row.status() + ": " + row.note());
                continue;
            }
            PairedStats s = row.result().pooled();
            out.printf(Locale.ROOT, "%-16s %-31s %8.4f %17s %17s  %s%n", row.suite(), ab, s.median(),
                    String.format(Locale.ROOT, "%.4f-%.4f", s.q1(), s.q3()), String.format(Locale.ROOT, "%.4f-%.4f", s.ciLow(), s.ciHigh()),
                    String.join(" ", row.result().perLoad().stream().map(l -> String.format(Locale.ROOT, "%.3f", l.median())).toList()));
        }
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
        if (w.linuxNote() != null) return new Row(w.name(), "linux", "skipped", Double.NaN, Double.NaN, w.unit(), 0, w.linuxNote());
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
