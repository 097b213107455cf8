package io.kflex.runtime;

import io.kflex.engine.AddressSpace;
import io.kflex.maps.Epochs;

/**
 * What {@link LoadedProgram#invoke} needs of one runtime for the thread that runs: the thread's
 * slot in the maps' reclamation epochs and its slot in the watchdog. Both are per-thread state
 * found through thread-locals, and those two look-ups (a chain of a dozen dependent loads) were
 * a fifth of the cost of running a short program. A hook thread runs invocation after invocation
 * in one address space, and an address space is confined to the thread that runs in it, so the
 * state is kept there ({@link AddressSpace#hostState}): later runs find it with one field read
 * and a check that the thread and runtime are still the ones it was made for.
 */
record ThreadRunState(Thread thread, KFlexRuntime runtime, Epochs.Slot epoch, Watchdog.Watch watch) {

    /** The calling thread's state for {@code runtime}, kept in (or, the first time, stored into) {@code memory}. */
    static ThreadRunState of(AddressSpace memory, KFlexRuntime runtime) {
        if (memory.hostState() instanceof ThreadRunState s && s.thread == Thread.currentThread() && s.runtime == runtime) {
            return s;
        }
        ThreadRunState s = new ThreadRunState(Thread.currentThread(), runtime, runtime.maps().epochs().slot(), runtime.watchdog().slot());
        memory.hostState(s);
        return s;
    }
}
