package io.kflex.engine;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.util.List;

/** Small factories for building test programs instruction by instruction. */
public final class Asm {
    private Asm() {}

    public static Code code(Instruction... insns) {
        return code(List.of(insns));
    }

    public static Code code(List<Instruction> insns) {
        try {
            return Code.of(insns);
        } catch (InvalidInstructionException e) {
            throw new IllegalArgumentException(e);
        }
    }

    public static Alu mov(int dst, int imm) { return new Alu(true, AluOp.MOV, dst, Operand.imm(imm)); }
    public static Alu movr(int dst, int src) { return new Alu(true, AluOp.MOV, dst, Operand.reg(src)); }
    public static Alu alu64(AluOp op, int dst, int imm) { return new Alu(true, op, dst, Operand.imm(imm)); }
    public static Alu alu64r(AluOp op, int dst, int src) { return new Alu(true, op, dst, Operand.reg(src)); }
    public static Alu alu32(AluOp op, int dst, int imm) { return new Alu(false, op, dst, Operand.imm(imm)); }
    public static Alu alu32r(AluOp op, int dst, int src) { return new Alu(false, op, dst, Operand.reg(src)); }
    public static Alu add(int dst, int imm) { return alu64(AluOp.ADD, dst, imm); }
    public static Alu addr(int dst, int src) { return alu64r(AluOp.ADD, dst, src); }

    public static Endian endian(ByteSwap kind, int bits, int dst) { return new Endian(kind, bits, dst); }

    public static LoadImm64 lddw(int dst, long value) { return LoadImm64.of(dst, value); }
    /** {@code lddw dst, <func>} naming the subprogram {@code relative} slots after the lddw's first slot + 1. */
    public static LoadImm64 lddwFunc(int dst, int relative) { return new LoadImm64(dst, LoadImm64.FUNC, relative, 0); }
    public static LoadImm64 lddwPseudo(int dst, int pseudo, int imm) { return new LoadImm64(dst, pseudo, imm, 0); }

    public static Load ldx(Size size, int dst, int src, int off) { return new Load(size, false, dst, src, (short) off); }
    public static Load ldxs(Size size, int dst, int src, int off) { return new Load(size, true, dst, src, (short) off); }
    public static Store st(Size size, int dst, int off, int imm) { return new Store(size, dst, (short) off, imm); }
    public static StoreReg stx(Size size, int dst, int src, int off) { return new StoreReg(size, dst, src, (short) off); }
    public static Atomic atomic(Size size, AtomicOp op, boolean fetch, int dst, int src, int off) {
        return new Atomic(size, op, fetch, dst, src, (short) off);
    }

    public static Jump jmp(JumpOp op, int dst, int imm, int off) { return new Jump(true, op, dst, Operand.imm(imm), (short) off); }
    public static Jump jmpr(JumpOp op, int dst, int src, int off) { return new Jump(true, op, dst, Operand.reg(src), (short) off); }
    public static Jump jmp32(JumpOp op, int dst, int imm, int off) { return new Jump(false, op, dst, Operand.imm(imm), (short) off); }
    public static Jump jmp32r(JumpOp op, int dst, int src, int off) { return new Jump(false, op, dst, Operand.reg(src), (short) off); }
    public static Goto ja(int off) { return new Goto(off, false); }
    public static Goto ja32(int off) { return new Goto(off, true); }
    public static MayGoto mayGoto(int off) { return new MayGoto((short) off); }

    public static Call call(int helper) { return Call.helper(helper); }
    public static Call callLocal(int relative) { return Call.local(relative); }
    public static Call callKfunc(int btfId) { return Call.kfunc(btfId); }
    public static CallX callx(int reg) { return new CallX(reg); }
    public static Exit exit() { return new Exit(); }
}
