package io.kflex.isa;

/**
 * Arithmetic operations of the ALU and ALU64 classes. Signed division and modulo share their
 * opcode with the unsigned forms and are told apart by {@code off = 1} (RFC 9669 §4.1); the
 * sign-extending moves share {@code MOV} with {@code off} = 8, 16 or 32.
 */
public enum AluOp {
    ADD(0x00, 0, "add", "+="),
    SUB(0x10, 0, "sub", "-="),
    MUL(0x20, 0, "mul", "*="),
    DIV(0x30, 0, "div", "/="),
    SDIV(0x30, 1, "sdiv", "s/="),
    OR(0x40, 0, "or", "|="),
    AND(0x50, 0, "and", "&="),
    LSH(0x60, 0, "lsh", "<<="),
    RSH(0x70, 0, "rsh", ">>="),
    NEG(0x80, 0, "neg", "= -"),
    MOD(0x90, 0, "mod", "%="),
    SMOD(0x90, 1, "smod", "s%="),
    XOR(0xa0, 0, "xor", "^="),
    MOV(0xb0, 0, "mov", "="),
    MOVSX8(0xb0, 8, "movsx8", "= (s8)"),
    MOVSX16(0xb0, 16, "movsx16", "= (s16)"),
    MOVSX32(0xb0, 32, "movsx32", "= (s32)"),
    ARSH(0xc0, 0, "arsh", "s>>=");

    private final int code;
    private final int offset;
    private final String mnemonic;
    private final String llvmOperator;

    AluOp(int code, int offset, String mnemonic, String llvmOperator) {
        this.code = code;
        this.offset = offset;
        this.mnemonic = mnemonic;
        this.llvmOperator = llvmOperator;
    }

    /** The operation bits of the opcode byte. */
    public int code() { return code; }

    /** The value the {@code off} field must hold for this operation. */
    public int offset() { return offset; }

    /** Mnemonic in the conformance dialect (without the {@code 32} suffix). */
    public String mnemonic() { return mnemonic; }

    /** The operator LLVM's BPF disassembler prints, e.g. {@code +=}. */
    public String llvmOperator() { return llvmOperator; }

    public boolean isMovSx() { return this == MOVSX8 || this == MOVSX16 || this == MOVSX32; }

    /** Bits a sign-extending move takes from its source (8, 16 or 32); 0 for other operations. */
    public int movSxBits() { return isMovSx() ? offset : 0; }

    /** Finds the operation for opcode bits and {@code off}, or null when the pair is not defined. */
    public static AluOp of(int opBits, int off) {
        for (AluOp op : values()) {
            if (op.code == opBits && op.offset == off) return op;
        }
        return null;
    }
}
