package io.kflex.bench;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfMap;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.PacketBuffer;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A workload's program loaded into its own runtime on one engine, ready to be run again and again
 * the way a hook runs it: {@link LoadedProgram#invoke} (watchdog budget, reclamation epoch,
 * statistics) in one address space whose context and packet are set up once, as a hook thread
 * reuses its buffers ({@link io.kflex.hooks.PacketHook}), and with an invocation of its own per
 * run, as the hook makes one per frame.
 */
public final class KflexTarget implements AutoCloseable {
    /** Far above any run of the suites: the watchdog never fires while timing. */
    private static final Duration BUDGET = Duration.ofSeconds(30);

    private final KFlexRuntime runtime;
    private final LoadedProgram program;
    private Invocation invocation;
    private final long expected;
    private final String label;

    private KflexTarget(KFlexRuntime runtime, LoadedProgram program, Invocation invocation, long expected, String label) {
        this.runtime = runtime;
        this.program = program;
        this.invocation = invocation;
        this.expected = expected;
        this.label = label;
    }

    /**
     * Opens the workload's object from {@code objects} in a new runtime on {@code engine}, fills
     * its maps, runs its setup programs and loads the timed program.
     *
     * @throws BenchException when the object cannot be loaded or a setup run goes wrong
     */
    public static KflexTarget open(Workload w, Path objects, Engine engine) {
        return openAll(w, objects, engine, List.of()).getFirst();
    }

    /**
     * Two targets over one set of maps and one heap: the workload's object opened once on
     * {@code a} (which runs the setup programs), its timed program loaded with {@code a} and
     * again with {@code b}. Both runs then read the same data at the same addresses — the same
     * list nodes in the same pages — so that only the engines differ. Closing the pair closes
     * both.
     *
     * @throws BenchException when the object cannot be loaded or a setup run goes wrong
     */
    public static Pair openPair(Workload w, Path objects, Engine a, Engine b) {
        List<KflexTarget> both = openAll(w, objects, a, List.of(b));
        return new Pair(both.get(0), both.get(1));
    }

    /** Two targets sharing a runtime (see {@link #openPair}); closing either closes the runtime. */
    public record Pair(KflexTarget a, KflexTarget b) implements AutoCloseable {
        @Override
        public void close() {
            a.close();
        }
    }

    private static List<KflexTarget> openAll(Workload w, Path objects, Engine engine, List<Engine> others) {
        KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).cpus(1).budget(BUDGET).build();
        try {
            Extension ext = runtime.open(objects.resolve(w.object()));
            for (Workload.MapFill fill : w.mapFills()) {
                BpfMap map = ext.maps().byName(fill.map());
                if (map == null) throw new BenchException(w.object() + " has no map " + fill.map());
                for (var e : fill.entries()) map.update(e.key(), e.value(), BpfMap.BPF_ANY);
            }
            for (Workload.SetupRun setup : w.setupRuns()) {
                TestRunResult r = ext.load(setup.program()).testRun(TestRun.once().withContext(setup.ctxIn()).withBudget(BUDGET));
                if (r.faulted() || r.cancelled() || r.retval() != (setup.expectedRetval() & 0xffff_ffffL)) {
                    throw new BenchException(w.name() + ": setup " + setup.program() + " gave " + r.outcome());
                }
            }
            List<KflexTarget> targets = new ArrayList<>();
            targets.add(target(runtime, ext.load(w.program()), w, engine));
            for (Engine other : others) targets.add(target(runtime, ext.loadWith(w.program(), other), w, other));
            return targets;
        } catch (BenchException e) {
            runtime.close();
            throw e;
        } catch (Exception e) {
            runtime.close();
            throw new BenchException(w.name() + " on " + engine.name() + ": " + e.getMessage(), e);
        }
    }

    private static KflexTarget target(KFlexRuntime runtime, LoadedProgram program, Workload w, Engine engine) {
        KflexTarget target = new KflexTarget(runtime, program, invocation(program, w), w.expectedRetval() & 0xffff_ffffL,
                w.name() + " on " + engine.name());
        target.runChecked();
        return target;
    }

    private static Invocation invocation(LoadedProgram program, Workload w) {
        AddressSpace memory = program.newAddressSpace();
        int size = program.type() == ProgramType.SYSCALL
                ? Math.max(w.ctxIn().length, io.kflex.verifier.ContextDescriptor.SYSCALL_BUFFER_SIZE)
                : Math.max(program.contextLayout().size(), 8);
        MemorySegment ctx = MemorySegment.ofArray(new long[(size + 7) / 8]);
        byte[] ctxIn = w.ctxIn();
        MemorySegment.copy(ctxIn, 0, ctx, ValueLayout.JAVA_BYTE, 0, ctxIn.length);
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx"));
        PacketBuffer packet = null;
        if (program.contextLayout().shadow("data") != null) {
            packet = new PacketBuffer(w.dataIn());
            packet.attach(memory, ctx, program.contextLayout());
        }
        return new Invocation(memory, ctxAddress).withHostContext(packet);
    }

    /** One run; returns r0 as {@code BPF_PROG_TEST_RUN} reports it (u32). */
    public long run() {
        Outcome outcome = program.invoke(nextInvocation(), BUDGET);
        return outcome instanceof Outcome.Returned r ? r.r0() & 0xffff_ffffL : -1;
    }

    /** One run that must return what the workload promises. */
    public long runChecked() {
        Outcome outcome = program.invoke(nextInvocation(), BUDGET);
        if (!(outcome instanceof Outcome.Returned r) || (r.r0() & 0xffff_ffffL) != expected) {
            throw new BenchException(label + ": expected retval " + expected + ", got " + outcome);
        }
        return r.r0();
    }

    public LoadedProgram program() { return program; }

    /** The first run's invocation: its address space, context and packet are what every run reuses. */
    public Invocation invocation() { return invocation; }

    /** A run's own invocation over the reused address space, context and packet (what {@link #run} invokes). */
    public Invocation nextInvocation() {
        return invocation.forNextRun();
    }

    @Override
    public void close() {
        runtime.close();
    }
}
