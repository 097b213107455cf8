package io.kflex.maps;

/**
 * A map's {@code bpf_map_lookup_elem} for a key that lies in a byte array (a program's stack, see
 * {@link BpfMap#lookupElem(byte[], int, int)}), as an object a compiled program binds once and
 * holds as a constant ({@link BpfMap#arrayKeyLookup}). A map makes it a record of what its
 * lookups need that never changes, so that C2, which folds a constant record's components but
 * not a map's instance fields, compiles the lookup for this map alone: the key's size, the hash
 * seed and where the values lie become immediates.
 */
@FunctionalInterface
public interface ArrayKeyLookup {
    /**
     * The address of the value of the key at {@code key[offset .. offset + key_size)}, or 0 when
     * the map has no such key; exactly what {@link BpfMap#lookupElem(byte[], int, int)} returns.
     * The caller has checked that the key lies inside {@code key}.
     */
    long lookup(byte[] key, int offset, int cpu);
}
