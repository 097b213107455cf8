package io.kflex.verifier;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.isa.AluOp;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Operand;

/** Instructions in the notation of Linux's verifier log ({@code r1 = *(u32 *)(r1 +0)}). */
final class InstructionText {
    private InstructionText() {}

    static String of(Instruction insn) {
        return switch (insn) {
            case Alu a -> alu(a);
            case Endian e -> "r" + e.dst() + " = " + switch (e.kind()) {
                case TO_LE -> "le";
                case TO_BE -> "be";
                case BSWAP -> "bswap";
            } + e.bits() + " r" + e.dst();
            case AddrSpaceCast c -> "r" + c.dst() + " = addr_space_cast(r" + c.src() + ", " + c.dstAddressSpace() + ", " + c.srcAddressSpace() + ")";
            case LoadImm64 l -> "r" + l.dst() + " = " + switch (l.pseudo()) {
                case LoadImm64.PLAIN -> "0x" + Long.toHexString(l.value()) + " ll";
                case LoadImm64.MAP_IDX -> "map[idx:" + l.imm() + "]";
                case LoadImm64.MAP_IDX_VALUE -> "map[idx:" + l.imm() + "][0]+" + l.nextImm();
                case LoadImm64.FUNC -> "func pc" + signed(l.imm());
                default -> "pseudo" + l.pseudo() + "(" + l.imm() + ", " + l.nextImm() + ")";
            };
            case Load l -> "r" + l.dst() + " = *(" + (l.signed() ? "s" + l.size().bytes() * 8 : l.size().cType()) + " *)(r" + l.src() + " " + signed(l.off()) + ")";
            case Store s -> "*(" + s.size().cType() + " *)(r" + s.dst() + " " + signed(s.off()) + ") = " + s.imm();
            case StoreReg s -> "*(" + s.size().cType() + " *)(r" + s.dst() + " " + signed(s.off()) + ") = r" + s.src();
            case Atomic a -> "lock *(" + a.size().cType() + " *)(r" + a.dst() + " " + signed(a.off()) + ") " + a.op().mnemonic()
                    + (a.fetch() ? " fetch" : "") + " r" + a.src();
            case Jump j -> "if " + reg(j.wide(), j.dst()) + " " + (j.op().llvmOperator().equals("&") ? "&" : j.op().llvmOperator()) + " "
                    + operand(j.wide(), j.src()) + " goto pc" + signed(j.off());
            case Goto g -> "goto pc" + signed(g.offset());
            case MayGoto m -> "may_goto pc" + signed(m.off());
            case Call c -> switch (c.kind()) {
                case HELPER -> "call " + HelperPrototypes.nameOf(c.imm()) + "#" + c.imm();
                case LOCAL -> "call pc" + signed(c.imm());
                case KFUNC -> "call kfunc#" + c.imm();
            };
            case CallX c -> "callx r" + c.reg();
            case Exit e -> "exit";
        };
    }

    private static String alu(Alu a) {
        String dst = reg(a.wide(), a.dst());
        if (a.op() == AluOp.NEG) return dst + " = -" + dst;
        if (a.op().isMovSx()) return dst + " = (s" + a.op().movSxBits() + ")" + operand(a.wide(), a.src());
        return dst + " " + a.op().llvmOperator() + " " + operand(a.wide(), a.src());
    }

    private static String reg(boolean wide, int r) { return (wide ? "r" : "w") + r; }

    private static String operand(boolean wide, Operand o) {
        return switch (o) {
            case Operand.Reg r -> reg(wide, r.reg());
            case Operand.Imm i -> Integer.toString(i.value());
        };
    }

    private static String signed(int v) { return v < 0 ? Integer.toString(v) : "+" + v; }
}
