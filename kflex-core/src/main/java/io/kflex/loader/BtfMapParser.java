package io.kflex.loader;

import io.kflex.btf.Btf;
import io.kflex.btf.BtfType;
import io.kflex.btf.BtfType.*;
import io.kflex.maps.MapSpec;

/**
 * Reads a BTF-defined map the way libbpf's bpf_helpers.h macros encode it: {@code __uint(name, val)}
 * is a member {@code int (*name)[val]} (the value is the array length), {@code __ulong} an anonymous
 * single-enumerator enum, {@code __type(name, T)} a pointer to {@code T}, and
 * {@code __array(values, T)} a flexible array of pointers to {@code T} — the inner-map template
 * for maps of maps, a function prototype for prog arrays.
 */
final class BtfMapParser {
    private final Btf btf;

    BtfMapParser(Btf btf) {
        this.btf = btf;
    }

    /** A parsed definition plus where its {@code values} array starts, for initial-slot relocations. */
    record Definition(MapSpec spec, long valuesByteOffset, ValuesKind valuesKind) {}

    enum ValuesKind { NONE, MAPS, PROGRAMS }

    Definition parse(String name, int typeId, boolean inner) throws LoadException {
        String where = "map " + name;
        if (!(btf.type(btf.skipModifiers(typeId)) instanceof Struct def) || def.union()) {
            throw new LoadException(where + ": definition is not a struct");
        }
        long type = -1, maxEntries = 0, flags = 0, keySize = -1, valueSize = -1, mapExtra = 0;
        int keyTypeId = 0, valueTypeId = 0;
        MapSpec innerMap = null;
        long valuesOffset = -1;
        ValuesKind valuesKind = ValuesKind.NONE;
        for (Member m : def.members()) {
            String field = where + ": field '" + m.name() + "'";
            switch (m.name()) {
                case "type" -> type = uintField(field, m);
                case "max_entries" -> maxEntries = uintField(field, m);
                case "map_flags" -> flags = uintField(field, m);
                case "numa_node", "pinning" -> uintField(field, m);
                case "key_size" -> keySize = checkSize(field, keySize, uintField(field, m));
                case "value_size" -> valueSize = checkSize(field, valueSize, uintField(field, m));
                case "map_extra" -> mapExtra = longField(field, m);
                case "key" -> {
                    keyTypeId = pointee(field, m);
                    keySize = checkSize(field, keySize, btf.sizeOf(keyTypeId));
                }
                case "value" -> {
                    valueTypeId = pointee(field, m);
                    valueSize = checkSize(field, valueSize, btf.sizeOf(valueTypeId));
                }
                case "values" -> {
                    if (inner) throw new LoadException(where + ": an inner map cannot itself have 'values'");
                    if (!(btf.type(btf.skipModifiers(m.type())) instanceof Array array)) {
                        throw new LoadException(field + " is not an array (declare it with __array)");
                    }
                    if (!(btf.type(btf.skipModifiers(array.elementType())) instanceof Ptr ptr)) {
                        throw new LoadException(field + " is not an array of pointers");
                    }
                    BtfType target = btf.type(btf.skipModifiers(ptr.type()));
                    if (target instanceof Struct) {
                        innerMap = parse(name + ".inner", ptr.type(), true).spec();
                        valuesKind = ValuesKind.MAPS;
                    } else if (target instanceof FuncProto) {
                        valuesKind = ValuesKind.PROGRAMS;
                    } else {
                        throw new LoadException(field + " must point to a map definition or a function prototype");
                    }
                    if (m.bitOffset() % 8 != 0) throw new LoadException(field + " is not byte-aligned");
                    valuesOffset = m.bitOffset() / 8;
                    valueSize = checkSize(field, valueSize, 4);
                }
                default -> throw new LoadException(field + " is not a known map attribute");
            }
        }
        if (type < 0) throw new LoadException(where + ": no 'type'");
        boolean mapOfMaps = type == MapSpec.ARRAY_OF_MAPS || type == MapSpec.HASH_OF_MAPS;
        if (valuesKind == ValuesKind.MAPS && !mapOfMaps) {
            throw new LoadException(where + ": 'values' holds maps but the map type " + type + " is not a map of maps");
        }
        if (valuesKind == ValuesKind.PROGRAMS && type != MapSpec.PROG_ARRAY) {
            throw new LoadException(where + ": 'values' holds programs but the map type " + type + " is not a prog array");
        }
        if (mapOfMaps && innerMap == null) throw new LoadException(where + ": map of maps without an inner map template (__array(values, ...))");
        try {
            MapSpec spec = new MapSpec(name, (int) type, (int) Math.max(keySize, 0), (int) Math.max(valueSize, 0), (int) maxEntries,
                    (int) flags, mapExtra, innerMap, keyTypeId, valueTypeId);
            return new Definition(spec, valuesOffset, valuesKind);
        } catch (IllegalArgumentException e) {
            throw new LoadException(where + ": " + e.getMessage());
        }
    }

    private static long checkSize(String field, long previous, long size) throws LoadException {
        if (size > Integer.MAX_VALUE) throw new LoadException(field + ": size " + size + " too large");
        if (previous >= 0 && previous != size) throw new LoadException(field + ": size " + size + " contradicts the earlier size " + previous);
        return size;
    }

    /** {@code __uint(name, val)}: a pointer to an array of {@code val} elements. */
    private long uintField(String field, Member m) throws LoadException {
        if (!(btf.type(btf.skipModifiers(m.type())) instanceof Ptr ptr)
                || !(btf.type(btf.skipModifiers(ptr.type())) instanceof Array array)) {
            throw new LoadException(field + " is not declared with __uint (pointer to array)");
        }
        if (array.elements() > Integer.MAX_VALUE) throw new LoadException(field + ": value " + array.elements() + " too large");
        return array.elements();
    }

    /** {@code map_extra}: {@code __uint} or {@code __ulong} (an anonymous enum with one 64-bit enumerator). */
    private long longField(String field, Member m) throws LoadException {
        BtfType t = btf.type(btf.skipModifiers(m.type()));
        if (t instanceof BtfType.Enum e) {
            if (e.values().size() != 1) throw new LoadException(field + ": enum with " + e.values().size() + " values, expected one");
            return e.values().getFirst().value();
        }
        return uintField(field, m);
    }

    private int pointee(String field, Member m) throws LoadException {
        if (!(btf.type(btf.skipModifiers(m.type())) instanceof Ptr ptr)) {
            throw new LoadException(field + " is not declared with __type (pointer to the type)");
        }
        return ptr.type();
    }
}
