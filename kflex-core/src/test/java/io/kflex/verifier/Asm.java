package io.kflex.verifier;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * A small assembler for verifier tests: instructions in order, jumps to named labels. Method
 * names follow the conformance dialect ({@code mov}, {@code ldxw}, {@code jlt}); a trailing
 * {@code r} means a register source, {@code 32} a 32-bit operation.
 */
final class Asm {
    private final List<IntFunction<Instruction>> items = new ArrayList<>();
    private final List<Integer> slots = new ArrayList<>();
    private final Map<String, Integer> labels = new HashMap<>();
    private int pc;

    private Asm add(int width, IntFunction<Instruction> at) {
        items.add(at);
        slots.add(pc);
        pc += width;
        return this;
    }

    private Asm add(Instruction insn) { return add(insn.slots(), p -> insn); }

    /** Any instruction as is. */
    Asm insn(Instruction insn) { return add(insn); }

    Asm label(String name) {
        if (labels.put(name, pc) != null) throw new IllegalArgumentException("label " + name + " twice");
        return this;
    }

    private int target(String label, int from) {
        Integer t = labels.get(label);
        if (t == null) throw new IllegalArgumentException("no label " + label);
        return t - from - 1;
    }

    Code build() {
        List<Instruction> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) out.add(items.get(i).apply(slots.get(i)));
        try {
            return Code.of(out);
        } catch (InvalidInstructionException e) {
            throw new IllegalStateException(e);
        }
    }

    // ALU
    Asm alu(AluOp op, int dst, int imm) { return add(new Alu(true, op, dst, Operand.imm(imm))); }
    Asm alur(AluOp op, int dst, int src) { return add(new Alu(true, op, dst, Operand.reg(src))); }
    Asm alu32(AluOp op, int dst, int imm) { return add(new Alu(false, op, dst, Operand.imm(imm))); }
    Asm alu32r(AluOp op, int dst, int src) { return add(new Alu(false, op, dst, Operand.reg(src))); }
    Asm mov(int dst, int imm) { return alu(AluOp.MOV, dst, imm); }
    Asm movr(int dst, int src) { return alur(AluOp.MOV, dst, src); }
    Asm mov32(int dst, int imm) { return alu32(AluOp.MOV, dst, imm); }
    Asm mov32r(int dst, int src) { return alu32r(AluOp.MOV, dst, src); }
    Asm add(int dst, int imm) { return alu(AluOp.ADD, dst, imm); }
    Asm addr(int dst, int src) { return alur(AluOp.ADD, dst, src); }
    Asm sub(int dst, int imm) { return alu(AluOp.SUB, dst, imm); }
    Asm and(int dst, int imm) { return alu(AluOp.AND, dst, imm); }
    Asm lsh(int dst, int imm) { return alu(AluOp.LSH, dst, imm); }
    Asm lddw(int dst, long v) { return add(LoadImm64.of(dst, v)); }
    Asm ldMap(int dst, int index) { return add(new LoadImm64(dst, LoadImm64.MAP_IDX, index, 0)); }
    Asm ldMapValue(int dst, int index, int off) { return add(new LoadImm64(dst, LoadImm64.MAP_IDX_VALUE, index, off)); }
    Asm ldFunc(int dst, String label) { return add(2, p -> new LoadImm64(dst, LoadImm64.FUNC, target(label, p), 0)); }
    Asm castKern(int dst, int src) { return add(new AddrSpaceCast(dst, src, 0, 1)); }

    // Memory
    Asm ldx(Size size, int dst, int src, int off) { return add(new Load(size, false, dst, src, (short) off)); }
    Asm ldxdw(int dst, int src, int off) { return ldx(Size.DW, dst, src, off); }
    Asm ldxw(int dst, int src, int off) { return ldx(Size.W, dst, src, off); }
    Asm ldxb(int dst, int src, int off) { return ldx(Size.B, dst, src, off); }
    Asm stx(Size size, int dst, int off, int src) { return add(new StoreReg(size, dst, src, (short) off)); }
    Asm stxdw(int dst, int off, int src) { return stx(Size.DW, dst, off, src); }
    Asm stxw(int dst, int off, int src) { return stx(Size.W, dst, off, src); }
    Asm st(Size size, int dst, int off, int imm) { return add(new Store(size, dst, (short) off, imm)); }
    Asm stdw(int dst, int off, int imm) { return st(Size.DW, dst, off, imm); }
    Asm stw(int dst, int off, int imm) { return st(Size.W, dst, off, imm); }
    Asm atomicAdd(Size size, int dst, int off, int src) { return add(new Atomic(size, AtomicOp.ADD, false, dst, src, (short) off)); }

    // Control flow
    Asm jmp(JumpOp op, int dst, int imm, String label) { return add(1, p -> new Jump(true, op, dst, Operand.imm(imm), (short) target(label, p))); }
    Asm jmpr(JumpOp op, int dst, int src, String label) { return add(1, p -> new Jump(true, op, dst, Operand.reg(src), (short) target(label, p))); }
    Asm jmp32(JumpOp op, int dst, int imm, String label) { return add(1, p -> new Jump(false, op, dst, Operand.imm(imm), (short) target(label, p))); }
    Asm ja(String label) { return add(1, p -> new Goto(target(label, p), false)); }
    Asm mayGoto(String label) { return add(1, p -> new MayGoto((short) target(label, p))); }
    Asm call(int helper) { return add(Call.helper(helper)); }
    Asm callLocal(String label) { return add(1, p -> Call.local(target(label, p))); }
    Asm callx(int reg) { return add(new CallX(reg)); }
    Asm exit() { return add(new Exit()); }

    /** {@code r0 = imm; exit}. */
    Asm ret(int imm) { return mov(0, imm).exit(); }
}
