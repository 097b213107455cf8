package io.kflex.maps;

/**
 * The declaration of a map as an object file states it (BTF {@code .maps} or legacy
 * {@code maps}): the Linux map type number, sizes, capacity and flags. {@code innerMap} is the
 * template of a map-of-maps' values, null otherwise. {@code btfKeyTypeId}/{@code btfValueTypeId}
 * are 0 when the object carries no BTF for them.
 */
public record MapSpec(
        String name,
        int type,
        int keySize,
        int valueSize,
        int maxEntries,
        int flags,
        long mapExtra,
        MapSpec innerMap,
        int btfKeyTypeId,
        int btfValueTypeId) {

    // Linux's enum bpf_map_type values used throughout the project.
    public static final int HASH = 1;
    public static final int ARRAY = 2;
    public static final int PROG_ARRAY = 3;
    public static final int PERCPU_HASH = 5;
    public static final int PERCPU_ARRAY = 6;
    public static final int LRU_HASH = 9;
    public static final int LRU_PERCPU_HASH = 10;
    public static final int ARRAY_OF_MAPS = 12;
    public static final int HASH_OF_MAPS = 13;
    public static final int DEVMAP = 14;
    public static final int DEVMAP_HASH = 25;
    public static final int QUEUE = 22;
    public static final int STACK = 23;
    public static final int RINGBUF = 27;
    public static final int ARENA = 33;

    /** {@code BPF_F_RDONLY_PROG}: the program may only read the map (used for {@code .rodata}). */
    public static final int F_RDONLY_PROG = 1 << 7;
    /** {@code BPF_F_MMAPABLE}: required on arenas and on global-data arrays. */
    public static final int F_MMAPABLE = 1 << 10;

    public MapSpec {
        if (name == null) throw new IllegalArgumentException("map without a name");
        if (keySize < 0 || valueSize < 0 || maxEntries < 0) {
            throw new IllegalArgumentException("map " + name + ": negative size or capacity");
        }
    }

    /** A map without BTF type ids or an inner map. */
    public static MapSpec of(String name, int type, int keySize, int valueSize, int maxEntries, int flags) {
        return new MapSpec(name, type, keySize, valueSize, maxEntries, flags, 0, null, 0, 0);
    }

    public boolean readOnlyForProgram() { return (flags & F_RDONLY_PROG) != 0; }
}
