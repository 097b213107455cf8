package io.kflex.runtime;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.TailCallable;
import io.kflex.helpers.HelperTable;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import io.kflex.heap.Heap;
import io.kflex.maps.BpfMap;
import io.kflex.maps.BpfProgArray;
import io.kflex.maps.MapSet;
import io.kflex.runtime.events.ProgramLoadedEvent;
import io.kflex.runtime.events.VerificationFailedEvent;
import io.kflex.verifier.VerificationException;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An opened object file inside a runtime: its maps (created when it was opened, shared by all of
 * its programs and by the host through {@link #maps()}), and the programs loaded from it so far.
 * Loading a program verifies it, rewrites its context accesses and prepares it with the runtime's
 * engine; a program that tail-calls through a prog array has the programs the object stores there
 * loaded with it. Closing the extension unloads its programs and frees its maps.
 */
public final class Extension implements AutoCloseable {
    private final KFlexRuntime runtime;
    private final ExtensionObject object;
    private final MapSet maps;
    private final HelperTable helpers;
    private final Map<String, LoadedProgram> loaded = new LinkedHashMap<>();
    /** Programs loaded with another engine ({@link #loadWith}): unloaded with the extension. */
    private final List<LoadedProgram> alsoLoaded = new ArrayList<>();
    private boolean closed;
    private volatile Duration budget;
    private volatile CancellationPolicy policy;

    Extension(KFlexRuntime runtime, ExtensionObject object, MapSet maps, HelperTable helpers) {
        this.runtime = runtime;
        this.object = object;
        this.maps = maps;
        this.helpers = helpers;
    }

    public KFlexRuntime runtime() { return runtime; }

    public ExtensionObject object() { return object; }

    /**
     * The time budget of one invocation of this extension's programs when the hook gives none: the
     * one set with {@link #budget(Duration)}, else the runtime's default.
     */
    public Duration budget() {
        Duration b = budget;
        return b != null ? b : runtime.defaultBudget();
    }

    /** Sets this extension's budget per invocation (null: the runtime's default again); returns this. */
    public Extension budget(Duration budget) {
        if (budget != null && (budget.isNegative() || budget.isZero())) throw new IllegalArgumentException("budget must be positive");
        this.budget = budget;
        return this;
    }

    /** What a cancellation does to this extension's programs: the one set here, else the runtime's. */
    public CancellationPolicy policy() {
        CancellationPolicy p = policy;
        return p != null ? p : runtime.policy();
    }

    /** Sets this extension's cancellation policy (null: the runtime's again); returns this. */
    public Extension policy(CancellationPolicy policy) {
        this.policy = policy;
        return this;
    }

    /** The object's maps, in the object's index order; the host reads and writes them here. */
    public MapSet maps() { return maps; }

    /**
     * Verifies and prepares the program called {@code name} (once; later calls return the same
     * program).
     *
     * @throws LoadException when the object has no such program
     * @throws VerificationException when the verifier rejects it (or a program it tail-calls)
     * @throws EngineException when the engine cannot prepare it
     */
    public synchronized LoadedProgram load(String name) throws LoadException, VerificationException, EngineException {
        if (closed) throw new IllegalStateException("extension " + object.name() + " is closed");
        LoadedProgram existing = loaded.get(name);
        if (existing != null && !existing.unloaded()) return existing;
        Program program = object.program(name);
        LoadedProgram p = prepare(program);
        loaded.put(name, p);
        // Tail calls reach the programs the object stores in its prog arrays: load them too, as
        // libbpf loads every program of an object before the first one runs.
        for (var slots : maps.programSlots().values()) {
            for (String target : slots.values()) {
                LoadedProgram t = loaded.get(target);
                if (t == null || t.unloaded()) load(target);
            }
        }
        fillProgramArrays();
        return p;
    }

    /**
     * Verifies {@code name} again and prepares it with {@code engine} instead of the runtime's,
     * over this extension's maps and heap: two engines then run the very same data (the same heap
     * objects at the same addresses), which is what comparing engines fairly needs. The program is
     * not one of {@link #programs()} (and prog arrays never reach it); closing the extension
     * unloads it too.
     *
     * @throws LoadException when the object has no such program
     * @throws VerificationException when the verifier rejects it
     * @throws EngineException when {@code engine} cannot prepare it
     */
    public synchronized LoadedProgram loadWith(String name, Engine engine)
            throws LoadException, VerificationException, EngineException {
        if (closed) throw new IllegalStateException("extension " + object.name() + " is closed");
        LoadedProgram p = prepare(object.program(name), engine);
        alsoLoaded.add(p);
        return p;
    }

    /** Loads every program of the object, in order. */
    public List<LoadedProgram> loadAll() throws LoadException, VerificationException, EngineException {
        List<LoadedProgram> all = new ArrayList<>();
        for (Program p : object.programs()) all.add(load(p.name()));
        return all;
    }

    /** Programs loaded so far and not unloaded, by name. */
    public synchronized Map<String, LoadedProgram> programs() {
        Map<String, LoadedProgram> live = new LinkedHashMap<>();
        loaded.forEach((k, v) -> { if (!v.unloaded()) live.put(k, v); });
        return live;
    }

    private LoadedProgram prepare(Program program) throws VerificationException, EngineException {
        return prepare(program, runtime.engine());
    }

    private LoadedProgram prepare(Program program, Engine engine) throws VerificationException, EngineException {
        var sourceLines = program.sourceLines();
        VerifierOptions options = VerifierOptions.defaults().withSourceLines(sourceLines);
        VerifiedProgram verified;
        try {
            verified = Verifier.verify(program.code(), program.type(), object.mapSpecs(), options);
        } catch (VerificationException e) {
            VerificationFailedEvent event = new VerificationFailedEvent();
            if (event.shouldCommit()) {
                event.object = object.name();
                event.program = program.name();
                event.instruction = e.pc();
                event.rule = String.valueOf(e.rule());
                event.message = e.getMessage();
                event.commit();
            }
            throw e;
        }
        // From here on the facts describe the code that runs, its context loads rewritten (so the
        // rewrite below returns that code as it is).
        verified = ContextRewriter.rewritten(verified, ContextLayout.of(program.type()));

        ContextLayout layout = ContextLayout.of(program.type());
        var code = ContextRewriter.rewrite(verified, layout);
        Bindings bindings = new Bindings(helpers, maps).withVerified(verified);
        Heap heap = maps.heap();
        if (heap != null) bindings = bindings.withHeap(heap);
        Executable executable = engine.load(code, bindings);
        ProgramLoadedEvent event = new ProgramLoadedEvent();
        if (event.shouldCommit()) {
            event.object = object.name();
            event.program = program.name();
            event.engine = engine.name();
            event.processedInstructions = verified.processedInstructions();
            event.cancellationPoints = verified.cancellationPoints().size();
            event.guardsNeeded = verified.guardsNeeded();
            event.guardsElided = verified.guardsElided();
            event.commit();
        }
        return new LoadedProgram(this, program, sourceLines, verified, executable, layout);
    }

    /**
     * Stores every loaded program into the prog-array slots the object names it in, so tail calls
     * reach it. Slots naming programs not loaded yet stay empty (a tail call to them fails, as in
     * Linux before the slot is set).
     */
    private void fillProgramArrays() {
        maps.programSlots().forEach((mapName, slots) -> {
            BpfProgArray array = (BpfProgArray) maps.byName(mapName);
            slots.forEach((index, programName) -> {
                LoadedProgram target = loaded.get(programName);
                if (target != null && !target.unloaded() && target.executable() instanceof TailCallable t && array.get(index) == null) {
                    array.set(index, t);
                }
            });
        });
    }

    /** Unloads {@code program}: later invocations do not run it, and prog arrays no longer reach it. */
    synchronized void unload(LoadedProgram program) {
        program.unload();
        for (BpfMap m : maps.all()) {
            if (!(m instanceof BpfProgArray array)) continue;
            for (int i = 0; i < m.spec().maxEntries(); i++) {
                if (array.get(i) == program.executable()) array.set(i, null);
            }
        }
    }

    /** Unloads every program and frees the maps. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (LoadedProgram p : loaded.values()) p.unload();
        for (LoadedProgram p : alsoLoaded) p.unload();
        maps.close();
        runtime.forget(this);
    }
}
