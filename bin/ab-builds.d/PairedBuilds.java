import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Two builds of kflex-core in one JVM, each in its own class loader, running the same suite's
 * target on the JIT in alternating rounds timed by the thread's CPU time (see bin/ab-builds).
 * Prints each build's median time per run and the median of the per-round ratios B/A with its
 * quartiles: the two builds see the same machine at the same moments, so the ratio resolves a few
 * percent where separate runs cannot.
 *
 * <p>Arguments: buildA buildB suite rounds frame objectsDir targetClassesDir libDir.
 */
public final class PairedBuilds {
    private static final long WARM_UP_NANOS = 6_000_000_000L;
    /** Runs per round: never so few that the CPU clock's own cost shows (it did below a few hundred). */
    private static final int MIN_RUNS = 20_000, MAX_RUNS = 200_000;
    /** Aimed length of one build's half of a round. */
    private static final long ROUND_NANOS = 10_000_000L;

    public static void main(String[] args) throws Exception {
        if (args.length != 8) throw new IllegalArgumentException("usage: buildA buildB suite rounds frame objects targetClasses lib");
        String suite = args[2], frame = args[4], objects = args[5];
        int rounds = Integer.parseInt(args[3]);
        LongSupplier a = target(Path.of(args[0]), suite, frame, objects, Path.of(args[6]), Path.of(args[7]));
        LongSupplier b = target(Path.of(args[1]), suite, frame, objects, Path.of(args[6]), Path.of(args[7]));
        long sink = 0;
        for (long end = System.nanoTime() + WARM_UP_NANOS; System.nanoTime() < end; ) {
            for (int i = 0; i < 2_000; i++) sink += a.getAsLong() + b.getAsLong();
        }
        long start = System.nanoTime();
        for (int i = 0; i < MIN_RUNS; i++) sink += a.getAsLong();
        long perRun = Math.max(1, (System.nanoTime() - start) / MIN_RUNS);
        int runs = (int) Math.max(MIN_RUNS, Math.min(MAX_RUNS, ROUND_NANOS / perRun));

        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        double[] timesA = new double[rounds], timesB = new double[rounds], ratios = new double[rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < 2; k++) {
                boolean first = (k == 0) == (r % 2 == 0); // A first in even rounds, B first in odd ones
                LongSupplier s = first ? a : b;
                long t0 = cpu.getCurrentThreadCpuTime();
                for (int i = 0; i < runs; i++) sink += s.getAsLong();
                double ns = (cpu.getCurrentThreadCpuTime() - t0) / (double) runs;
                if (first) timesA[r] = ns;
                else timesB[r] = ns;
            }
            ratios[r] = timesB[r] / timesA[r];
        }
        Arrays.sort(timesA);
        Arrays.sort(timesB);
        Arrays.sort(ratios);
        System.out.printf("%s (%s): A %.1f ns, B %.1f ns per run; B/A %.3f (quartiles %.3f-%.3f; %d rounds of %d runs)%n",
                suite, frame, timesA[rounds / 2], timesB[rounds / 2], ratios[rounds / 2], ratios[rounds / 4], ratios[3 * rounds / 4],
                rounds, runs);
        if (sink == 42) System.out.println(); // keeps the runs' results alive
    }

    private static LongSupplier target(Path build, String suite, String frame, String objects, Path targetClasses, Path lib) throws Exception {
        Path classes = build.resolve("kflex-core/target/classes");
        if (!Files.isDirectory(classes)) throw new IllegalArgumentException(classes + " does not exist: compile that build first");
        List<URL> urls = new ArrayList<>(List.of(targetClasses.toUri().toURL(), classes.toUri().toURL()));
        try (var jars = Files.list(lib)) {
            for (Path jar : jars.toList()) {
                if (!jar.getFileName().toString().startsWith("kflex-")) urls.add(jar.toUri().toURL());
            }
        }
        ClassLoader loader = new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
        return (LongSupplier) loader.loadClass("BuildTarget").getConstructor(String.class, String.class, String.class)
                .newInstance(suite, objects, frame);
    }
}
