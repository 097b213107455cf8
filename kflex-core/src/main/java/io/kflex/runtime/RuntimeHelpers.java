package io.kflex.runtime;

import io.kflex.heap.Heap;
import io.kflex.heap.HeapConfig;
import io.kflex.heap.HeapKfuncs;
import io.kflex.helpers.HelperTable;
import io.kflex.helpers.IteratorKfuncs;
import io.kflex.helpers.Kfuncs;
import io.kflex.helpers.MapHelpers;
import io.kflex.helpers.StandardHelpers;
import io.kflex.hooks.HostSockets;
import io.kflex.hooks.SocketHelpers;
import io.kflex.maps.BpfArena;
import io.kflex.maps.MapSet;
import io.kflex.maps.MapTable;

/**
 * The host functions a runtime links extensions against: every helper by its Linux number (maps,
 * time, random, CPU id, trace_printk, bpf_loop, packets, sockets, bpf_spin_lock) and, per
 * extension, the kfuncs bound to that extension's heap.
 */
final class RuntimeHelpers {
    private RuntimeHelpers() {}

    /** The helpers every extension of the runtime shares. */
    static HelperTable shared(MapTable maps, HostSockets sockets) {
        HelperTable.Builder b = HelperTable.builder();
        MapHelpers.register(b, maps);
        StandardHelpers.register(b);
        PacketHelpers.register(b, maps);
        SocketHelpers.register(b, sockets);
        HeapKfuncs.registerSpinLockHelpers(b, HeapConfig.DEFAULT_LOCK_TIMEOUT);
        return b.build();
    }

    /**
     * {@code shared} plus the kfuncs for one extension: the heap kfuncs act on the arena whose handle
     * they are given (or the extension's only heap), the iterator kfuncs need no state.
     */
    static HelperTable forExtension(HelperTable shared, MapSet maps) {
        Heap only = maps.all().stream().filter(m -> m instanceof BpfArena).map(m -> ((BpfArena) m).heap()).findFirst().orElse(null);
        MapTable table = maps.table();
        HelperTable.Builder b = shared.toBuilder();
        new HeapKfuncs(only, handle -> table.byHandle(handle) instanceof BpfArena a ? a.heap() : null).register(b, Kfuncs.ids());
        IteratorKfuncs.register(b);
        return b.build();
    }
}
