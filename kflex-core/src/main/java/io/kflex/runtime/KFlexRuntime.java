package io.kflex.runtime;

import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.engine.SharedRegions;
import io.kflex.helpers.HelperTable;
import io.kflex.hooks.HostSockets;
import io.kflex.loader.ExtensionObject;
import io.kflex.helpers.Kfuncs;
import io.kflex.loader.KfuncResolver;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.isa.Code;
import io.kflex.maps.MapException;
import io.kflex.maps.MapSet;
import io.kflex.maps.MapTable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The host side of kflex: one engine, one table of maps and shared memory, one watchdog, and the
 * extensions opened in it. The entry point of the Java API:
 *
 * <pre>{@code
 * try (KFlexRuntime runtime = KFlexRuntime.builder().engine("jit").build();
 *      Extension ext = runtime.open(Path.of("counter.bpf.o"))) {
 *     LoadedProgram prog = ext.load("count");
 *     TestRunResult r = prog.testRun(TestRun.once().withContext(args));
 * }
 * }</pre>
 */
public final class KFlexRuntime implements AutoCloseable {
    /** A packet hook's default budget per invocation (DESIGN §6). */
    public static final Duration DEFAULT_BUDGET = Duration.ofMillis(10);

    private final Engine engine;
    private final MapTable maps;
    private final Watchdog watchdog;
    private final Duration defaultBudget;
    private final CancellationPolicy policy;
    private final HelperTable helpers;
    private final KfuncResolver kfuncs;
    private final List<Extension> extensions = new ArrayList<>();
    private final HostSockets sockets = new HostSockets();
    /** Linux's {@code kernel.bpf_stats_enabled}: whether invocations measure their run time. */
    private volatile boolean runTimeStats;

    private KFlexRuntime(Builder b) {
        this.engine = b.engine;
        this.watchdog = new Watchdog(b.tick);
        this.defaultBudget = b.budget;
        this.policy = b.policy;
        this.maps = new MapTable(new SharedRegions(), b.cpus);
        this.maps.heapPolicy(b.heapPolicy);
        this.kfuncs = Kfuncs.resolver();
        this.helpers = RuntimeHelpers.shared(maps, sockets);
        this.runTimeStats = b.runTimeStats;
    }

    /** The system property that turns {@link #runTimeStatsEnabled run-time statistics} on for new runtimes ({@code true}). */
    public static final String RUN_TIME_STATS_PROPERTY = "kflex.bpf_stats_enabled";

    /**
     * Whether invocations measure their run time into {@link ProgramStats#runTimeNs()}, like
     * Linux's {@code kernel.bpf_stats_enabled}. Off by default (as in Linux): reading the clock
     * twice per invocation costs more than a short program's run. Run counts, cancellations and
     * faults are counted either way, and test runs ({@link LoadedProgram#testRun}) always measure
     * their duration.
     */
    public boolean runTimeStatsEnabled() { return runTimeStats; }

    /** Turns run-time statistics on or off for every program of this runtime, from the next invocation on. */
    public void enableRunTimeStats(boolean enabled) { this.runTimeStats = enabled; }

    public static Builder builder() { return new Builder(); }

    public Engine engine() { return engine; }

    public MapTable maps() { return maps; }

    public Watchdog watchdog() { return watchdog; }

    public Duration defaultBudget() { return defaultBudget; }

    public CancellationPolicy policy() { return policy; }

    /** The host sockets extensions can look up ({@code bpf_sk_lookup_*}); hooks register theirs here. */
    public HostSockets sockets() { return sockets; }

    /** How the loader resolves {@code __ksym} externs: the host's kfuncs by name. */
    public KfuncResolver kfuncs() { return kfuncs; }

    /** Opens the object file at {@code path}: loads it and creates its maps (no program is loaded yet). */
    public Extension open(Path path) throws LoadException {
        return open(ExtensionObject.open(path, kfuncs));
    }

    /** Opens an object given as bytes ({@code name} is used in messages). */
    public Extension open(byte[] bytes, String name) throws LoadException {
        return open(ExtensionObject.parse(bytes, name, kfuncs));
    }

    /**
     * Opens a program given as instructions rather than an object file (like {@code bpf_prog_load}
     * with raw instructions): one program named {@code name} of {@code type}, no maps.
     */
    public Extension open(String name, ProgramType type, Code code) throws LoadException {
        Program program = new Program(name, type.name().toLowerCase(java.util.Locale.ROOT), type, code, List.of(), List.of(), List.of());
        return open(new ExtensionObject(name, List.of(program), List.of(), java.util.Optional.empty(), "GPL", java.util.Optional.empty()));
    }

    /** Opens an object already loaded with {@link ExtensionObject#open}: creates its maps and heap. */
    public synchronized Extension open(ExtensionObject object) throws LoadException {
        MapSet set;
        try {
            set = MapSet.create(maps, object.maps());
        } catch (MapException e) {
            throw new LoadException(object.name() + ": " + e.getMessage(), e);
        }
        Extension extension = new Extension(this, object, set, RuntimeHelpers.forExtension(helpers, set));
        extensions.add(extension);
        return extension;
    }

    synchronized void forget(Extension extension) {
        extensions.remove(extension);
    }

    /** Closes every extension still open and stops the watchdog. */
    @Override
    public void close() {
        List<Extension> open;
        synchronized (this) {
            open = new ArrayList<>(extensions);
        }
        for (Extension e : open) e.close();
        watchdog.close();
    }

    public static final class Builder {
        private Engine engine = engineNamed("jit");
        private Duration tick = Watchdog.DEFAULT_TICK;
        private Duration budget = DEFAULT_BUDGET;
        private CancellationPolicy policy = CancellationPolicy.UNLOAD;
        private int cpus = Runtime.getRuntime().availableProcessors();
        private java.util.function.UnaryOperator<io.kflex.heap.HeapConfig> heapPolicy = java.util.function.UnaryOperator.identity();
        private boolean runTimeStats = Boolean.getBoolean(RUN_TIME_STATS_PROPERTY);

        private Builder() {}

        /**
         * Whether invocations measure their run time from the start ({@link KFlexRuntime#runTimeStatsEnabled});
         * defaults to the system property {@value KFlexRuntime#RUN_TIME_STATS_PROPERTY}, else off.
         */
        public Builder runTimeStats(boolean enabled) {
            this.runTimeStats = enabled;
            return this;
        }

        /** The engine by name ({@code interpreter} or {@code jit}, the default). */
        public Builder engine(String name) {
            this.engine = engineNamed(name);
            return this;
        }

        public Builder engine(Engine engine) {
            this.engine = Objects.requireNonNull(engine);
            return this;
        }

        /** The default time budget of one invocation. */
        public Builder budget(Duration budget) {
            if (budget.isNegative() || budget.isZero()) throw new IllegalArgumentException("budget must be positive");
            this.budget = budget;
            return this;
        }

        /** How often the watchdog checks budgets ({@link Watchdog#DEFAULT_TICK}); budgets are as precise as this. */
        public Builder watchdogTick(Duration tick) {
            if (tick.compareTo(Duration.ofNanos(10_000)) < 0) throw new IllegalArgumentException("watchdog tick must be at least 10 µs");
            this.tick = tick;
            return this;
        }

        public Builder policy(CancellationPolicy policy) {
            this.policy = Objects.requireNonNull(policy);
            return this;
        }

        /** Slots of per-CPU maps (hook threads); defaults to the available processors. */
        public Builder cpus(int cpus) {
            if (cpus < 1) throw new IllegalArgumentException("cpus must be at least 1");
            this.cpus = cpus;
            return this;
        }

        /**
         * Adjusts every extension heap beyond what its object declares, e.g.
         * {@code c -> c.withChecked(true).withMemoryLimit(64 << 20)} (checked mode: every heap
         * access must hit an allocated page, else the extension faults at that instruction).
         */
        public Builder heapPolicy(java.util.function.UnaryOperator<io.kflex.heap.HeapConfig> policy) {
            this.heapPolicy = Objects.requireNonNull(policy);
            return this;
        }

        public KFlexRuntime build() { return new KFlexRuntime(this); }

        private static Engine engineNamed(String name) {
            return Engines.named(name).orElseThrow(() -> new IllegalArgumentException(
                    "unknown engine '" + name + "' (available: " + Engines.available().stream().map(Engine::name).toList() + ")"));
        }
    }
}
