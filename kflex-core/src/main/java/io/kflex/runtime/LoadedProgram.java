package io.kflex.runtime;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Executable;
import io.kflex.engine.HeldResources;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.events.CancellationEvent;
import io.kflex.verifier.ContextDescriptor;
import io.kflex.verifier.VerifiedProgram;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/**
 * A program that passed the verifier and was prepared by an engine: the unit hooks invoke. Every
 * invocation goes through {@link #invoke}, which watches it with the runtime's watchdog, keeps
 * the maps' reclamation epoch open while it runs, counts it in {@link #stats()}, and — when it is
 * cancelled — releases what it held, reports the cancellation and applies the runtime's
 * {@link CancellationPolicy}. Thread-safe: hooks invoke it from many threads at once.
 */
public final class LoadedProgram {
    private static final System.Logger LOG = System.getLogger("io.kflex.runtime");

    private final Extension extension;
    /** The extension's runtime, kept here: every run needs its epochs, watchdog and switches. */
    private final KFlexRuntime runtime;
    private final Program program;
    /** Source text by the slot each line starts at, built once (the verifier was given the same). */
    private final java.util.NavigableMap<Integer, String> sourceLines;
    private final VerifiedProgram verified;
    private final Executable executable;
    private final ContextLayout layout;
    private final ProgramStats stats = new ProgramStats();
    private volatile boolean unloaded;

    LoadedProgram(Extension extension, Program program, java.util.NavigableMap<Integer, String> sourceLines,
                  VerifiedProgram verified, Executable executable, ContextLayout layout) {
        this.extension = extension;
        this.runtime = extension.runtime();
        this.sourceLines = sourceLines;
        this.program = program;
        this.verified = verified;
        this.executable = executable;
        this.layout = layout;
    }

    public String name() { return program.name(); }

    public ProgramType type() { return program.type(); }

    public Program program() { return program; }

    public VerifiedProgram verified() { return verified; }

    public Executable executable() { return executable; }

    public ContextLayout contextLayout() { return layout; }

    public ProgramStats stats() { return stats; }

    public Extension extension() { return extension; }

    /** Whether the program was unloaded (by a cancellation under {@link CancellationPolicy#UNLOAD}, or its extension's close). */
    public boolean unloaded() { return unloaded; }

    void unload() { unloaded = true; }

    /** A fresh address space for one invocation: the runtime's shared regions plus room for its own. */
    public AddressSpace newAddressSpace() {
        return new AddressSpace(runtime.maps().regions());
    }

    /**
     * Runs one invocation under the runtime's rules: a watchdog budget ({@code budget} — a hook's
     * budget —, or when null the extension's {@link Extension#budget()}, which defaults to the
     * runtime's), the maps' reclamation epoch, statistics, and cancellation
     * handling. Never throws because of the program; an unloaded program is not run and gives
     * {@code Faulted(-1, "program ... is unloaded")}.
     */
    public Outcome invoke(Invocation invocation, Duration budget) {
        return invoke(invocation, budget, null);
    }

    /**
     * {@link #invoke(Invocation, Duration)}; with {@code elapsedOut}, the run's own duration
     * (without the reporting) is measured and stored in {@code elapsedOut[0]} whatever the
     * statistics switch says.
     */
    private Outcome invoke(Invocation invocation, Duration budget, long[] elapsedOut) {
        if (unloaded) return new Outcome.Faulted(-1, "program " + name() + " is unloaded");
        Duration limit = budget != null ? budget : extension.budget();
        boolean timeStats = runtime.runTimeStatsEnabled();
        boolean timed = timeStats || elapsedOut != null;
        ThreadRunState thread = ThreadRunState.of(invocation.memory(), runtime);
        Outcome outcome;
        Watchdog.Watch watched;
        long start = timed ? System.nanoTime() : 0;
        try (var epoch = thread.epoch().enter(); var watch = runtime.watchdog().watch(thread.watch(), invocation, limit)) {
            watched = watch;
            outcome = executable.run(invocation);
        }
        long elapsed = timed ? System.nanoTime() - start : -1;
        if (elapsedOut != null) elapsedOut[0] = elapsed;
        if (timeStats) stats.record(elapsed);
        else stats.recordUntimed();
        switch (outcome) {
            // Untimed, a cancelled run's report takes its time from the watchdog tick it started in.
            case Outcome.Cancelled c -> outcome = cancelled(invocation, c, elapsed >= 0 ? elapsed : watched.elapsedNanos());
            case Outcome.Faulted f -> stats.faulted();
            case Outcome.Returned r -> { }
        }
        return outcome;
    }

    private Outcome cancelled(Invocation invocation, Outcome.Cancelled c, long elapsed) {
        // The engine driver has already run the object table: c.released() names what it gave back.
        List<String> released = c.released();
        Outcome.Cancelled result = c;
        stats.cancelled();
        CancellationPolicy policy = extension.policy();
        if (policy == CancellationPolicy.UNLOAD) extension.unload(this);
        String line = verifiedSourceLine(c.pc());
        CancellationEvent event = new CancellationEvent();
        if (event.shouldCommit()) {
            event.object = extension.object().name();
            event.program = name();
            event.instruction = c.pc();
            event.sourceLine = line;
            event.reason = c.reason();
            event.elapsed = elapsed;
            event.released = String.join(",", released);
            event.objectTable = String.join(",", objectTable(c.pc()));
            event.policy = policy.name();
            event.commit();
        }
        LOG.log(System.Logger.Level.WARNING, "cancelled {0}/{1} at insn {2}{3}: {4} after {5} µs; released {6}; policy {7}",
                extension.object().name(), name(), c.pc(), line == null ? "" : " (" + line + ")", c.reason(),
                elapsed / 1000, released.isEmpty() ? "nothing" : String.join(", ", released), policy);
        return result;
    }

    /**
     * The object table of cancellation point {@code pc} as the verifier computed it: the kinds of
     * resource ({@link HeldResources#SOCKET}, ...) the program may hold there, one entry per
     * acquisition. Empty for an instruction that is not a back-edge cancellation point. What a
     * cancellation at such a point releases is always among these (a cancellation inside a helper,
     * reported at its call instruction, has no static table).
     */
    public List<String> objectTable(int pc) {
        return verified.heldAtCancellation().getOrDefault(pc, List.of()).stream().map(r -> switch (r.kind()) {
            case SOCKET -> HeldResources.SOCKET;
            case RINGBUF_RECORD -> HeldResources.RINGBUF_RECORD;
            case SPIN_LOCK -> HeldResources.MAP_LOCK;
            case HEAP_LOCK -> HeldResources.HEAP_LOCK;
        }).toList();
    }

    /** The source line of instruction {@code pc}, or null. */
    public String verifiedSourceLine(int pc) {
        var e = sourceLines.floorEntry(pc);
        return e == null ? null : e.getValue();
    }

    /**
     * Runs the program {@code request.repeat()} times like {@code BPF_PROG_TEST_RUN}: a
     * {@code syscall} program gets {@code ctxIn} as its context, a packet program gets
     * {@code dataIn} as its frame. Returns the last run's result, the median duration and the
     * packet and context after the last run.
     *
     * @throws IllegalArgumentException when a packet program gets a frame shorter than an
     *         Ethernet header (Linux refuses such a test run with EINVAL)
     */
    public TestRunResult testRun(TestRun request) {
        if (takesFrame() && request.dataIn().length < ETH_HLEN) {
            // BPF_PROG_TEST_RUN refuses these with EINVAL: a frame starts with an Ethernet header.
            throw new IllegalArgumentException("a test run of " + program.type().name().toLowerCase(java.util.Locale.ROOT) + " program " + name()
                    + " needs a frame of at least " + ETH_HLEN + " bytes (an Ethernet header), not " + request.dataIn().length);
        }
        long[] durations = new long[request.repeat()];
        Outcome outcome = null;
        byte[] dataOut = null, ctxOut = null;
        for (int i = 0; i < request.repeat(); i++) {
            HookContext hook = HookContext.of(this, contextSize(request), true, "ctx", ctx -> {
                if (program.type() == ProgramType.SYSCALL) {
                    MemorySegment.copy(request.ctxIn(), 0, ctx, ValueLayout.JAVA_BYTE, 0, request.ctxIn().length);
                }
                describePacket(ctx, request.dataIn());
            }, layout.shadow("data") != null ? new PacketBuffer(request.dataIn()) : null, 0);
            MemorySegment ctx = hook.context();
            PacketBuffer packet = hook.packet();
            Invocation invocation = hook.invocation();
            long[] elapsed = {0};
            outcome = invoke(invocation, request.budget(), elapsed);
            // The run itself: a cancellation's report (log line, event) is not part of it.
            durations[i] = Math.max(1, elapsed[0]);
            dataOut = packet != null ? packet.frame() : null;
            ctxOut = program.type() == ProgramType.SYSCALL
                    ? ctx.asSlice(0, request.ctxIn().length).toArray(ValueLayout.JAVA_BYTE) : null;
            // As BPF_PROG_TEST_RUN: an XDP program's output starts at its metadata, if it reserved
            // any; a program that saw no Ethernet header gets it back zeroed.
            if (packet != null && program.type() == ProgramType.XDP) dataOut = packet.metadataAndFrame();
            if (packet == null && skbWithoutDirectAccess()) dataOut = layerThreeView(request.dataIn());
            if (!(outcome instanceof Outcome.Returned)) break;
        }
        int runs = (int) Arrays.stream(durations).filter(d -> d > 0).count();
        long[] done = Arrays.copyOf(durations, Math.max(runs, 1));
        Arrays.sort(done);
        // BPF_PROG_TEST_RUN reports a u32 (attr.test.retval); the full r0 stays in the outcome.
        long retval = outcome instanceof Outcome.Returned r ? r.r0() & 0xffff_ffffL : 0;
        return new TestRunResult(name(), outcome, retval, done[done.length / 2], runs, dataOut, ctxOut);
    }

    private static final int LOOPBACK_IFINDEX = 1, ETH_HLEN = 14;

    /**
     * Fills the context fields {@code BPF_PROG_TEST_RUN} fills for a packet: Linux runs the
     * packet as if received on the loopback device, so {@code xdp_md.ingress_ifindex} and
     * {@code __sk_buff.ifindex} are 1; an skb gets its {@code len} and {@code protocol} (the
     * frame's EtherType, in network order) from the frame, as {@code eth_type_trans} sets them.
     * Programs without direct packet access (socket filters, cgroup skb) see the packet after
     * its Ethernet header, so their {@code len} is 14 bytes shorter.
     */
    private void describePacket(MemorySegment ctx, byte[] frame) {
        switch (program.type()) {
            case XDP -> ctx.set(ValueLayout.JAVA_INT_UNALIGNED, 12, LOOPBACK_IFINDEX);               // ingress_ifindex
            case SCHED_CLS, SCHED_ACT, SOCKET_FILTER, CGROUP_SKB -> {
                int pulled = skbWithoutDirectAccess() ? Math.min(ETH_HLEN, frame.length) : 0;
                ctx.set(ValueLayout.JAVA_INT_UNALIGNED, 0, frame.length - pulled);                  // len
                if (frame.length >= ETH_HLEN) {                                                     // protocol (__be16)
                    ctx.set(ValueLayout.JAVA_BYTE, 16, frame[12]);
                    ctx.set(ValueLayout.JAVA_BYTE, 17, frame[13]);
                }
                ctx.set(ValueLayout.JAVA_INT_UNALIGNED, 40, LOOPBACK_IFINDEX);                        // ifindex
            }
            default -> { }
        }
    }

    /** Whether a test run hands this program a frame (packet program types Linux can test-run). */
    private boolean takesFrame() {
        return switch (program.type()) {
            case XDP, SCHED_CLS, SCHED_ACT, SOCKET_FILTER, CGROUP_SKB -> true;
            default -> false;
        };
    }

    private boolean skbWithoutDirectAccess() {
        return program.type() == ProgramType.SOCKET_FILTER || program.type() == ProgramType.CGROUP_SKB;
    }

    /**
     * The packet such a program leaves, as {@code BPF_PROG_TEST_RUN} hands it back: the Ethernet
     * header it never saw is pushed back as zeroes in front of the rest of the frame.
     */
    private static byte[] layerThreeView(byte[] frame) {
        byte[] out = frame.clone();
        java.util.Arrays.fill(out, 0, Math.min(ETH_HLEN, out.length), (byte) 0);
        return out;
    }

    private int contextSize(TestRun request) {
        if (program.type() == ProgramType.SYSCALL) {
            return Math.max(request.ctxIn().length, ContextDescriptor.SYSCALL_BUFFER_SIZE);
        }
        return Math.max(layout.size(), 8);
    }

    @Override
    public String toString() {
        return "LoadedProgram[" + extension.object().name() + "/" + name() + ", " + program.type() + "]";
    }
}
