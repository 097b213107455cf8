package io.kflex.hooks;

import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.HookContext;
import io.kflex.runtime.PacketBuffer;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A hook with XDP semantics: each frame is one invocation of the attached program with
 * {@code struct xdp_md} as its context, and the program's return value is the verdict. Attach,
 * detach and replace are single atomic reference swaps, so they are safe while traffic flows: a
 * frame runs entirely on the program it started with.
 *
 * <p>When an invocation faults or is cancelled, or no program is attached, the frame gets the
 * hook's {@link #fallback} verdict ({@link XdpAction#PASS} unless configured otherwise), so the host
 * application still sees its traffic. A program unloaded after a cancellation is detached.
 */
public final class PacketHook {
    /** The verdict and the frame as the program left it. {@code redirectIfindex} is set for REDIRECT. */
    public record Result(XdpAction action, byte[] frame, int redirectIfindex, Outcome outcome) {}

    private final AtomicReference<LoadedProgram> attached = new AtomicReference<>();
    private final int ifindex;
    private final XdpAction fallback;
    private final Duration budget;
    private final Map<XdpAction, LongAdder> verdicts = new EnumMap<>(XdpAction.class);
    private final LongAdder fallbacks = new LongAdder();
    /** Each hook thread's lane: what it reuses from frame to frame. */
    private final ThreadLocal<Lane> lanes = new ThreadLocal<>();

    /**
     * What one hook thread keeps for frame after frame of one program, as a NIC driver keeps its
     * receive buffers: the address space (with the stack it takes over, see
     * {@link io.kflex.engine.Stack}), the {@code xdp_md} context and the packet buffer mapped in
     * it. A frame only reloads the buffer; each run still gets an invocation of its own. A frame
     * that arrives while the lane is busy (a host callback of the running program that sends a
     * frame through the same hook on the same thread) gets a lane of its own.
     */
    private static final class Lane {
        final LoadedProgram program;
        final int cpu;
        final HookContext hook;
        boolean busy;

        Lane(LoadedProgram program, int cpu, HookContext hook) {
            this.program = program;
            this.cpu = cpu;
            this.hook = hook;
        }

        boolean fits(LoadedProgram program, int cpu) {
            return this.program == program && this.cpu == cpu && !busy;
        }
    }

    /**
     * @param ifindex what the program reads as {@code ctx->ingress_ifindex}
     * @param fallback the verdict of a frame whose invocation did not return
     * @param budget the time budget of one invocation, null for the runtime's default
     */
    public PacketHook(int ifindex, XdpAction fallback, Duration budget) {
        this.ifindex = ifindex;
        this.fallback = fallback;
        this.budget = budget;
        for (XdpAction a : XdpAction.values()) verdicts.put(a, new LongAdder());
    }

    public PacketHook() {
        this(1, XdpAction.PASS, null);
    }

    /** Attaches {@code program} (an XDP program), replacing whatever was attached, and returns that. */
    public Optional<LoadedProgram> attach(LoadedProgram program) {
        if (program.type() != ProgramType.XDP) {
            throw new IllegalArgumentException(program.name() + " is a " + program.type() + " program; the packet hook runs XDP programs");
        }
        return Optional.ofNullable(attached.getAndSet(program));
    }

    /** Detaches the attached program, if any, and returns it. */
    public Optional<LoadedProgram> detach() {
        return Optional.ofNullable(attached.getAndSet(null));
    }

    public Optional<LoadedProgram> attached() {
        return Optional.ofNullable(attached.get());
    }

    public XdpAction fallback() { return fallback; }

    /** Runs the attached program on {@code frame} on hook thread {@code cpu}. */
    public Result process(byte[] frame, int cpu) {
        LoadedProgram program = attached.get();
        if (program == null) return count(new Result(XdpAction.PASS, frame, -1, null));
        Lane lane = lanes.get();
        Invocation invocation;
        if (lane != null && lane.fits(program, cpu)) {
            lane.hook.packet().reload(frame);
            invocation = lane.hook.nextInvocation();
        } else {
            Lane fresh = new Lane(program, cpu, HookContext.of(program, program.contextLayout().size(), false, "xdp_md", ctx -> {
                ctx.set(ValueLayout.JAVA_INT_UNALIGNED, 12, ifindex);  // ingress_ifindex
                ctx.set(ValueLayout.JAVA_INT_UNALIGNED, 16, cpu);      // rx_queue_index
            }, new PacketBuffer(frame), cpu));
            // A nested frame keeps the outer frame's lane for the thread.
            if (lane == null || !lane.busy) lanes.set(fresh);
            lane = fresh;
            invocation = lane.hook.invocation();
        }
        PacketBuffer packet = lane.hook.packet();
        Outcome outcome;
        lane.busy = true;
        try {
            outcome = program.invoke(invocation, budget);
        } finally {
            lane.busy = false;
        }
        if (program.unloaded()) attached.compareAndSet(program, null);
        if (!(outcome instanceof Outcome.Returned r)) {
            fallbacks.increment();
            return count(new Result(fallback, frame, -1, outcome));
        }
        XdpAction action = XdpAction.of(r.r0());
        return count(new Result(action, packet.frame(), action == XdpAction.REDIRECT ? packet.redirectIfindex() : -1, outcome));
    }

    private Result count(Result result) {
        verdicts.get(result.action()).increment();
        return result;
    }

    /** Frames that got {@code action} so far. */
    public long count(XdpAction action) { return verdicts.get(action).sum(); }

    /** Frames that got the fallback verdict because their invocation faulted or was cancelled. */
    public long fallbacks() { return fallbacks.sum(); }
}
