package io.kflex.runtime;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * What one invocation at a hook is given: its context region in a fresh address space of the
 * program, and — for programs that see a packet — the packet buffer whose pointers the context's
 * shadow slots hold. Every hook (packet, stream, test run) builds it the same way and differs
 * only in the context's size, writability, name and field values.
 *
 * @param invocation the invocation to run: r1 = the context, the packet as its host context
 * @param context    the context's backing segment, for the hook to read back after the run
 * @param packet     the packet buffer mapped behind the context, or null
 */
public record HookContext(Invocation invocation, MemorySegment context, PacketBuffer packet) {

    public HookContext {
        Objects.requireNonNull(invocation);
        Objects.requireNonNull(context);
    }

    /**
     * Maps a zeroed context of {@code size} bytes, filled by {@code fields}, into a fresh address
     * space of {@code program}, attaches {@code packet} (if not null) through the program's
     * context layout, and makes the invocation on hook thread {@code cpu}.
     *
     * @param writable whether the program may store to the context (the verifier decides which
     *                 fields; the region's flag is the engines' last line)
     * @param name     the region's name in fault messages ({@code xdp_md}, {@code __sk_buff}, ...)
     */
    public static HookContext of(LoadedProgram program, int size, boolean writable, String name,
                                 Consumer<MemorySegment> fields, PacketBuffer packet, int cpu) {
        AddressSpace memory = program.newAddressSpace();
        MemorySegment ctx = MemorySegment.ofArray(new long[(size + 7) / 8]);
        fields.accept(ctx);
        long ctxAddress = memory.map(new Region(Region.Kind.CONTEXT, ctx, writable, name));
        if (packet != null) packet.attach(memory, ctx, program.contextLayout());
        Invocation invocation = new Invocation(memory, ctxAddress).withCpu(cpu).withHostContext(packet);
        return new HookContext(invocation, ctx, packet);
    }

    /**
     * A fresh invocation over this one's address space, context and packet, for another run
     * (after the hook has put new contents in them): a hook thread keeps those for run after run,
     * but every run gets an invocation of its own, since a cancellation request — the watchdog's,
     * which may land just after a run ended, or the host's — belongs to one invocation for good.
     */
    public Invocation nextInvocation() {
        return invocation.forNextRun();
    }
}
