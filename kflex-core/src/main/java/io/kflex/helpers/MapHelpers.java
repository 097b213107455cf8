package io.kflex.helpers;

import io.kflex.engine.CallbackOutcome;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.engine.TailCallable;
import io.kflex.maps.ArrayKeyLookup;
import io.kflex.maps.BpfMap;
import io.kflex.maps.BpfProgArray;
import io.kflex.maps.BpfRingBuf;
import io.kflex.maps.Errno;
import io.kflex.maps.MapTable;
import java.lang.foreign.MemorySegment;

/**
 * The map helpers, by Linux number, over the maps of one {@link MapTable}. Map arguments are
 * handles ({@code lddw} map pointers or inner maps from a map of maps); keys and values are read
 * and written through the invocation's address space, so a bad pointer faults the program. Errors
 * are negated errno values in {@code r0}, as in Linux.
 */
public final class MapHelpers {
    public static final int MAP_LOOKUP_ELEM = 1, MAP_UPDATE_ELEM = 2, MAP_DELETE_ELEM = 3, TAIL_CALL = 12,
            MAP_PUSH_ELEM = 87, MAP_POP_ELEM = 88, MAP_PEEK_ELEM = 89, RINGBUF_OUTPUT = 130, RINGBUF_RESERVE = 131,
            RINGBUF_SUBMIT = 132, RINGBUF_DISCARD = 133, RINGBUF_QUERY = 134, FOR_EACH_MAP_ELEM = 164;

    private MapHelpers() {}

    /** Adds every map helper, bound to {@code table}, to {@code builder}; returns the builder. */
    public static HelperTable.Builder register(HelperTable.Builder builder, MapTable table) {
        builder.add(MAP_LOOKUP_ELEM, "bpf_map_lookup_elem", new AnyMapLookup(table));
        builder.add(MAP_UPDATE_ELEM, "bpf_map_update_elem", new AnyMap(table, (inv, m, key, value, flags, r5) -> update(inv, m, key, value, flags)));
        builder.add(MAP_DELETE_ELEM, "bpf_map_delete_elem", new AnyMap(table, (inv, m, key, r3, r4, r5) -> delete(inv, m, key)));
        builder.add(MAP_PUSH_ELEM, "bpf_map_push_elem", (inv, map, value, flags, r4, r5) -> {
            BpfMap m = map(table, map);
            return m.pushElem(inv.memory().slice(value, m.spec().valueSize(), false), flags);
        });
        builder.add(MAP_POP_ELEM, "bpf_map_pop_elem", (inv, map, value, r3, r4, r5) -> {
            BpfMap m = map(table, map);
            return m.popElem(inv.memory().slice(value, m.spec().valueSize(), true), true);
        });
        builder.add(MAP_PEEK_ELEM, "bpf_map_peek_elem", (inv, map, value, r3, r4, r5) -> {
            BpfMap m = map(table, map);
            return m.popElem(inv.memory().slice(value, m.spec().valueSize(), true), false);
        });
        builder.add(TAIL_CALL, "bpf_tail_call", (inv, ctx, map, index, r4, r5) -> {
            if (!(map(table, map) instanceof BpfProgArray programs)) return -Errno.EINVAL;
            TailCallable target = programs.get(index & 0xffffffffL);
            if (target == null) return -Errno.ENOENT;
            return inv.requestTailCall(target, ctx) ? 0 : -Errno.E2BIG;
        });
        builder.add(RINGBUF_OUTPUT, "bpf_ringbuf_output", (inv, map, data, size, flags, r5) -> {
            if (!(map(table, map) instanceof BpfRingBuf ring)) return -Errno.EINVAL;
            return ring.output(inv.memory().slice(data, size, false), flags);
        });
        builder.add(RINGBUF_RESERVE, "bpf_ringbuf_reserve", (inv, map, size, flags, r4, r5) -> {
            if (!(map(table, map) instanceof BpfRingBuf ring)) return 0;
            long record = ring.reserve(size, flags);
            // A held resource until submitted or discarded: a cancelled program's record is
            // discarded, so the consumer never sees it and its space becomes reusable.
            if (record != 0) {
                inv.resources().acquired(new RingRecord(record), () -> String.format("ringbuf_record %s+0x%x", ring.name(), record & 0xffff_ffffL),
                        () -> ring.commit(record, true, BpfRingBuf.RB_NO_WAKEUP));
            }
            return record;
        });
        builder.add(RINGBUF_SUBMIT, "bpf_ringbuf_submit", (inv, data, flags, r3, r4, r5) -> {
            record(table, data).commit(data, false, flags);
            inv.resources().remove(new RingRecord(data));
            return 0;
        });
        builder.add(RINGBUF_DISCARD, "bpf_ringbuf_discard", (inv, data, flags, r3, r4, r5) -> {
            record(table, data).commit(data, true, flags);
            inv.resources().remove(new RingRecord(data));
            return 0;
        });
        builder.add(RINGBUF_QUERY, "bpf_ringbuf_query", (inv, map, flags, r3, r4, r5) -> {
            if (!(map(table, map) instanceof BpfRingBuf ring)) return 0;
            return ring.query(flags);
        });
        builder.add(FOR_EACH_MAP_ELEM, "bpf_for_each_map_elem", (inv, map, callback, ctx, flags, r5) -> forEach(inv, map(table, map), callback, ctx, flags));
        return builder;
    }

    /** What a map helper does to the map its first argument names, with the other arguments. */
    @FunctionalInterface
    private interface MapOp {
        long apply(Invocation inv, BpfMap map, long r2, long r3, long r4, long r5);
    }

    /**
     * {@code bpf_map_update_elem} and {@code _delete_elem} for any map handle; the JIT binds a call
     * whose map argument the verifier proved constant to that map. (Lookups: {@link AnyMapLookup}.)
     */
    private record AnyMap(MapTable table, MapOp op) implements Helper {
        @Override
        public long call(Invocation inv, long map, long r2, long r3, long r4, long r5) {
            return op.apply(inv, map(table, map), r2, r3, r4, r5);
        }

        @Override
        public Helper bindFirstArgument(long handle) {
            BpfMap m = table.byHandle(handle);
            return m == null ? null : new OneMap(m, op);
        }
    }

    /** A map helper bound to one map: no handle to resolve, and the invocation's regions stay as they are. */
    private record OneMap(BpfMap map, MapOp op) implements Helper {
        @Override
        public long call(Invocation inv, long handle, long r2, long r3, long r4, long r5) {
            return op.apply(inv, map, r2, r3, r4, r5);
        }

        @Override
        public boolean keepsRegions() { return true; }
    }

    /** {@code bpf_map_lookup_elem} for any map handle; bound to one map, it also takes keys on the stack. */
    private record AnyMapLookup(MapTable table) implements Helper {
        @Override
        public long call(Invocation inv, long map, long key, long r3, long r4, long r5) {
            return lookup(inv, map(table, map), key);
        }

        @Override
        public Helper bindFirstArgument(long handle) {
            BpfMap m = table.byHandle(handle);
            return m == null ? null : new OneMapLookup(m, m.spec().keySize(), m.arrayKeyLookup());
        }
    }

    /**
     * {@code bpf_map_lookup_elem} bound to one map. A record held as a constant by compiled code,
     * so that its components — down to the map's own {@link ArrayKeyLookup} — fold.
     */
    private record OneMapLookup(BpfMap map, int keySize, ArrayKeyLookup arrayKeys) implements StackKeyLookup {
        @Override
        public long call(Invocation inv, long handle, long key, long r3, long r4, long r5) {
            return lookup(inv, map, key);
        }

        @Override
        public long lookupOnStack(Invocation inv, byte[] stack, long key) {
            int offset = (int) key; // the offset in the stack's window, where the region starts
            if (keySize == 0 || offset < 0 || offset > stack.length - keySize) return lookup(inv, map, key);
            return arrayKeys.lookup(stack, offset, inv.cpu());
        }

        @Override
        public boolean keepsRegions() { return true; }
    }

    /*
     * The key is used where it lies: the region's segment and the key's offset in it, checked
     * like a load of key_size bytes. (A map without keys gets the empty key it always got.)
     */

    private static long lookup(Invocation inv, BpfMap m, long key) {
        int size = m.spec().keySize();
        if (size == 0) return m.lookupElem(MemorySegment.NULL, inv.cpu());
        return m.lookupElem(inv.memory().resolve(key, size, false), key & 0xffff_ffffL, inv.cpu());
    }

    private static long update(Invocation inv, BpfMap m, long key, long value, long flags) {
        int size = m.spec().keySize();
        if (size == 0) return m.updateElem(MemorySegment.NULL, inv.memory().slice(value, m.spec().valueSize(), false), flags, inv.cpu());
        MemorySegment memory = inv.memory().resolve(key, size, false);
        return m.updateElem(memory, key & 0xffff_ffffL, inv.memory().slice(value, m.spec().valueSize(), false), flags, inv.cpu());
    }

    private static long delete(Invocation inv, BpfMap m, long key) {
        int size = m.spec().keySize();
        if (size == 0) return m.deleteElem(MemorySegment.NULL);
        return m.deleteElem(inv.memory().resolve(key, size, false), key & 0xffff_ffffL);
    }

    /** The key of a reserved ring-buffer record among an invocation's held resources. */
    private record RingRecord(long address) {}

    /** The open map {@code handle} names; faults otherwise. */
    static BpfMap map(MapTable table, long handle) {
        BpfMap m = table.byHandle(handle);
        if (m == null) throw new ExtensionFault(String.format("0x%x is not a map", handle));
        return m;
    }

    private static BpfRingBuf record(MapTable table, long data) {
        if (table.owningAddress(data) instanceof BpfRingBuf ring) return ring;
        throw new ExtensionFault(String.format("0x%x is not a ring buffer record", data));
    }

    /**
     * {@code bpf_for_each_map_elem}: calls {@code callback(map, &key, &value, ctx)} per element
     * until it returns non-zero. The key is a read-only copy mapped into the invocation for the
     * duration; the value pointer is the live value (this CPU's, for per-CPU maps).
     */
    private static long forEach(Invocation inv, BpfMap map, long callback, long ctx, long flags) {
        if (flags != 0) return -Errno.EINVAL;
        MemorySegment keyMemory = MemorySegment.ofArray(new long[Math.max(1, (map.spec().keySize() + 7) / 8)]);
        long keyBase = inv.memory().map(new Region(Region.Kind.MEMORY, keyMemory.asSlice(0, Math.max(1, map.spec().keySize())), false,
                "key of " + map.name()));
        try {
            return map.forEachElem(inv.cpu(), (key, valueAddress) -> {
                CallbackOutcome.checkCancellation(inv);
                MemorySegment.copy(MemorySegment.ofArray(key), 0, keyMemory, 0, key.length);
                return inv.callFunction(callback, map.handle(), keyBase, valueAddress, ctx, 0) != 0;
            });
        } finally {
            inv.memory().unmap(keyBase);
        }
    }
}
