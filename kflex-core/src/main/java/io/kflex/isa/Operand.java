package io.kflex.isa;

/** The source operand of an ALU or conditional-jump instruction: a register or a 32-bit immediate. */
public sealed interface Operand {

    /** Source register {@code src_reg} (opcode source bit {@code X}). */
    record Reg(int reg) implements Operand {
        public Reg {
            Registers.check(reg);
        }

        @Override
        public String toString() { return "r" + reg; }
    }

    /** Sign-extended 32-bit immediate (opcode source bit {@code K}). */
    record Imm(int value) implements Operand {
        @Override
        public String toString() { return Integer.toString(value); }
    }

    static Operand reg(int r) { return new Reg(r); }

    static Operand imm(int v) { return new Imm(v); }
}
