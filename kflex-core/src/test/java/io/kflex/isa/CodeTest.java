package io.kflex.isa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.isa.Instruction.*;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodeTest {

    private static long word(int opcode, int dst, int src, int off, int imm) {
        return new RawInstruction(opcode, dst, src, (short) off, imm).word();
    }

    @Test
    void decodesLddwAcrossTwoSlots() throws Exception {
        Code code = Code.decode(new long[] {0x5566778800000018L, 0x1122334400000000L, 0x95L});
        assertThat(code.length()).isEqualTo(3);
        assertThat(code.at(0)).isEqualTo(LoadImm64.of(0, 0x1122334455667788L));
        assertThat(code.at(1)).isNull();
        assertThat(code.at(2)).isEqualTo(new Exit());
        assertThat(code.words()).containsExactly(0x5566778800000018L, 0x1122334400000000L, 0x95L);
    }

    @Test
    void encodesEveryFormBackToTheSameInstruction() throws Exception {
        List<Instruction> all = List.of(
                new Alu(true, AluOp.ADD, 1, Operand.imm(-3)),
                new Alu(false, AluOp.SDIV, 2, Operand.reg(3)),
                new Alu(true, AluOp.MOVSX32, 4, Operand.reg(5)),
                new Alu(false, AluOp.NEG, 6, Operand.imm(0)),
                new Endian(ByteSwap.TO_BE, 16, 1),
                new Endian(ByteSwap.BSWAP, 64, 1),
                new AddrSpaceCast(1, 2, 0, 1),
                new Load(Size.H, true, 1, 10, (short) -2),
                new Store(Size.DW, 10, (short) -8, 7),
                new StoreReg(Size.B, 1, 2, (short) 3),
                new Atomic(Size.W, AtomicOp.CMPXCHG, true, 10, 1, (short) -4),
                new Atomic(Size.DW, AtomicOp.ADD, false, 10, 1, (short) -8),
                new Jump(false, JumpOp.JSLE, 1, Operand.imm(4), (short) 1),
                new Goto(0, true),
                new MayGoto((short) 0),
                Call.helper(5),
                new CallX(2),
                new Exit());
        Code code = Code.of(all);
        assertThat(Code.decode(code.toBytes()).instructions()).isEqualTo(all);
    }

    @Test
    void rejectsReservedFieldsWithTheInstructionIndex() {
        // exit with a non-zero immediate at index 1
        assertThatThrownBy(() -> Code.decode(new long[] {word(0xb7, 0, 0, 0, 0), word(0x95, 0, 0, 0, 1)}))
                .isInstanceOf(InvalidInstructionException.class)
                .hasMessage("insn 1: reserved field imm must be 0, is 1");
    }

    @Test
    void rejectsJumpsOutOfRangeAndIntoLddw() {
        assertThatThrownBy(() -> Code.decode(new long[] {word(0x05, 0, 0, 5, 0), word(0x95, 0, 0, 0, 0)}))
                .hasMessageContaining("insn 0: jump out of range");
        assertThatThrownBy(() -> Code.decode(new long[] {word(0x05, 0, 0, 1, 0), word(0x18, 0, 0, 0, 1), 0, word(0x95, 0, 0, 0, 0)}))
                .hasMessageContaining("insn 0: jump into the middle of lddw at 2");
    }

    @Test
    void rejectsUnknownOpcodesBadRegistersAndTruncation() {
        assertThatThrownBy(() -> Code.decode(new long[] {word(0xff, 0, 0, 0, 0)})).hasMessageContaining("insn 0:");
        assertThatThrownBy(() -> Code.decode(new long[] {word(0xbf, 11, 1, 0, 0)})).hasMessageContaining("invalid register r11");
        assertThatThrownBy(() -> Code.decode(new long[] {word(0xb7, 10, 0, 0, 0)})).hasMessageContaining("frame pointer r10 is read-only");
        assertThatThrownBy(() -> Code.decode(new long[] {word(0x18, 0, 0, 0, 0)})).hasMessageContaining("lddw is missing its second slot");
        assertThatThrownBy(() -> Code.decode(new byte[12])).hasMessageContaining("not a multiple of 8");
    }
}
