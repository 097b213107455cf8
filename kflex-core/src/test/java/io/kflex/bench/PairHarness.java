package io.kflex.bench;

import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.heap.Heap;
import io.kflex.jit.JitEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Looks for what moves a column's time between runs of {@code kflex bench} (a tool, no
 * assertions): the same engine timed on several fresh heaps (each in its own runtime, as the
 * table's columns are), the heap mapping's huge pages from {@code /proc/self/smaps}, then the
 * paired JIT / uninstrumented-JIT ratio over one heap with a loop per column and with one shared
 * loop. Run {@code main} with the test classpath from the checkout:
 * {@code java -cp kflex-core/target/classes:kflex-core/target/test-classes io.kflex.bench.PairHarness [suite] [heaps]}.
 */
public final class PairHarness {
    private PairHarness() {}

    public static void main(String[] args) throws Exception {
        String suite = args.length > 0 ? args[0] : "listwalk-65536";
        int heaps = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        Workload w = Workloads.named(suite).orElseThrow();
        Path objects = Path.of("extensions/objects");
        Measure.Settings settings = Measure.Settings.standard();
        Engine jit = Engines.named("jit").orElseThrow(), bare = JitEngine.uninstrumentedForMeasurementOnly();

        if (args.length > 2 && args[2].equals("trips")) {
            // The instrumentation's paired cost on the hash-mix loop at several trip counts: a per-run
            // difference shrinks with the count, a per-iteration one does not.
            for (int iters : new int[] {100, 1000, 10_000, 100_000}) {
                PairedComparison.Result r = PairedComparison.run(Workloads.hashMix(iters), objects, jit, bare, Measure.Settings.paired(), heaps);
                PairedStats st = r.pooled();
                System.out.printf(Locale.ROOT, "hashmix-%-7d jit %10.1f  bare %10.1f ns/run  ratio %.4f  95%% %.4f-%.4f  loads %s%n", iters,
                        st.medianA(), st.medianB(), st.median(), st.ciLow(), st.ciHigh(),
                        r.perLoad().stream().map(l -> String.format(Locale.ROOT, "%.3f", l.median())).toList());
            }
            return;
        }
        if (args.length > 2 && args[2].equals("pollution")) {
            pollution(w, objects, jit);
            return;
        }
        if (args.length > 2 && args[2].equals("aa")) {
            aa(w, objects, jit, args.length > 3 ? Integer.parseInt(args[3]) : 20);
            return;
        }
        System.out.println("THP: " + Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).strip());
        if (args.length > 2 && args[2].equals("pages")) {
            pages(w, objects, jit, bare);
            return;
        }
        java.lang.foreign.MemorySegment javaNodes = java.lang.foreign.Arena.ofAuto().allocate(16L * 65_536, 16);
        javaNodes.fill((byte) 1);
        System.out.println("plain Java's list memory: " + mapping(javaNodes.address()));
        System.out.println("-- each on a fresh heap in its own runtime (as the table's columns)");
        for (int i = 0; i < heaps; i++) {
            for (Engine e : List.of(jit, bare)) {
                try (KflexTarget t = KflexTarget.open(w, objects, e)) {
                    Measure.Result r = Measure.measure(t::run, settings);
                    System.out.printf(Locale.ROOT, "%-20s %10.1f ns/run  %s%n", e.name(), r.medianNs(), heapMapping(t));
                }
            }
        }
        System.out.println("-- paired over one heap");
        for (int i = 0; i < 2; i++) {
            try (KflexTarget.Pair p = KflexTarget.openPair(w, objects, jit, bare)) {
                Measure.Paired own = Measure.measurePaired(p.a()::run, p.b()::run, settings);
                print("loop per column", own);
                RunLoop shared = RunLoop.shared();
                Measure.Paired one = Measure.measurePaired(p.a()::run, p.b()::run, settings, shared, shared);
                print("one shared loop", one);
                System.out.println("   heap: " + heapMapping(p.a()));
            }
        }
    }

    /**
     * The cost of one measuring loop shared by the columns: the JIT against itself (one program,
     * one invocation), timed in a loop that first ran the interpreter's and plain Java's runs of
     * the suite (its call site then has seen three receiver types, as the table's shared loop
     * had) against a fresh loop.
     */
    private static void pollution(Workload w, Path objects, Engine jit) {
        Measure.Settings s = Measure.Settings.paired();
        for (int i = 0; i < 2; i++) {
            RunLoop shared = RunLoop.shared();
            try (KflexTarget interp = KflexTarget.open(w, objects, Engines.named("interpreter").orElseThrow());
                 KflexTarget t = KflexTarget.open(w, objects, jit)) {
                Measure.measure(interp::run, Measure.Settings.quick().withRounds(3, java.time.Duration.ofMillis(300)), shared);
                Workload.PlainJava plain = w.plainJava().get();
                Measure.measure(plain::run, Measure.Settings.quick().withRounds(3, java.time.Duration.ofMillis(300)), shared);
                print("shared / fresh loop", Measure.measurePaired(t::run, t::run, s, shared, RunLoop.fresh()));
            }
        }
    }

    /** Page size policy only: each column's list memory in /proc/self/smaps, after a run. */
    private static void pages(Workload w, Path objects, Engine jit, Engine bare) throws IOException {
        System.out.println("THP: " + Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled")).strip());
        try (KflexTarget.Pair p = KflexTarget.openPair(w, objects, jit, bare)) {
            System.out.println("jit and jit-uninstrumented (one heap): " + heapMapping(p.a()));
        }
        try (KflexTarget t = KflexTarget.open(w, objects, Engines.named("interpreter").orElseThrow())) {
            System.out.println("interpreter: " + heapMapping(t));
        }
        java.lang.foreign.MemorySegment javaNodes = java.lang.foreign.Arena.ofAuto().allocate(16L * 65_536, 16);
        javaNodes.fill((byte) 1);
        System.out.println("plain Java (Arena.ofAuto().allocate, as PlainJavaWorkloads.listWalk): " + mapping(javaNodes.address()));
    }

    /** A/A: the JIT against itself, on one heap and on two heaps; rounds of {@code roundMs}. */
    private static void aa(Workload w, Path objects, Engine jit, int roundMs) throws IOException {
        Measure.Settings s = Measure.Settings.paired().withRounds(2000 / roundMs, java.time.Duration.ofMillis(roundMs));
        for (int i = 0; i < 3; i++) {
            try (KflexTarget.Pair p = KflexTarget.openPair(w, objects, jit, jit)) {
                print("A/A one program", Measure.measurePaired(p.a()::run, p.a()::run, s));
                print("A/A two loads", Measure.measurePaired(p.a()::run, p.b()::run, s));
            }
        }
        for (int i = 0; i < 2; i++) {
            try (KflexTarget x = KflexTarget.open(w, objects, jit); KflexTarget y = KflexTarget.open(w, objects, jit)) {
                print("A/A two heaps", Measure.measurePaired(x::run, y::run, s));
                System.out.println("   " + heapMapping(x) + " / " + heapMapping(y));
            }
        }
    }

    private static void print(String what, Measure.Paired p) {
        PairedStats s = p.ratio();
        System.out.printf(Locale.ROOT, "%-16s jit %9.1f  bare %9.1f ns/run  ratio %.4f  IQR %.4f-%.4f  95%% %.4f-%.4f%n", what,
                s.medianA(), s.medianB(), s.median(), s.q1(), s.q3(), s.ciLow(), s.ciHigh());
    }

    /** The heap's mapping in /proc/self/smaps: its start, Rss and AnonHugePages. */
    static String heapMapping(KflexTarget t) throws IOException {
        Heap heap = t.program().extension().maps().heap();
        return heap == null ? "no heap" : mapping(heap.segment().address());
    }

    /** The mapping holding {@code address} in /proc/self/smaps: its start, Rss and AnonHugePages. */
    static String mapping(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            String l = lines.get(i);
            if (!Character.isLetterOrDigit(l.charAt(0)) || !l.contains("-") || l.indexOf(':') > 0 && l.indexOf(':') < l.indexOf(' ')) continue;
            String[] range = l.split(" ")[0].split("-");
            long from = Long.parseUnsignedLong(range[0], 16), to = Long.parseUnsignedLong(range[1], 16);
            if (Long.compareUnsigned(address, from) < 0 || Long.compareUnsigned(address, to) >= 0) continue;
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "heap 0x%x", address));
            for (int j = i + 1; j < lines.size() && lines.get(j).contains(":") && !lines.get(j).matches("^[0-9a-f]+-.*"); j++) {
                String f = lines.get(j);
                if (f.startsWith("Rss:") || f.startsWith("AnonHugePages:") || f.startsWith("THPeligible:")) {
                    sb.append(", ").append(f.replaceAll("\\s+", " "));
                }
            }
            return sb.toString();
        }
        return String.format(Locale.ROOT, "heap 0x%x not in smaps", address);
    }
}
