package io.kflex.btf;

import java.util.List;

/**
 * One BTF type. References to other types are type ids into the same {@link Btf}; they are checked
 * to be in range when the BTF is parsed.
 */
public sealed interface BtfType {
    BtfKind kind();

    /** The type's name, empty for anonymous types. */
    String name();

    /** Type id 0: {@code void}. */
    record Void() implements BtfType {
        public BtfKind kind() { return BtfKind.VOID; }
        public String name() { return "void"; }
    }

    /** An integer of {@code size} bytes; {@code bits} of it used from {@code bitOffset}. */
    record Int(String name, int size, boolean signed, boolean isChar, boolean isBool, int bitOffset, int bits) implements BtfType {
        public BtfKind kind() { return BtfKind.INT; }
    }

    record Ptr(int type) implements BtfType {
        public BtfKind kind() { return BtfKind.PTR; }
        public String name() { return ""; }
    }

    /** {@code elements} of {@code elementType}, indexed by {@code indexType}. */
    record Array(int elementType, int indexType, long elements) implements BtfType {
        public BtfKind kind() { return BtfKind.ARRAY; }
        public String name() { return ""; }
    }

    /** A member at {@code bitOffset}; {@code bitfieldSize} is 0 unless it is a bitfield. */
    record Member(String name, int type, long bitOffset, int bitfieldSize) {}

    /** A struct, or a union when {@code union}. */
    record Struct(String name, boolean union, long size, List<Member> members) implements BtfType {
        public BtfKind kind() { return union ? BtfKind.UNION : BtfKind.STRUCT; }

        public java.util.Optional<Member> member(String memberName) {
            return members.stream().filter(m -> m.name().equals(memberName)).findFirst();
        }
    }

    record Enumerator(String name, long value) {}

    /** An enum of {@code size} bytes; {@code wide} for ENUM64 (64-bit enumerators). */
    record Enum(String name, boolean wide, boolean signed, long size, List<Enumerator> values) implements BtfType {
        public BtfKind kind() { return wide ? BtfKind.ENUM64 : BtfKind.ENUM; }
    }

    record Fwd(String name, boolean union) implements BtfType {
        public BtfKind kind() { return BtfKind.FWD; }
    }

    record Typedef(String name, int type) implements BtfType {
        public BtfKind kind() { return BtfKind.TYPEDEF; }
    }

    /** {@code volatile}, {@code const}, {@code restrict} or a type tag ({@code name} is the tag) in front of {@code type}. */
    record Modifier(BtfKind kind, String name, int type) implements BtfType {}

    /** A function: {@code type} is its FUNC_PROTO; linkage 0 static, 1 global, 2 extern. */
    record Func(String name, int type, int linkage) implements BtfType {
        public BtfKind kind() { return BtfKind.FUNC; }
    }

    /** A parameter; an unnamed one with type 0 as the last one marks a variadic function. */
    record Param(String name, int type) {}

    record FuncProto(int returnType, List<Param> params) implements BtfType {
        public BtfKind kind() { return BtfKind.FUNC_PROTO; }
        public String name() { return ""; }
    }

    /** A variable: linkage 0 static, 1 global, 2 extern. */
    record Var(String name, int type, int linkage) implements BtfType {
        public BtfKind kind() { return BtfKind.VAR; }
    }

    /** A variable (VAR or FUNC type) placed at {@code offset} of a data section. */
    record VarSecInfo(int type, long offset, long size) {}

    /** A data section ({@code .data}, {@code .maps}, {@code .ksyms}, ...) and the variables in it. */
    record DataSec(String name, long size, List<VarSecInfo> vars) implements BtfType {
        public BtfKind kind() { return BtfKind.DATASEC; }
    }

    record Float(String name, int size) implements BtfType {
        public BtfKind kind() { return BtfKind.FLOAT; }
    }

    /** A declaration tag on {@code type}; {@code componentIndex} is -1 for the type itself or a member/parameter index. */
    record DeclTag(String name, int type, int componentIndex) implements BtfType {
        public BtfKind kind() { return BtfKind.DECL_TAG; }
    }
}
