package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static io.kflex.engine.Runs.r0;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.ByteSwap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AluSemanticsTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    /** r0 = a; r0 op= b (register form); exit. */
    private static long op64(Engine e, AluOp op, long a, long b) {
        return r0(e, code(movr(0, 1), alu64r(op, 0, 2), exit()), a, b);
    }

    private static long op32(Engine e, AluOp op, long a, long b) {
        return r0(e, code(movr(0, 1), alu32r(op, 0, 2), exit()), a, b);
    }

    private static long op64k(Engine e, AluOp op, long a, int imm) {
        return r0(e, code(movr(0, 1), alu64(op, 0, imm), exit()), a);
    }

    private static long op32k(Engine e, AluOp op, long a, int imm) {
        return r0(e, code(movr(0, 1), alu32(op, 0, imm), exit()), a);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void addWrapsAndAlu32ZeroExtends(Engine e) {
        assertThat(op64(e, AluOp.ADD, Long.MAX_VALUE, 1)).isEqualTo(Long.MIN_VALUE);
        assertThat(op32(e, AluOp.ADD, 0xffff_ffff_ffff_ffffL, 1)).isZero();
        assertThat(op32(e, AluOp.ADD, 0x1234_5678_7fff_ffffL, 1)).isEqualTo(0x8000_0000L);
        assertThat(op32(e, AluOp.MOV, 0, 0xdead_beef_8000_0001L)).isEqualTo(0x8000_0001L);
        assertThat(op32k(e, AluOp.MOV, 0, -1)).isEqualTo(0xffff_ffffL);
        assertThat(op64k(e, AluOp.MOV, 0, -1)).isEqualTo(-1L);
        assertThat(op64k(e, AluOp.ADD, 5, -7)).isEqualTo(-2L);
        assertThat(op32k(e, AluOp.SUB, 5, 7)).isEqualTo(0xffff_fffeL);
        assertThat(op64(e, AluOp.MUL, 0x1_0000_0001L, 0x1_0000_0001L)).isEqualTo(0x2_0000_0001L);
        assertThat(op32(e, AluOp.MUL, 0x1_0000_0003L, 0xffff_ffffL)).isEqualTo(0xffff_fffdL);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void divisionAndModuloByZero(Engine e) {
        assertThat(op64(e, AluOp.DIV, 42, 0)).isZero();
        assertThat(op64(e, AluOp.SDIV, -42, 0)).isZero();
        assertThat(op64(e, AluOp.MOD, -42, 0)).isEqualTo(-42L);
        assertThat(op64(e, AluOp.SMOD, -42, 0)).isEqualTo(-42L);
        assertThat(op32(e, AluOp.DIV, 42, 0x1_0000_0000L)).as("divisor's low 32 bits are zero").isZero();
        assertThat(op32(e, AluOp.MOD, 0xaaaa_bbbb_cccc_ddddL, 0)).isEqualTo(0xcccc_ddddL);
        assertThat(op32(e, AluOp.SMOD, 0xaaaa_bbbb_cccc_ddddL, 0)).isEqualTo(0xcccc_ddddL);
        assertThat(op32k(e, AluOp.DIV, 7, 0)).isZero();
        assertThat(op64k(e, AluOp.MOD, 7, 0)).isEqualTo(7);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void unsignedAndSignedDivision(Engine e) {
        assertThat(op64(e, AluOp.DIV, -1L, 2)).isEqualTo(Long.MAX_VALUE);
        assertThat(op64(e, AluOp.SDIV, -7, 2)).as("truncates toward zero").isEqualTo(-3L);
        assertThat(op64(e, AluOp.SMOD, -7, 2)).as("sign of the dividend").isEqualTo(-1L);
        assertThat(op64(e, AluOp.SMOD, 7, -2)).isEqualTo(1L);
        assertThat(op64(e, AluOp.MOD, -1L, 10)).isEqualTo(5L); // 18446744073709551615 % 10
        assertThat(op64(e, AluOp.SDIV, Long.MIN_VALUE, -1)).isEqualTo(Long.MIN_VALUE);
        assertThat(op64(e, AluOp.SMOD, Long.MIN_VALUE, -1)).isZero();
        assertThat(op32(e, AluOp.SDIV, 0x8000_0000L, -1)).isEqualTo(0x8000_0000L);
        assertThat(op32(e, AluOp.SMOD, 0x8000_0000L, -1)).isZero();
        assertThat(op32(e, AluOp.DIV, 0xffff_fffeL, 2)).isEqualTo(0x7fff_ffffL);
        assertThat(op32(e, AluOp.SDIV, 0xffff_fffeL, 2)).isEqualTo(0xffff_ffffL);
        // 64-bit unsigned division by an immediate uses the sign-extended immediate.
        assertThat(op64k(e, AluOp.DIV, -1L, -1)).isEqualTo(1);
        assertThat(op64k(e, AluOp.DIV, 100, -1)).isZero();
        assertThat(op32k(e, AluOp.DIV, 0xffff_ffffL, -1)).isEqualTo(1);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void shiftsMaskTheirCount(Engine e) {
        assertThat(op64(e, AluOp.LSH, 1, 65)).isEqualTo(2);
        assertThat(op64(e, AluOp.RSH, Long.MIN_VALUE, 63)).isEqualTo(1);
        assertThat(op64(e, AluOp.ARSH, Long.MIN_VALUE, 63)).isEqualTo(-1L);
        assertThat(op64(e, AluOp.ARSH, Long.MIN_VALUE, 64)).isEqualTo(Long.MIN_VALUE);
        assertThat(op32(e, AluOp.LSH, 1, 33)).isEqualTo(2);
        assertThat(op32(e, AluOp.RSH, 0xffff_ffff_8000_0000L, 31)).isEqualTo(1);
        assertThat(op32(e, AluOp.ARSH, 0x8000_0000L, 31)).isEqualTo(0xffff_ffffL);
        assertThat(op32k(e, AluOp.ARSH, 0x8000_0000L, 4)).isEqualTo(0xf800_0000L);
        assertThat(op32k(e, AluOp.LSH, 0xffff_ffffL, 31)).isEqualTo(0x8000_0000L);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void negationAndBitwise(Engine e) {
        assertThat(op64(e, AluOp.NEG, 5, 0)).isEqualTo(-5L);
        assertThat(op64(e, AluOp.NEG, Long.MIN_VALUE, 0)).isEqualTo(Long.MIN_VALUE);
        assertThat(op32(e, AluOp.NEG, 5, 0)).isEqualTo(0xffff_fffbL);
        assertThat(op32(e, AluOp.NEG, 0xffff_ffff_0000_0000L, 0)).isZero();
        assertThat(op64k(e, AluOp.AND, -1L, -16)).isEqualTo(-16L);
        assertThat(op32k(e, AluOp.OR, 0xffff_ffff_0000_0000L, 1)).isEqualTo(1);
        assertThat(op64(e, AluOp.XOR, 0xff00L, 0x0ff0L)).isEqualTo(0xf0f0L);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void signExtendingMoves(Engine e) {
        assertThat(op64(e, AluOp.MOVSX8, 0, 0x1234_5680L)).isEqualTo(-128L);
        assertThat(op64(e, AluOp.MOVSX16, 0, 0xffff_8001L)).isEqualTo(-32767L);
        assertThat(op64(e, AluOp.MOVSX32, 0, 0x1_8000_0000L)).isEqualTo(-2147483648L);
        assertThat(op64(e, AluOp.MOVSX8, 0, 0x7fL)).isEqualTo(0x7fL);
        assertThat(op32(e, AluOp.MOVSX8, 0xffff_ffff_ffff_ffffL, 0x80L)).as("sign-extended into 32 bits only").isEqualTo(0xffff_ff80L);
        assertThat(op32(e, AluOp.MOVSX16, 0, 0x8000L)).isEqualTo(0xffff_8000L);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void byteSwapsOnALittleEndianMachine(Engine e) {
        long v = 0x0123_4567_89ab_cdefL;
        assertThat(swap(e, ByteSwap.TO_LE, 16, v)).isEqualTo(0xcdefL);
        assertThat(swap(e, ByteSwap.TO_LE, 32, v)).isEqualTo(0x89ab_cdefL);
        assertThat(swap(e, ByteSwap.TO_LE, 64, v)).isEqualTo(v);
        assertThat(swap(e, ByteSwap.TO_BE, 16, v)).isEqualTo(0xefcdL);
        assertThat(swap(e, ByteSwap.TO_BE, 32, v)).isEqualTo(0xefcd_ab89L);
        assertThat(swap(e, ByteSwap.TO_BE, 64, v)).isEqualTo(0xefcd_ab89_6745_2301L);
        assertThat(swap(e, ByteSwap.BSWAP, 16, v)).isEqualTo(0xefcdL);
        assertThat(swap(e, ByteSwap.BSWAP, 32, v)).isEqualTo(0xefcd_ab89L);
        assertThat(swap(e, ByteSwap.BSWAP, 64, v)).isEqualTo(0xefcd_ab89_6745_2301L);
    }

    private static long swap(Engine e, ByteSwap kind, int bits, long value) {
        return r0(e, code(movr(0, 1), endian(kind, bits, 0), exit()), value);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void lddwLoadsAFull64BitConstant(Engine e) {
        Code code = code(lddw(0, 0x8123_4567_89ab_cdefL), exit());
        assertThat(r0(e, code)).isEqualTo(0x8123_4567_89ab_cdefL);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void argumentsArriveInR1ToR5(Engine e) {
        Code code = code(movr(0, 1), addr(0, 2), addr(0, 3), addr(0, 4), addr(0, 5), exit());
        assertThat(r0(e, code, 1, 20, 300, 4000, 50000)).isEqualTo(54321);
        assertThat(r0(e, code, 1, 2)).as("missing arguments are zero").isEqualTo(3);
    }
}
