package io.kflex.isa.asm;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Random instructions of every form, each one an encoding the decoder accepts. */
final class InstructionArbitraries {
    private InstructionArbitraries() {}

    static Arbitrary<Instruction> any() {
        return Arbitraries.oneOf(
                alu(), endian(), addrSpaceCast(), loadImm64(), load(), store(), storeReg(), atomic(),
                jump(), jumpGoto(), mayGoto(), call(), callX(), Arbitraries.just(new Exit()));
    }

    static Arbitrary<Integer> register() { return Arbitraries.integers().between(0, 10); }

    /** r10 is read-only, so it is never a destination that gets written. */
    static Arbitrary<Integer> writable() { return Arbitraries.integers().between(0, 9); }

    static Arbitrary<Short> offset() { return Arbitraries.shorts(); }

    static Arbitrary<Integer> imm() {
        return Arbitraries.oneOf(Arbitraries.integers(), Arbitraries.of(0, 1, -1, Integer.MIN_VALUE, Integer.MAX_VALUE));
    }

    static Arbitrary<Operand> operand() {
        return Arbitraries.oneOf(register().map(Operand::reg), imm().map(Operand::imm));
    }

    static Arbitrary<Instruction> alu() {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(AluOp.class), writable(), operand(), register())
                .as((wide, op, dst, src, srcReg) -> {
                    if (op == AluOp.NEG) return new Alu(wide, op, dst, Operand.imm(0));
                    if (op.isMovSx()) return new Alu(wide || op == AluOp.MOVSX32, op, dst, Operand.reg(srcReg));
                    return new Alu(wide, op, dst, src);
                });
    }

    static Arbitrary<Instruction> endian() {
        return Combinators.combine(Arbitraries.of(ByteSwap.class), Arbitraries.of(16, 32, 64), writable())
                .as(Endian::new);
    }

    static Arbitrary<Instruction> addrSpaceCast() {
        return Combinators.combine(writable(), register(), Arbitraries.of(true, false))
                .as((dst, src, toKernel) -> new AddrSpaceCast(dst, src, toKernel ? 0 : 1, toKernel ? 1 : 0));
    }

    static Arbitrary<Instruction> loadImm64() {
        return Combinators.combine(writable(), Arbitraries.integers().between(0, LoadImm64.MAP_IDX_VALUE), imm(), imm())
                .as(LoadImm64::new);
    }

    static Arbitrary<Instruction> load() {
        return Combinators.combine(Arbitraries.of(Size.class), Arbitraries.of(true, false), writable(), register(), offset())
                .as((size, signed, dst, src, off) -> new Load(size, signed && size != Size.DW, dst, src, off));
    }

    static Arbitrary<Instruction> store() {
        return Combinators.combine(Arbitraries.of(Size.class), register(), offset(), imm()).as(Store::new);
    }

    static Arbitrary<Instruction> storeReg() {
        return Combinators.combine(Arbitraries.of(Size.class), register(), register(), offset()).as(StoreReg::new);
    }

    static Arbitrary<Instruction> atomic() {
        return Combinators.combine(Arbitraries.of(Size.W, Size.DW), Arbitraries.of(AtomicOp.class), Arbitraries.of(true, false),
                        register(), writable(), offset())
                .as((size, op, fetch, dst, src, off) -> new Atomic(size, op, fetch || op.alwaysFetches(), dst, src, off));
    }

    static Arbitrary<Instruction> jump() {
        return Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(JumpOp.class), register(), operand(), offset())
                .as(Jump::new);
    }

    static Arbitrary<Instruction> jumpGoto() {
        return Arbitraries.oneOf(
                offset().map(off -> new Goto(off, false)),
                Arbitraries.integers().map(off -> new Goto(off, true)));
    }

    static Arbitrary<Instruction> mayGoto() {
        return offset().map(MayGoto::new);
    }

    static Arbitrary<Instruction> call() {
        return Arbitraries.oneOf(
                imm().map(Call::helper),
                imm().map(Call::local),
                Combinators.combine(imm(), offset()).as((id, off) -> new Call(CallKind.KFUNC, id, off)));
    }

    static Arbitrary<Instruction> callX() {
        return register().map(CallX::new);
    }
}
