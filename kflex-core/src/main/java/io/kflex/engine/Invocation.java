package io.kflex.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The state of one run of an extension: its address space (context, packet, stack), its initial
 * argument registers, and the cancellation request a watchdog may raise while it runs. Confined to
 * the running thread except for {@link #requestCancel}, which any thread may call.
 */
public final class Invocation {
    private static final VarHandle CANCEL;

    static {
        try {
            CANCEL = MethodHandles.lookup().findVarHandle(Invocation.class, "cancelReason", String.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final AddressSpace memory;
    private final long[] arguments;
    @SuppressWarnings("unused") // accessed through CANCEL
    private String cancelReason;

    public Invocation(AddressSpace memory, long... arguments) {
        if (arguments.length > 5) throw new IllegalArgumentException("at most 5 argument registers");
        this.memory = memory;
        this.arguments = arguments.clone();
    }

    public AddressSpace memory() { return memory; }

    /** Initial values of r1, r2, ... (missing ones start at 0). */
    public long[] arguments() { return arguments.clone(); }

    public long argument(int i) { return i < arguments.length ? arguments[i] : 0; }

    /**
     * Asks the running program to stop at its next cancellation point. Safe from any thread; the
     * first reason wins.
     */
    public void requestCancel(String reason) {
        CANCEL.compareAndSet(this, (String) null, reason);
    }

    /**
     * The pending cancellation reason, or null. An opaque read: cheap, but never hoisted out of a
     * loop by the JIT compiler, so a spinning program does observe the request.
     */
    public String cancelRequested() {
        return (String) CANCEL.getOpaque(this);
    }
}
