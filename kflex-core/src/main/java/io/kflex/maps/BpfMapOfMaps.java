package io.kflex.maps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * {@code BPF_MAP_TYPE_ARRAY_OF_MAPS} and {@code BPF_MAP_TYPE_HASH_OF_MAPS}: values are inner maps.
 * A program's lookup returns the inner map's handle (a map pointer it passes to further map
 * helpers); the host stores an inner map by its id as a 4-byte value (Linux uses a map fd) or
 * with {@link #setInner}. Every inner map must match the template the object declared
 * ({@code __array(values, ...)}): same type, key and value size, capacity and flags. Programs
 * cannot update a map of maps, as in Linux.
 */
public final class BpfMapOfMaps extends BpfMap {
    private final boolean hash;
    private final AtomicIntegerArray arraySlots;
    private final ConcurrentHashMap<List<Byte>, Integer> hashSlots;

    BpfMapOfMaps(MapTable table, MapSpec spec, int id, boolean hash) {
        super(table, spec, id);
        this.hash = hash;
        this.arraySlots = hash ? null : new AtomicIntegerArray(spec.maxEntries());
        this.hashSlots = hash ? new ConcurrentHashMap<>() : null;
    }

    private static List<Byte> keyOf(byte[] bytes) {
        Byte[] boxed = new Byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) boxed[i] = bytes[i];
        return Arrays.asList(boxed);
    }

    private int innerId(byte[] key) {
        if (!hash) {
            long index = u32(key) & 0xffffffffL;
            return index < spec.maxEntries() ? arraySlots.get((int) index) : 0;
        }
        Integer v = hashSlots.get(keyOf(key));
        return v == null ? 0 : v;
    }

    /** The inner map stored under {@code key}, if it is still open. */
    public Optional<BpfMap> inner(byte[] key) {
        checkKey(key);
        return Optional.ofNullable(table.byId(innerId(key)));
    }

    @Override
    public long lookupElem(MemorySegment key, int cpu) {
        BpfMap inner = table.byId(innerId(key.toArray(ValueLayout.JAVA_BYTE)));
        return inner == null ? 0 : inner.handle();
    }

    @Override
    public long deleteElem(MemorySegment key) {
        return remove(key.toArray(ValueLayout.JAVA_BYTE));
    }

    private long remove(byte[] key) {
        if (!hash) {
            long index = u32(key) & 0xffffffffL;
            if (index >= spec.maxEntries()) return -Errno.E2BIG;
            return arraySlots.getAndSet((int) index, 0) == 0 ? -Errno.ENOENT : 0;
        }
        return hashSlots.remove(keyOf(key)) == null ? -Errno.ENOENT : 0;
    }

    /** Stores {@code inner} under {@code key}; {@code flags} as for {@link #update}. */
    public void setInner(byte[] key, BpfMap inner, long flags) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        if (checkUpdateFlags(flags) != 0) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": unsupported update flags " + flags);
        if (inner == null || table.byId(inner.id()) != inner) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": the inner map is not open in this table");
        checkTemplate(inner);
        if (!hash) {
            long index = u32(key) & 0xffffffffL;
            if (index >= spec.maxEntries()) throw new MapException(Errno.E2BIG, "map " + spec.name() + ": index " + index + " >= max_entries");
            if (flags == BPF_NOEXIST) throw new MapException(Errno.EEXIST, "map " + spec.name() + ": array elements always exist");
            arraySlots.set((int) index, inner.id());
            return;
        }
        List<Byte> k = keyOf(key);
        MapException[] failure = {null};
        hashSlots.compute(k, (kk, old) -> {
            if (old != null && flags == BPF_NOEXIST) failure[0] = new MapException(Errno.EEXIST, "map " + spec.name() + ": key exists");
            else if (old == null && flags == BPF_EXIST) failure[0] = new MapException(Errno.ENOENT, "map " + spec.name() + ": no such key");
            else if (old == null && hashSlots.size() >= spec.maxEntries()) failure[0] = new MapException(Errno.E2BIG, "map " + spec.name() + ": full");
            else return inner.id();
            return old;
        });
        if (failure[0] != null) throw failure[0];
    }

    private void checkTemplate(BpfMap inner) throws MapException {
        MapSpec t = spec.innerMap();
        MapSpec s = inner.spec();
        if (t == null) return; // no template declared: any map (legacy declarations)
        if (s.type() != t.type() || s.keySize() != t.keySize() || s.valueSize() != t.valueSize()
                || s.maxEntries() != t.maxEntries() || s.flags() != t.flags()) {
            throw new MapException(Errno.EINVAL, String.format(
                    "map %s: inner map %s (type %d, key %d, value %d, max_entries %d, flags 0x%x) does not match the template (type %d, key %d, value %d, max_entries %d, flags 0x%x)",
                    spec.name(), s.name(), s.type(), s.keySize(), s.valueSize(), s.maxEntries(), s.flags(),
                    t.type(), t.keySize(), t.valueSize(), t.maxEntries(), t.flags()));
        }
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        checkKey(key);
        int inner = innerId(key);
        if (inner == 0 || table.byId(inner) == null) return Optional.empty();
        return Optional.of(new byte[] {(byte) inner, (byte) (inner >>> 8), (byte) (inner >>> 16), (byte) (inner >>> 24)});
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        if (value == null || value.length != 4) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": the value is a 4-byte inner map id");
        int innerId = u32(value);
        BpfMap inner = table.byId(innerId);
        if (inner == null) throw new MapException(Errno.EINVAL, "map " + spec.name() + ": no open map with id " + innerId);
        setInner(key, inner, flags);
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        if (key == null || key.length != spec.keySize()) throw badKey(key);
        long r = remove(key);
        if (r == -Errno.E2BIG) throw error(r, "map " + spec.name() + ": index out of range");
        return r == 0;
    }

    @Override
    public List<byte[]> keys() {
        List<byte[]> keys = new ArrayList<>();
        if (!hash) {
            for (int i = 0; i < arraySlots.length(); i++) {
                if (arraySlots.get(i) != 0) keys.add(new byte[] {(byte) i, (byte) (i >>> 8), (byte) (i >>> 16), (byte) (i >>> 24)});
            }
        } else {
            for (List<Byte> k : hashSlots.keySet()) {
                byte[] b = new byte[k.size()];
                for (int i = 0; i < b.length; i++) b[i] = k.get(i);
                keys.add(b);
            }
        }
        return keys;
    }
}
