package io.kflex.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The state of one run of an extension: its address space (context, packet, stack), its initial
 * argument registers, and the cancellation request a watchdog may raise while it runs. Confined to
 * the running thread except for {@link #requestCancel}, which any thread may call.
 */
public final class Invocation {
    private static final VarHandle CANCEL, RUN_ENDED;

    static {
        try {
            CANCEL = MethodHandles.lookup().findVarHandle(Invocation.class, "cancelReason", String.class);
            RUN_ENDED = MethodHandles.lookup().findVarHandle(Invocation.class, "runEnded", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final AddressSpace memory;
    private final long[] arguments;
    @SuppressWarnings("unused") // accessed through CANCEL
    private String cancelReason;
    private boolean runStarted;
    @SuppressWarnings("unused") // accessed through RUN_ENDED
    private boolean runEnded;
    private long loopBudget = RuntimeLimits.DEFAULT_LOOP_BUDGET;
    private int cpu;
    private Object hostContext;
    private TailCall pendingTailCall;
    private int tailCalls;
    private FunctionCaller functionCaller;
    private HeldResources resources;

    /** A tail call the running program asked for: continue in {@code target} with r1 = {@code context}. */
    public record TailCall(TailCallable target, long context) {}

    public Invocation(AddressSpace memory, long... arguments) {
        if (arguments.length > 5) throw new IllegalArgumentException("at most 5 argument registers");
        this.memory = memory;
        this.arguments = arguments.clone();
    }

    /** The state another run starts from: see {@link #forNextRun}. */
    private Invocation(Invocation template) {
        this.memory = template.memory;
        this.arguments = template.arguments; // never written after construction: shared, not copied
        this.loopBudget = template.loopBudget;
        this.cpu = template.cpu;
        this.hostContext = template.hostContext;
    }

    /**
     * A new invocation for another run in this one's address space, with the same arguments,
     * loop budget, CPU and host context, and none of its run state: no cancellation request, no
     * tail calls, no resources. A hook that keeps its address space, context and packet from run
     * to run makes each run's invocation this way (one small object): a cancellation request —
     * the watchdog's may land just after a run ended — belongs to one invocation for good, and an
     * invocation runs once ({@link #beginRun}).
     */
    public Invocation forNextRun() {
        return new Invocation(this);
    }

    public AddressSpace memory() { return memory; }

    /** Initial values of r1, r2, ... (missing ones start at 0). */
    public long[] arguments() { return arguments.clone(); }

    public long argument(int i) { return i < arguments.length ? arguments[i] : 0; }

    /** The argument registers without a copy, for the engine driver, which only reads them. */
    long[] argumentsView() { return arguments; }

    /**
     * Asks the running program to stop at its next cancellation point. Safe from any thread; the
     * first reason wins.
     */
    public void requestCancel(String reason) {
        if (!CANCEL.compareAndSet(this, (String) null, reason)) return;
        CancellationBeacon.hold(this);
        if (runEnded()) CancellationBeacon.release(this); // too late: nothing will poll it
    }

    /**
     * Marks the start of this invocation's run (the engines' driver calls it). An invocation runs
     * once: its cancellation request, once made, is never withdrawn, and {@link CancellationBeacon}
     * relies on a finished run never polling again.
     *
     * @throws IllegalStateException if the invocation has already run
     */
    public void beginRun() {
        if (runStarted) throw new IllegalStateException("an invocation runs once; create a new one for the next run");
        runStarted = true;
    }

    /** Marks the end of this invocation's run, and releases its part of the beacon if it was requested. */
    public void endRun() {
        RUN_ENDED.setRelease(this, true); // a plain store on x86: no fence on every run
        if (cancelRequested() != null) CancellationBeacon.release(this);
    }

    /** Whether this invocation's run has ended. */
    boolean runEnded() {
        return (boolean) RUN_ENDED.getAcquire(this);
    }

    /**
     * The pending cancellation reason, or null. An opaque read: cheap, but never hoisted out of a
     * loop by the JIT compiler, so a spinning program does observe the request.
     */
    public String cancelRequested() {
        return (String) CANCEL.getOpaque(this);
    }

    /**
     * How many times {@code may_goto} falls through in one program run before it takes its jump
     * (Linux's BPF_MAX_LOOPS by default). Each program run, including each tail-call target,
     * starts with the full budget, as in Linux where the counter lives in the program's frame.
     */
    public long loopBudget() { return loopBudget; }

    /** Sets {@link #loopBudget()}; returns this invocation. */
    public Invocation withLoopBudget(long budget) {
        if (budget < 0) throw new IllegalArgumentException("negative loop budget " + budget);
        this.loopBudget = budget;
        return this;
    }

    /**
     * The "CPU" this invocation runs on: the slot of the hook thread that runs it, which selects
     * the per-CPU values of per-CPU maps and is what {@code bpf_get_smp_processor_id} returns.
     */
    public int cpu() { return cpu; }

    /** Sets {@link #cpu()}; returns this invocation. */
    public Invocation withCpu(int cpu) {
        if (cpu < 0) throw new IllegalArgumentException("negative cpu " + cpu);
        this.cpu = cpu;
        return this;
    }

    /**
     * What the hook that runs this invocation shares with its helpers (the packet buffer of a
     * packet hook, for example), if it is a {@code type}; else null.
     */
    public <T> T hostContext(Class<T> type) {
        return type.isInstance(hostContext) ? type.cast(hostContext) : null;
    }

    /** Sets {@link #hostContext}; returns this invocation. */
    public Invocation withHostContext(Object context) {
        this.hostContext = context;
        return this;
    }

    /**
     * Called by the tail-call helper: asks the engine to abandon the running program after the
     * helper returns and continue in {@code target} with r1 = {@code context}. Returns false, and
     * requests nothing, once the invocation has made {@link RuntimeLimits#MAX_TAIL_CALLS} tail
     * calls; the helper then reports failure to the program, which carries on.
     */
    public boolean requestTailCall(TailCallable target, long context) {
        if (target == null) throw new IllegalArgumentException("no tail-call target");
        if (tailCalls >= RuntimeLimits.MAX_TAIL_CALLS) return false;
        tailCalls++;
        pendingTailCall = new TailCall(target, context);
        return true;
    }

    /** Whether a helper has requested a tail call the engine has not acted on yet. */
    public boolean tailCallPending() { return pendingTailCall != null; }

    /** Tail calls made so far in this invocation. */
    public int tailCallCount() { return tailCalls; }

    /** Returns and clears the pending tail call, or null. */
    public TailCall takePendingTailCall() {
        TailCall call = pendingTailCall;
        pendingTailCall = null;
        return call;
    }

    /**
     * How the engine running a program calls one of its subprograms on behalf of a helper
     * ({@code bpf_loop}, {@code bpf_for_each_map_elem}): the callee gets r1..r5 and a fresh frame
     * one level below the frame that called the helper, and its r0 is returned. A callee that
     * faults or is cancelled ends the whole program with that outcome: the caller throws
     * {@link CallbackOutcome}, which the helper must let through.
     */
    @FunctionalInterface
    public interface FunctionCaller {
        long call(long functionPointer, long r1, long r2, long r3, long r4, long r5);
    }

    /**
     * Installs the engine's {@link FunctionCaller} for the program run that is starting and returns
     * the previous one, which the engine restores when the run ends.
     */
    public FunctionCaller bindFunctionCaller(FunctionCaller caller) {
        FunctionCaller previous = functionCaller;
        functionCaller = caller;
        return previous;
    }

    /**
     * Calls the subprogram {@code functionPointer} ({@link FunctionPointers}) of the running program
     * with r1..r5 and returns its r0. For helpers that take callbacks; faults when no program is
     * running or the pointer names no subprogram.
     */
    public long callFunction(long functionPointer, long r1, long r2, long r3, long r4, long r5) {
        FunctionCaller caller = functionCaller;
        if (caller == null) throw new ExtensionFault("no running program to call back into");
        return caller.call(functionPointer, r1, r2, r3, r4, r5);
    }

    /**
     * The resources (locks, ...) this invocation holds now. Helpers record what they acquire here;
     * whatever is left when the invocation faults or is cancelled is released by the engine driver.
     */
    public HeldResources resources() {
        HeldResources r = resources;
        if (r == null) resources = r = new HeldResources();
        return r;
    }

    /**
     * The table of {@link #resources()} if one was made, else null: for a helper's hot path, which
     * leaves making it (once per invocation) to its slow path.
     */
    public HeldResources resourcesIfMade() {
        return resources;
    }

    /** Whether any resource is held, without creating the table. */
    public boolean holdsResources() {
        return resources != null && !resources.isEmpty();
    }

}
