package io.kflex.engine;

import io.kflex.isa.AluOp;
import io.kflex.isa.JumpOp;
import java.math.BigInteger;

/**
 * An independent model of eBPF arithmetic and comparisons, written from the definitions of RFC
 * 9669 with arbitrary-precision integers: operands are read as unsigned or two's-complement
 * numbers of the operation's width, the exact mathematical result is computed and reduced modulo
 * 2^width. It shares no code with the engines.
 */
final class ArithmeticModel {
    private ArithmeticModel() {}

    private static BigInteger modulus(int bits) {
        return BigInteger.ONE.shiftLeft(bits);
    }

    /** The low {@code bits} of {@code v} as an unsigned number. */
    static BigInteger unsigned(long v, int bits) {
        return BigInteger.valueOf(v).mod(modulus(bits));
    }

    /** The low {@code bits} of {@code v} as a two's-complement number. */
    static BigInteger signed(long v, int bits) {
        BigInteger u = unsigned(v, bits);
        return u.testBit(bits - 1) ? u.subtract(modulus(bits)) : u;
    }

    /** {@code v} reduced modulo 2^bits, as the 64-bit register value (zero-extended when bits = 32). */
    static long wrap(BigInteger v, int bits) {
        return v.mod(modulus(bits)).longValue();
    }

    /** The register value after {@code dst op= src} at width {@code bits} (32 or 64). */
    static long alu(AluOp op, int bits, long dst, long src) {
        BigInteger a = unsigned(dst, bits);
        BigInteger b = unsigned(src, bits);
        BigInteger as = signed(dst, bits);
        BigInteger bs = signed(src, bits);
        int shift = b.mod(BigInteger.valueOf(bits)).intValue();
        BigInteger result = switch (op) {
            case ADD -> a.add(b);
            case SUB -> a.subtract(b);
            case MUL -> a.multiply(b);
            case DIV -> b.signum() == 0 ? BigInteger.ZERO : a.divide(b);
            case SDIV -> bs.signum() == 0 ? BigInteger.ZERO : as.divide(bs); // BigInteger truncates toward zero
            case MOD -> b.signum() == 0 ? a : a.mod(b);
            case SMOD -> bs.signum() == 0 ? a : as.remainder(bs);             // sign of the dividend
            case OR -> a.or(b);
            case AND -> a.and(b);
            case XOR -> a.xor(b);
            case LSH -> a.shiftLeft(shift);
            case RSH -> a.shiftRight(shift);
            case ARSH -> as.shiftRight(shift);                                 // floor, i.e. sign-filling
            case NEG -> a.negate();
            case MOV -> b;
            case MOVSX8 -> signed(src, 8);
            case MOVSX16 -> signed(src, 16);
            case MOVSX32 -> signed(src, 32);
        };
        return wrap(result, bits);
    }

    /** Whether {@code dst op src} holds at width {@code bits} (32 for JMP32, 64 for JMP). */
    static boolean condition(JumpOp op, int bits, long dst, long src) {
        BigInteger a = unsigned(dst, bits);
        BigInteger b = unsigned(src, bits);
        int unsignedOrder = a.compareTo(b);
        int signedOrder = signed(dst, bits).compareTo(signed(src, bits));
        return switch (op) {
            case JEQ -> unsignedOrder == 0;
            case JNE -> unsignedOrder != 0;
            case JGT -> unsignedOrder > 0;
            case JGE -> unsignedOrder >= 0;
            case JLT -> unsignedOrder < 0;
            case JLE -> unsignedOrder <= 0;
            case JSGT -> signedOrder > 0;
            case JSGE -> signedOrder >= 0;
            case JSLT -> signedOrder < 0;
            case JSLE -> signedOrder <= 0;
            case JSET -> a.and(b).signum() != 0;
        };
    }
}
