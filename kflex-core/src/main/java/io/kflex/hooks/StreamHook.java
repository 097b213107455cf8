package io.kflex.hooks;

import io.kflex.engine.Outcome;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.HookContext;
import io.kflex.runtime.PacketBuffer;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;

/**
 * A hook with {@code sk_skb} stream-verdict semantics for framed TCP requests: each message the
 * host's framing layer cuts from a connection is one invocation with {@code struct __sk_buff} as
 * its context and the message as its packet data. {@code SK_PASS} (1) hands the message, as the
 * program left it, to the application; {@code SK_DROP} (0) discards it. A message whose invocation
 * faults or is cancelled passes unchanged. Attach, detach and replace are atomic.
 */
public final class StreamHook {
    public static final int SK_DROP = 0, SK_PASS = 1;

    /** The verdict and the message after the program ran. */
    public record Result(boolean pass, byte[] message, Outcome outcome) {}

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int AF_INET = 2;

    private final AtomicReference<LoadedProgram> attached = new AtomicReference<>();
    private final Duration budget;
    private final LongAdder passed = new LongAdder(), dropped = new LongAdder(), fallbacks = new LongAdder();

    public StreamHook(Duration budget) {
        this.budget = budget;
    }

    public StreamHook() {
        this(null);
    }

    /** Attaches an {@code sk_skb} program, replacing (and returning) the one attached before. */
    public Optional<LoadedProgram> attach(LoadedProgram program) {
        if (program.type() != ProgramType.SK_SKB) {
            throw new IllegalArgumentException(program.name() + " is a " + program.type() + " program; the stream hook runs sk_skb programs");
        }
        return Optional.ofNullable(attached.getAndSet(program));
    }

    public Optional<LoadedProgram> detach() {
        return Optional.ofNullable(attached.getAndSet(null));
    }

    /** Runs the attached program on one message from {@code remote} to {@code local}. */
    public Result process(byte[] message, InetSocketAddress remote, InetSocketAddress local, int cpu) {
        LoadedProgram program = attached.get();
        if (program == null) {
            passed.increment();
            return new Result(true, message, null);
        }
        PacketBuffer data = PacketBuffer.forMessage(message);
        HookContext hook = HookContext.of(program, program.contextLayout().size(), true, "__sk_buff", ctx -> {
            ctx.set(U32, 0, message.length);                                   // len
            ctx.set(U32, 16, 0x0008);                                          // protocol: ETH_P_IP, network order
            ctx.set(U32, 88, AF_INET);                                         // family
            if (remote.getAddress().getAddress().length == 4) ctx.set(BE32, 92, java.nio.ByteBuffer.wrap(remote.getAddress().getAddress()).getInt());
            if (local.getAddress().getAddress().length == 4) ctx.set(BE32, 96, java.nio.ByteBuffer.wrap(local.getAddress().getAddress()).getInt());
            ctx.set(BE32, 132, remote.getPort() << 16);                        // remote_port: network order in the upper half
            ctx.set(U32, 136, local.getPort());                                // local_port: host order
        }, data, cpu);
        Outcome outcome = program.invoke(hook.invocation(), budget);
        if (program.unloaded()) attached.compareAndSet(program, null);
        if (!(outcome instanceof Outcome.Returned r)) {
            fallbacks.increment();
            passed.increment();
            return new Result(true, message, outcome);
        }
        boolean pass = r.r0() == SK_PASS;
        (pass ? passed : dropped).increment();
        return new Result(pass, data.frame(), outcome);
    }

    public long passed() { return passed.sum(); }

    public long dropped() { return dropped.sum(); }

    public long fallbacks() { return fallbacks.sum(); }
}
