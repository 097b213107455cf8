package io.kflex.btf;

/** The BTF type kinds, numbered as in Linux's {@code include/uapi/linux/btf.h}. */
public enum BtfKind {
    VOID(0), INT(1), PTR(2), ARRAY(3), STRUCT(4), UNION(5), ENUM(6), FWD(7), TYPEDEF(8), VOLATILE(9), CONST(10),
    RESTRICT(11), FUNC(12), FUNC_PROTO(13), VAR(14), DATASEC(15), FLOAT(16), DECL_TAG(17), TYPE_TAG(18), ENUM64(19);

    private final int code;

    BtfKind(int code) { this.code = code; }

    public int code() { return code; }

    static BtfKind of(int code) {
        BtfKind[] all = values();
        return code >= 0 && code < all.length ? all[code] : null;
    }
}
