package io.kflex.interp;

import io.kflex.isa.AluOp;

/**
 * The ALU semantics of eBPF (RFC 9669 §4.1 and Linux), shared by the interpreter and usable by
 * generated code for the operations Java does not provide directly. Division by zero yields 0,
 * modulo by zero leaves the dividend; the signed overflow case {@code MIN / -1} yields
 * {@code MIN} and {@code MIN % -1} yields 0, exactly as Java's {@code /} and {@code %} do; shift
 * counts are masked to the operand width (Java's shift operators do the same).
 */
public final class Arithmetic {
    private Arithmetic() {}

    /** {@code dst op src} on 64 bits; {@code src} is the register or the sign-extended immediate. */
    public static long alu64(AluOp op, long dst, long src) {
        return switch (op) {
            case ADD -> dst + src;
            case SUB -> dst - src;
            case MUL -> dst * src;
            case DIV -> src == 0 ? 0 : Long.divideUnsigned(dst, src);
            case SDIV -> src == 0 ? 0 : dst / src;
            case OR -> dst | src;
            case AND -> dst & src;
            case LSH -> dst << src;
            case RSH -> dst >>> src;
            case NEG -> -dst;
            case MOD -> src == 0 ? dst : Long.remainderUnsigned(dst, src);
            case SMOD -> src == 0 ? dst : dst % src;
            case XOR -> dst ^ src;
            case MOV -> src;
            case MOVSX8 -> (byte) src;
            case MOVSX16 -> (short) src;
            case MOVSX32 -> (int) src;
            case ARSH -> dst >> src;
        };
    }

    /**
     * {@code dst op src} on the low 32 bits of both operands; the result is zero-extended to 64
     * bits (a sign-extending move sign-extends into 32 bits first, then zero-extends).
     */
    public static long alu32(AluOp op, long dst, long src) {
        int a = (int) dst;
        int b = (int) src;
        int result = switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> b == 0 ? 0 : Integer.divideUnsigned(a, b);
            case SDIV -> b == 0 ? 0 : a / b;
            case OR -> a | b;
            case AND -> a & b;
            case LSH -> a << b;
            case RSH -> a >>> b;
            case NEG -> -a;
            case MOD -> b == 0 ? a : Integer.remainderUnsigned(a, b);
            case SMOD -> b == 0 ? a : a % b;
            case XOR -> a ^ b;
            case MOV, MOVSX32 -> b;
            case MOVSX8 -> (byte) b;
            case MOVSX16 -> (short) b;
            case ARSH -> a >> b;
        };
        return result & 0xffffffffL;
    }

    /** {@code le16/32/64} on a little-endian machine: keeps the low {@code bits}, zero-extended. */
    public static long toLittleEndian(long value, int bits) {
        return switch (bits) {
            case 16 -> value & 0xffffL;
            case 32 -> value & 0xffffffffL;
            default -> value;
        };
    }

    /** {@code be16/32/64} and {@code bswap16/32/64}: reverses the low {@code bits}, zero-extended. */
    public static long byteSwap(long value, int bits) {
        return switch (bits) {
            case 16 -> Short.reverseBytes((short) value) & 0xffffL;
            case 32 -> Integer.reverseBytes((int) value) & 0xffffffffL;
            default -> Long.reverseBytes(value);
        };
    }
}
