package io.kflex.btf;

import io.kflex.btf.BtfType.*;
import io.kflex.elf.Bytes;
import io.kflex.loader.LoadException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;

/**
 * A parsed {@code .BTF} section: the type graph and its string table. Parsing validates what later
 * stages rely on: every type id a type refers to exists, every name is a terminated string of the
 * table, FUNCs point at FUNC_PROTOs, and no chain of typedefs, modifiers, arrays and variables loops
 * back on itself (pointers may: that is how linked lists are described), so {@link #sizeOf} and
 * {@link #skipModifiers} always terminate.
 */
public final class Btf {
    public static final int MAGIC = 0xeb9f;
    private static final int HEADER_SIZE = 24;
    private static final long UNSIZED = -1;
    private static final long UNKNOWN = -2;

    private final List<BtfType> types;
    private final byte[] strings;
    private final long[] sizes;

    private Btf(List<BtfType> types, byte[] strings) {
        this.types = types;
        this.strings = strings;
        this.sizes = new long[types.size()];
    }

    public static Btf parse(byte[] data) throws LoadException {
        Bytes in = new Bytes(data, ".BTF");
        if (data.length < HEADER_SIZE) throw new LoadException(".BTF: " + data.length + " bytes, shorter than the BTF header (24 bytes)");
        int magic = in.u16(0, "magic");
        if (magic != MAGIC) throw new LoadException(String.format(".BTF: bad magic 0x%04x (expected 0xeb9f; big-endian BTF is not supported)", magic));
        int version = in.u8(2, "version");
        if (version != 1) throw new LoadException(".BTF: unsupported version " + version);
        long headerLength = in.u32(4, "hdr_len");
        if (headerLength < HEADER_SIZE || headerLength > data.length) {
            throw new LoadException(".BTF: header length " + headerLength + " out of range [24, " + data.length + "]");
        }
        long typeOff = in.u32(8, "type_off");
        long typeLen = in.u32(12, "type_len");
        long strOff = in.u32(16, "str_off");
        long strLen = in.u32(20, "str_len");
        long body = data.length - headerLength;
        if (typeOff > body || typeLen > body - typeOff) {
            throw new LoadException(".BTF: type section out of range: offset " + typeOff + " + size " + typeLen + " past end of BTF data (" + body + " bytes)");
        }
        if (strOff > body || strLen > body - strOff) {
            throw new LoadException(".BTF: string section out of range: offset " + strOff + " + size " + strLen + " past end of BTF data (" + body + " bytes)");
        }
        if (typeOff < strOff + strLen && strOff < typeOff + typeLen) throw new LoadException(".BTF: type and string sections overlap");
        if (typeLen % 4 != 0) throw new LoadException(".BTF: type section size " + typeLen + " is not a multiple of 4");
        if (strLen == 0 || data[(int) (headerLength + strOff)] != 0) {
            throw new LoadException(".BTF: string section must start with an empty string");
        }
        byte[] strings = in.slice(headerLength + strOff, strLen, "string section");
        if (strings[strings.length - 1] != 0) throw new LoadException(".BTF: string section is unterminated (its last byte is not NUL)");

        List<BtfType> types = new ArrayList<>();
        types.add(new BtfType.Void());
        Reader reader = new Reader(in, headerLength + typeOff, headerLength + typeOff + typeLen, strings);
        while (reader.position < reader.end) {
            types.add(reader.next(types.size()));
        }
        Btf btf = new Btf(Collections.unmodifiableList(types), strings);
        btf.validate();
        return btf;
    }

    /** Reads the type records one after another, each bounds-checked against the type section. */
    private static final class Reader {
        private final Bytes in;
        private final long end;
        private final byte[] strings;
        private long position;
        private int id;

        Reader(Bytes in, long start, long end, byte[] strings) {
            this.in = in;
            this.position = start;
            this.end = end;
            this.strings = strings;
        }

        private long u32(String field) throws LoadException {
            if (position + 4 > end) throw new LoadException(".BTF: type [" + id + "] truncated: " + field + " out of range, past end of type section");
            long v = in.u32(position, field);
            position += 4;
            return v;
        }

        private int s32(String field) throws LoadException {
            return (int) u32(field);
        }

        private int typeRef(String field) throws LoadException {
            long v = u32(field);
            if (v > Integer.MAX_VALUE) throw new LoadException(".BTF: type [" + id + "]: " + field + " " + v + " out of range");
            return (int) v;
        }

        private String name(long offset) throws LoadException {
            return Bytes.string(strings, offset, ".BTF: type [" + id + "] name");
        }

        /** vlen entries of {@code entrySize} bytes must fit in what is left, so counts cannot inflate allocations. */
        private void requireEntries(int vlen, int entrySize) throws LoadException {
            if ((long) vlen * entrySize > end - position) {
                throw new LoadException(".BTF: type [" + id + "]: " + vlen + " entries of " + entrySize + " bytes out of range, past end of type section");
            }
        }

        BtfType next(int typeId) throws LoadException {
            this.id = typeId;
            String name = name(u32("name_off"));
            long info = u32("info");
            long sizeOrType = u32("size_type");
            int vlen = (int) (info & 0xffff);
            int kindCode = (int) ((info >>> 24) & 0x1f);
            boolean kindFlag = (info >>> 31) != 0;
            BtfKind kind = BtfKind.of(kindCode);
            if (kind == null || kind == BtfKind.VOID) throw new LoadException(".BTF: type [" + id + "] has unknown kind " + kindCode);
            int refType = (int) Math.min(sizeOrType, Integer.MAX_VALUE);
            return switch (kind) {
                case INT -> {
                    long v = u32("int encoding");
                    int encoding = (int) ((v >>> 24) & 0xf);
                    int offset = (int) ((v >>> 16) & 0xff);
                    int bits = (int) (v & 0xff);
                    if (sizeOrType != 1 && sizeOrType != 2 && sizeOrType != 4 && sizeOrType != 8 && sizeOrType != 16) {
                        throw new LoadException(".BTF: type [" + id + "] int " + name + " has size " + sizeOrType);
                    }
                    if (bits + offset > sizeOrType * 8) {
                        throw new LoadException(".BTF: type [" + id + "] int " + name + ": " + bits + " bits at offset " + offset + " exceed its size");
                    }
                    yield new Int(name, (int) sizeOrType, (encoding & 1) != 0, (encoding & 2) != 0, (encoding & 4) != 0, offset, bits);
                }
                case PTR -> new Ptr(refType);
                case ARRAY -> new Array(typeRef("array type"), typeRef("array index_type"), u32("array nelems"));
                case STRUCT, UNION -> {
                    requireEntries(vlen, 12);
                    List<Member> members = new ArrayList<>(vlen);
                    for (int i = 0; i < vlen; i++) {
                        String memberName = name(u32("member name_off"));
                        int memberType = typeRef("member type");
                        long offset = u32("member offset");
                        members.add(kindFlag
                                ? new Member(memberName, memberType, offset & 0xffffff, (int) (offset >>> 24))
                                : new Member(memberName, memberType, offset, 0));
                    }
                    yield new Struct(name, kind == BtfKind.UNION, sizeOrType, List.copyOf(members));
                }
                case ENUM, ENUM64 -> {
                    boolean wide = kind == BtfKind.ENUM64;
                    requireEntries(vlen, wide ? 12 : 8);
                    List<Enumerator> values = new ArrayList<>(vlen);
                    for (int i = 0; i < vlen; i++) {
                        String valueName = name(u32("enumerator name_off"));
                        long value = wide ? (u32("enumerator low") | (u32("enumerator high") << 32))
                                : (kindFlag ? s32("enumerator") : u32("enumerator"));
                        values.add(new Enumerator(valueName, value));
                    }
                    yield new BtfType.Enum(name, wide, kindFlag, sizeOrType, List.copyOf(values));
                }
                case FWD -> new Fwd(name, kindFlag);
                case TYPEDEF -> new Typedef(name, refType);
                case VOLATILE, CONST, RESTRICT, TYPE_TAG -> new Modifier(kind, name, refType);
                case FUNC -> new Func(name, refType, vlen);
                case FUNC_PROTO -> {
                    requireEntries(vlen, 8);
                    List<Param> params = new ArrayList<>(vlen);
                    for (int i = 0; i < vlen; i++) params.add(new Param(name(u32("param name_off")), typeRef("param type")));
                    yield new FuncProto(refType, List.copyOf(params));
                }
                case VAR -> new Var(name, refType, (int) u32("var linkage"));
                case DATASEC -> {
                    requireEntries(vlen, 12);
                    List<VarSecInfo> vars = new ArrayList<>(vlen);
                    for (int i = 0; i < vlen; i++) vars.add(new VarSecInfo(typeRef("datasec var type"), u32("datasec var offset"), u32("datasec var size")));
                    yield new DataSec(name, sizeOrType, List.copyOf(vars));
                }
                case FLOAT -> new BtfType.Float(name, (int) sizeOrType);
                case DECL_TAG -> new DeclTag(name, refType, s32("decl_tag component_idx"));
                case VOID -> throw new AssertionError();
            };
        }
    }

    /** Type ids in range, FUNCs on FUNC_PROTOs, and no loops in size-determining chains. */
    private void validate() throws LoadException {
        for (int id = 1; id < types.size(); id++) {
            for (int ref : references(types.get(id))) {
                if (ref < 0 || ref >= types.size()) {
                    throw new LoadException(".BTF: type [" + id + "] " + describe(id) + " refers to type " + Integer.toUnsignedString(ref)
                            + ", out of range (" + types.size() + " types)");
                }
            }
            if (types.get(id) instanceof Func f && !(types.get(f.type()) instanceof FuncProto)) {
                throw new LoadException(".BTF: type [" + id + "] func " + f.name() + " does not point to a FUNC_PROTO");
            }
            if (types.get(id) instanceof DataSec ds) {
                for (VarSecInfo v : ds.vars()) {
                    if (!(types.get(v.type()) instanceof Var) && !(types.get(v.type()) instanceof Func)) {
                        throw new LoadException(".BTF: datasec " + ds.name() + " lists type [" + v.type() + "], which is not a VAR or FUNC");
                    }
                }
            }
        }
        checkNoContainmentCycle();
        java.util.Arrays.fill(sizes, UNKNOWN);
        for (int id = 0; id < types.size(); id++) computeSize(id);
    }

    /** The types a type contains by value (a pointer refers, it does not contain). */
    private List<Integer> containedTypes(BtfType t) {
        return switch (t) {
            case Struct s -> s.members().stream().map(Member::type).toList();
            case Array a -> List.of(a.elementType());
            case Typedef td -> List.of(td.type());
            case Modifier m -> List.of(m.type());
            case Var v -> List.of(v.type());
            case DataSec ds -> ds.vars().stream().map(VarSecInfo::type).toList();
            default -> List.of();
        };
    }

    /**
     * A type that contains itself by value — a struct member of its own type, a typedef of itself —
     * would have infinite size. Depth-first search with an explicit stack (a hostile chain can be
     * as long as the type section allows).
     */
    private void checkNoContainmentCycle() throws LoadException {
        byte[] state = new byte[types.size()]; // 0 unvisited, 1 on the current path, 2 done
        int[] stackIds = new int[types.size()];
        int[] stackNext = new int[types.size()];
        for (int root = 1; root < types.size(); root++) {
            if (state[root] != 0) continue;
            int depth = 0;
            stackIds[0] = root;
            stackNext[0] = 0;
            state[root] = 1;
            depth = 1;
            while (depth > 0) {
                int id = stackIds[depth - 1];
                List<Integer> children = containedTypes(types.get(id));
                if (stackNext[depth - 1] < children.size()) {
                    int child = children.get(stackNext[depth - 1]++);
                    if (state[child] == 1) {
                        StringBuilder cycle = new StringBuilder();
                        int from = depth - 1;
                        while (stackIds[from] != child) from--;
                        for (int i = from; i < depth; i++) cycle.append('[').append(stackIds[i]).append("] ").append(describe(stackIds[i])).append(" -> ");
                        cycle.append('[').append(child).append(']');
                        throw new LoadException(".BTF: type cycle: " + cycle + " (a type cannot contain itself)");
                    }
                    if (state[child] == 0) {
                        state[child] = 1;
                        stackIds[depth] = child;
                        stackNext[depth] = 0;
                        depth++;
                    }
                } else {
                    state[id] = 2;
                    depth--;
                }
            }
        }
    }

    private static List<Integer> references(BtfType t) {
        return switch (t) {
            case Ptr p -> List.of(p.type());
            case Array a -> List.of(a.elementType(), a.indexType());
            case Struct s -> s.members().stream().map(Member::type).toList();
            case Typedef td -> List.of(td.type());
            case Modifier m -> List.of(m.type());
            case Func f -> List.of(f.type());
            case FuncProto fp -> {
                List<Integer> refs = new ArrayList<>();
                refs.add(fp.returnType());
                fp.params().forEach(p -> refs.add(p.type()));
                yield refs;
            }
            case Var v -> List.of(v.type());
            case DataSec ds -> ds.vars().stream().map(VarSecInfo::type).toList();
            case DeclTag dt -> List.of(dt.type());
            default -> List.of();
        };
    }

    /** The next type in a chain that determines a type's size, or -1 if the type's size is its own. */
    private int sizeSuccessor(int id) {
        return switch (types.get(id)) {
            case Typedef td -> td.type();
            case Modifier m -> m.type();
            case Var v -> v.type();
            case Array a -> a.elementType();
            default -> -1;
        };
    }

    /** Walks the chain iteratively (a hostile chain may be very long), detecting loops on the way. */
    private void computeSize(int start) throws LoadException {
        if (sizes[start] != UNKNOWN) return;
        List<Integer> path = new ArrayList<>();
        java.util.Set<Integer> onPath = new java.util.HashSet<>();
        int current = start;
        while (current >= 0 && sizes[current] == UNKNOWN) {
            if (!onPath.add(current)) {
                StringBuilder cycle = new StringBuilder();
                for (int i = path.indexOf(current); i < path.size(); i++) cycle.append('[').append(path.get(i)).append("] ").append(describe(path.get(i))).append(" -> ");
                cycle.append('[').append(current).append(']');
                throw new LoadException(".BTF: type cycle: " + cycle);
            }
            path.add(current);
            current = sizeSuccessor(current);
        }
        for (int i = path.size() - 1; i >= 0; i--) {
            int id = path.get(i);
            int next = sizeSuccessor(id);
            long size;
            if (next < 0) {
                size = ownSize(types.get(id));
            } else if (types.get(id) instanceof Array a) {
                long element = sizes[next];
                if (element == UNSIZED) {
                    throw new LoadException(".BTF: type [" + id + "] array of " + describe(next) + ", which has no size");
                }
                if (a.elements() != 0 && element > 0xffffffffL / a.elements()) {
                    throw new LoadException(".BTF: type [" + id + "] array of " + a.elements() + " x " + element + " bytes overflows");
                }
                size = element * a.elements();
            } else {
                size = sizes[next];
            }
            sizes[id] = size;
        }
    }

    private static long ownSize(BtfType t) {
        return switch (t) {
            case Int i -> i.size();
            case Ptr p -> 8;
            case Struct s -> s.size();
            case BtfType.Enum e -> e.size();
            case BtfType.Float f -> f.size();
            case DataSec ds -> ds.size();
            default -> UNSIZED;
        };
    }

    private String describe(int id) {
        BtfType t = types.get(id);
        String kind = t.kind().name().toLowerCase(java.util.Locale.ROOT);
        return t.name().isEmpty() ? kind : kind + " " + t.name();
    }

    /** Number of types, including {@code void} (id 0). */
    public int typeCount() { return types.size(); }

    public List<BtfType> types() { return types; }

    public BtfType type(int id) throws LoadException {
        if (id < 0 || id >= types.size()) throw new LoadException(".BTF: type id " + id + " out of range (" + types.size() + " types)");
        return types.get(id);
    }

    /** The size in bytes of {@code id}, following typedefs, modifiers, variables and arrays. */
    public long sizeOf(int id) throws LoadException {
        type(id);
        if (sizes[id] == UNSIZED) throw new LoadException(".BTF: type [" + id + "] " + describe(id) + " has no size");
        return sizes[id];
    }

    /** The type behind typedefs, {@code const}, {@code volatile}, {@code restrict} and type tags. */
    public int skipModifiers(int id) throws LoadException {
        type(id);
        // Validation rejected loops through these kinds, so the walk ends within typeCount steps.
        for (int steps = 0; steps <= types.size(); steps++) {
            switch (types.get(id)) {
                case Typedef td -> id = td.type();
                case Modifier m -> id = m.type();
                default -> { return id; }
            }
        }
        throw new LoadException(".BTF: modifier chain from type [" + id + "] does not end");
    }

    /** The string at {@code offset} of the BTF string table. */
    public String string(long offset) throws LoadException {
        return Bytes.string(strings, offset, ".BTF");
    }

    /** The id of the first type of {@code kind} named {@code name}. */
    public Optional<Integer> find(BtfKind kind, String name) {
        for (int id = 1; id < types.size(); id++) {
            BtfType t = types.get(id);
            if (t.kind() == kind && t.name().equals(name)) return Optional.of(id);
        }
        return Optional.empty();
    }
}
