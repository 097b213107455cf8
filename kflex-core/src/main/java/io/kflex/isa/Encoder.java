package io.kflex.isa;

import static io.kflex.isa.Opcodes.*;

import io.kflex.isa.Instruction.*;

/** Encodes {@link Instruction}s into their 8-byte slots; the exact inverse of {@link Decoder}. */
public final class Encoder {
    private Encoder() {}

    /** The slots of one instruction: one word, or two for {@code lddw}. */
    public static long[] encode(Instruction insn) {
        return switch (insn) {
            case Alu a -> one(alu(a));
            case Endian e -> {
                int cls = e.kind() == ByteSwap.BSWAP ? ALU64 : ALU;
                int src = e.kind() == ByteSwap.TO_BE ? X : K;
                yield one(new RawInstruction(cls | END | src, e.dst(), 0, (short) 0, e.bits()));
            }
            case AddrSpaceCast c -> one(new RawInstruction(ALU64 | X | AluOp.MOV.code(), c.dst(), c.src(), (short) 1, c.immediate()));
            case LoadImm64 l -> new long[] {
                new RawInstruction(LD | IMM | Size.DW.code(), l.dst(), l.pseudo(), (short) 0, l.imm()).word(),
                new RawInstruction(0, 0, 0, (short) 0, l.nextImm()).word()
            };
            case Load l -> one(new RawInstruction(LDX | (l.signed() ? MEMSX : MEM) | l.size().code(), l.dst(), l.src(), l.off(), 0));
            case Store s -> one(new RawInstruction(ST | MEM | s.size().code(), s.dst(), 0, s.off(), s.imm()));
            case StoreReg s -> one(new RawInstruction(STX | MEM | s.size().code(), s.dst(), s.src(), s.off(), 0));
            case Atomic a -> one(new RawInstruction(STX | ATOMIC | a.size().code(), a.dst(), a.src(), a.off(), a.immediate()));
            case Jump j -> {
                int cls = j.wide() ? JMP : JMP32;
                yield one(switch (j.src()) {
                    case Operand.Reg r -> new RawInstruction(cls | X | j.op().code(), j.dst(), r.reg(), j.off(), 0);
                    case Operand.Imm k -> new RawInstruction(cls | K | j.op().code(), j.dst(), 0, j.off(), k.value());
                });
            }
            case Goto g -> one(g.longForm()
                    ? new RawInstruction(JMP32 | JA, 0, 0, (short) 0, g.offset())
                    : new RawInstruction(JMP | JA, 0, 0, (short) g.offset(), 0));
            case MayGoto m -> one(new RawInstruction(JMP | MAY_GOTO, 0, 0, m.off(), 0));
            case Call c -> one(new RawInstruction(JMP | CALL, 0, c.kind().srcReg(), c.off(), c.imm()));
            case CallX c -> one(new RawInstruction(JMP | X | CALL, c.reg(), 0, (short) 0, 0));
            case Exit e -> one(new RawInstruction(JMP | EXIT, 0, 0, (short) 0, 0));
        };
    }

    private static RawInstruction alu(Alu a) {
        int cls = a.wide() ? ALU64 : ALU;
        AluOp op = a.op();
        return switch (a.src()) {
            case Operand.Reg r -> new RawInstruction(cls | X | op.code(), a.dst(), r.reg(), (short) op.offset(), 0);
            case Operand.Imm k -> new RawInstruction(cls | K | op.code(), a.dst(), 0, (short) op.offset(), k.value());
        };
    }

    private static long[] one(RawInstruction raw) {
        return new long[] {raw.word()};
    }
}
