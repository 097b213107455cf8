package io.kflex.isa;

/** Conditional jump operations of the JMP and JMP32 classes. */
public enum JumpOp {
    JEQ(0x10, "jeq", "=="),
    JGT(0x20, "jgt", ">"),
    JGE(0x30, "jge", ">="),
    JSET(0x40, "jset", "&"),
    JNE(0x50, "jne", "!="),
    JSGT(0x60, "jsgt", "s>"),
    JSGE(0x70, "jsge", "s>="),
    JLT(0xa0, "jlt", "<"),
    JLE(0xb0, "jle", "<="),
    JSLT(0xc0, "jslt", "s<"),
    JSLE(0xd0, "jsle", "s<=");

    private final int code;
    private final String mnemonic;
    private final String llvmOperator;

    JumpOp(int code, String mnemonic, String llvmOperator) {
        this.code = code;
        this.mnemonic = mnemonic;
        this.llvmOperator = llvmOperator;
    }

    public int code() { return code; }

    public String mnemonic() { return mnemonic; }

    public String llvmOperator() { return llvmOperator; }

    /** Evaluates the condition on 64-bit operands (callers narrow for JMP32). */
    public boolean test(long a, long b) {
        return switch (this) {
            case JEQ -> a == b;
            case JGT -> Long.compareUnsigned(a, b) > 0;
            case JGE -> Long.compareUnsigned(a, b) >= 0;
            case JSET -> (a & b) != 0;
            case JNE -> a != b;
            case JSGT -> a > b;
            case JSGE -> a >= b;
            case JLT -> Long.compareUnsigned(a, b) < 0;
            case JLE -> Long.compareUnsigned(a, b) <= 0;
            case JSLT -> a < b;
            case JSLE -> a <= b;
        };
    }

    /** Evaluates the condition on the low 32 bits of both operands (JMP32 class). */
    public boolean test32(long a, long b) {
        int x = (int) a;
        int y = (int) b;
        return switch (this) {
            case JEQ -> x == y;
            case JGT -> Integer.compareUnsigned(x, y) > 0;
            case JGE -> Integer.compareUnsigned(x, y) >= 0;
            case JSET -> (x & y) != 0;
            case JNE -> x != y;
            case JSGT -> x > y;
            case JSGE -> x >= y;
            case JLT -> Integer.compareUnsigned(x, y) < 0;
            case JLE -> Integer.compareUnsigned(x, y) <= 0;
            case JSLT -> x < y;
            case JSLE -> x <= y;
        };
    }

    public static JumpOp of(int opBits) {
        for (JumpOp op : values()) {
            if (op.code == opBits) return op;
        }
        return null;
    }
}
