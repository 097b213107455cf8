package io.kflex.isa.asm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Encoder;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.util.List;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AssemblerTest {

    private static List<Instruction> insns(String source) throws AssemblyException {
        return Assembler.assemble(source).instructions();
    }

    private static Instruction one(String line) throws AssemblyException {
        return Assembler.assembleInstruction(line);
    }

    @Nested
    class ConformanceDialect {
        @Test
        void alu() throws Exception {
            assertThat(insns("""
                    mov32 %r0, 0
                    add32 %r0, -3
                    add %r1, %r2
                    sdiv32 %r3, 0x7
                    smod %r4, %r5
                    neg32 %r6
                    neg %r7
                    arsh %r0, 0xffffffff
                    mov64 %r1, 1
                    exit
                    """)).containsExactly(
                    new Alu(false, AluOp.MOV, 0, Operand.imm(0)),
                    new Alu(false, AluOp.ADD, 0, Operand.imm(-3)),
                    new Alu(true, AluOp.ADD, 1, Operand.reg(2)),
                    new Alu(false, AluOp.SDIV, 3, Operand.imm(7)),
                    new Alu(true, AluOp.SMOD, 4, Operand.reg(5)),
                    new Alu(false, AluOp.NEG, 6, Operand.imm(0)),
                    new Alu(true, AluOp.NEG, 7, Operand.imm(0)),
                    new Alu(true, AluOp.ARSH, 0, Operand.imm(-1)),
                    new Alu(true, AluOp.MOV, 1, Operand.imm(1)),
                    new Exit());
        }

        @Test
        void signExtendingMovesAndByteSwaps() throws Exception {
            assertThat(insns("""
                    movsx832 %r2, %r1
                    movsx1664 %r0, %r1
                    movsx3264 %r0, %r9
                    be16 %r0
                    le32 %r1
                    bswap64 %r2
                    swap16 %r3
                    exit
                    """)).containsExactly(
                    new Alu(false, AluOp.MOVSX8, 2, Operand.reg(1)),
                    new Alu(true, AluOp.MOVSX16, 0, Operand.reg(1)),
                    new Alu(true, AluOp.MOVSX32, 0, Operand.reg(9)),
                    new Endian(ByteSwap.TO_BE, 16, 0),
                    new Endian(ByteSwap.TO_LE, 32, 1),
                    new Endian(ByteSwap.BSWAP, 64, 2),
                    new Endian(ByteSwap.BSWAP, 16, 3),
                    new Exit());
        }

        @Test
        void memory() throws Exception {
            assertThat(insns("""
                    lddw %r0, 0x1122334455667788
                    ldxdw %r0, [%r1+2]
                    ldxb %r2, [%r1]
                    ldxsh %r0, [%r10-2]
                    stxb [%r10-1], %r1
                    stw [%r1+0x10], -1
                    stdw [%r1], 0x7fffffff
                    exit
                    """)).containsExactly(
                    LoadImm64.of(0, 0x1122334455667788L),
                    new Load(Size.DW, false, 0, 1, (short) 2),
                    new Load(Size.B, false, 2, 1, (short) 0),
                    new Load(Size.H, true, 0, 10, (short) -2),
                    new StoreReg(Size.B, 10, 1, (short) -1),
                    new Store(Size.W, 1, (short) 16, -1),
                    new Store(Size.DW, 1, (short) 0, Integer.MAX_VALUE),
                    new Exit());
        }

        @Test
        void atomics() throws Exception {
            assertThat(insns("""
                    lock add [%r10-8], %r1
                    lock add32 [%r10-4], %r1
                    lock fetch add [%r10-8], %r1
                    lock fetch_xor32 [%r10-4], %r3
                    lock fetch or [%r10-8], %r3
                    lock and32 [%r10-8], %r1
                    lock xchg [%r10-8], %r1
                    lock cmpxchg32 [%r10-8], %r1
                    exit
                    """)).containsExactly(
                    new Atomic(Size.DW, AtomicOp.ADD, false, 10, 1, (short) -8),
                    new Atomic(Size.W, AtomicOp.ADD, false, 10, 1, (short) -4),
                    new Atomic(Size.DW, AtomicOp.ADD, true, 10, 1, (short) -8),
                    new Atomic(Size.W, AtomicOp.XOR, true, 10, 3, (short) -4),
                    new Atomic(Size.DW, AtomicOp.OR, true, 10, 3, (short) -8),
                    new Atomic(Size.W, AtomicOp.AND, false, 10, 1, (short) -8),
                    new Atomic(Size.DW, AtomicOp.XCHG, true, 10, 1, (short) -8),
                    new Atomic(Size.W, AtomicOp.CMPXCHG, true, 10, 1, (short) -8),
                    new Exit());
        }

        @Test
        void jumpsToLabelsAndTheImplicitExitLabel() throws Exception {
            assertThat(insns("""
                    # comment line
                    start:
                    jne %r0, 15, done   # trailing comment
                    jsle32 %r1, %r2, start
                    ja +1
                    ja32 done
                    jeq %r0, 0, exit
                    done:
                    exit
                    """)).containsExactly(
                    new Jump(true, JumpOp.JNE, 0, Operand.imm(15), (short) 4),
                    new Jump(false, JumpOp.JSLE, 1, Operand.reg(2), (short) -2),
                    new Goto(1, false),
                    new Goto(1, true),
                    new Jump(true, JumpOp.JEQ, 0, Operand.imm(0), (short) 0),
                    new Exit());
        }

        @Test
        void calls() throws Exception {
            assertThat(insns("""
                    call 5
                    call %r2
                    call local func1
                    call runtime 7
                    exit
                    func1:
                    exit
                    """)).containsExactly(
                    Call.helper(5), new CallX(2), Call.local(2), Call.kfunc(7), new Exit(), new Exit());
        }
    }

    @Nested
    class LlvmDialect {
        @ParameterizedTest
        @CsvSource(delimiter = '|', value = {
            "r0 = 1                         | b7 00 00 00 01 00 00 00",
            "w0 += w1                       | 0c 10 00 00 00 00 00 00",
            "r0 s/= r1                      | 3f 10 01 00 00 00 00 00",
            "w0 s%= -3                      | 94 00 01 00 fd ff ff ff",
            "r0 s>>= 0x3                    | c7 00 00 00 03 00 00 00",
            "r0 = -r0                       | 87 00 00 00 00 00 00 00",
            "w0 = (s16)w1                   | bc 10 10 00 00 00 00 00",
            "r0 = (s8)r1                    | bf 10 08 00 00 00 00 00",
            "r0 = be16 r0                   | dc 00 00 00 10 00 00 00",
            "r0 = bswap32 r0                | d7 00 00 00 20 00 00 00",
            "r1 = *(u32 *)(r10 - 4)         | 61 a1 fc ff 00 00 00 00",
            "w1 = *(u8 *)(r10-4)            | 71 a1 fc ff 00 00 00 00",
            "r0 = *(s8 *)(r1 + 0)           | 91 10 00 00 00 00 00 00",
            "*(u64 *)(r10 - 8) = r1         | 7b 1a f8 ff 00 00 00 00",
            "*(u16 *)(r10 - 0x8) = -5       | 6a 0a f8 ff fb ff ff ff",
            "lock *(u64 *)(r10 - 8) += r1   | db 1a f8 ff 00 00 00 00",
            "lock *(u32 *)(r10 - 8) ^= w1   | c3 1a f8 ff a0 00 00 00",
            "r1 = atomic_fetch_add((u64 *)(r10 - 8), r1) | db 1a f8 ff 01 00 00 00",
            "w1 = atomic_fetch_and((u32 *)(r10 - 8), w1) | c3 1a f8 ff 51 00 00 00",
            "r1 = xchg_64(r10 - 8, r1)      | db 1a f8 ff e1 00 00 00",
            "w1 = xchg32_32(r10 - 8, w1)    | c3 1a f8 ff e1 00 00 00",
            "r0 = cmpxchg_64(r10 - 8, r0, r1) | db 1a f8 ff f1 00 00 00",
            "w0 = cmpxchg32_32(r10 - 8, w0, w1) | c3 1a f8 ff f1 00 00 00",
            "if r1 > 0x5 goto +3            | 25 01 03 00 05 00 00 00",
            "if w1 s< w2 goto -4            | ce 21 fc ff 00 00 00 00",
            "if r1 & r2 goto -0x8000        | 4d 21 00 80 00 00 00 00",
            "goto +2                        | 05 00 02 00 00 00 00 00",
            "gotol +5                       | 06 00 00 00 05 00 00 00",
            "may_goto +2                    | e5 00 02 00 00 00 00 00",
            "call 12                        | 85 00 00 00 0c 00 00 00",
            "call pc-5                      | 85 10 00 00 fb ff ff ff",
            "call kfunc(0x1e, 2)            | 85 20 02 00 1e 00 00 00",
            "callx r2                       | 8d 02 00 00 00 00 00 00",
            "exit                           | 95 00 00 00 00 00 00 00",
            "r1 = addr_space_cast(r2, 0x0, 0x1) | bf 21 01 00 01 00 00 00",
            "r1 = addr_space_cast(r2, 1, 0) | bf 21 01 00 00 00 01 00",
        })
        void encodesLikeLlvm(String text, String bytes) throws Exception {
            assertThat(hex(Encoder.encode(Assembler.assembleInstruction(text)))).isEqualTo(bytes);
        }

        @Test
        void wideImmediatesAndPseudoLoads() throws Exception {
            assertThat(one("r1 = 0x1122334455667788 ll")).isEqualTo(LoadImm64.of(1, 0x1122334455667788L));
            assertThat(one("r1 = -1 ll")).isEqualTo(LoadImm64.of(1, -1));
            assertThat(one("r1 = 0xffffffffffffffff ll")).isEqualTo(LoadImm64.of(1, -1));
            assertThat(one("r1 = map_value(3, 0x10) ll")).isEqualTo(new LoadImm64(1, LoadImm64.MAP_VALUE, 3, 16));
            assertThat(one("r2 = map_fd(7) ll")).isEqualTo(new LoadImm64(2, LoadImm64.MAP_FD, 7, 0));
        }

        @Test
        void readsObjdumpListingsWithIndicesSourceLinesAndTargetAnnotations() throws Exception {
            assertThat(insns("""
                    ; int x = 1;
                           0:\tr0 = 0x1
                           1:\tif r0 < 0x2 goto +0x0 <prog+0x10>
                           2:\texit
                    """)).containsExactly(
                    new Alu(true, AluOp.MOV, 0, Operand.imm(1)),
                    new Jump(true, JumpOp.JLT, 0, Operand.imm(2), (short) 0),
                    new Exit());
        }

        @Test
        void labelsWorkInLlvmSyntaxToo() throws Exception {
            assertThat(insns("""
                    LBB0_1: r0 += 1
                    if r0 s< 10 goto LBB0_1
                    call sub
                    exit
                    sub: gotol LBB0_1
                    """)).containsExactly(
                    new Alu(true, AluOp.ADD, 0, Operand.imm(1)),
                    new Jump(true, JumpOp.JSLT, 0, Operand.imm(10), (short) -2),
                    Call.local(1),
                    new Exit(),
                    new Goto(-5, true));
        }
    }

    @Nested
    class Errors {
        @ParameterizedTest
        @CsvSource(delimiter = '|', value = {
            "mov %r11, 1                    | 2 | invalid register '%r11' (r0 to r10)",
            "mov %r0                        | 2 | expected ',' at the end of the line",
            "mov 1, %r0                     | 2 | expected a register, found '1'",
            "frob %r0, 1                    | 2 | unknown mnemonic 'frob'",
            "ja nowhere                     | 2 | undefined label 'nowhere'",
            "mov32 %r0, 0x100000000         | 2 | immediate 4294967296 out of range for 32 bits",
            "add %r0, -2147483649           | 2 | immediate -2147483649 out of range for 32 bits",
            "ldxw %r0, [%r1+32768]          | 2 | offset 32768 out of range for 16 bits",
            "ja +32768                      | 2 | branch offset 32768 out of range for 16 bits",
            "w0 += r1                       | 2 | operands of different widths: w0 and r1 (use r for 64-bit, w for 32-bit)",
            "r0 = be16 r1                   | 2 | be16 converts a register in place: r0 = be16 r0",
            "r1 = *(u64 *)(r10 - 8) junk    | 2 | unexpected 'junk' after the instruction",
            "mov %r10, 1                    | 2 | frame pointer r10 is read-only",
            "ja +5                          | 2 | jump out of range: target 7 outside [0, 3)",
            "lddw %r0, 0x10000000000000000  | 2 | immediate 18446744073709551616 out of range for 64 bits",
            "r0 = 0x1z                      | 2 | invalid number '0x1z'",
            "r0 = cmpxchg_64(r1 + 0, r2, r3) | 2 | cmpxchg_64 compares with and returns r0: r0 = cmpxchg_64(ptr, r0, src)",
        })
        void nameTheLineAndTheProblem(String bad, int line, String problem) {
            assertThatThrownBy(() -> Assembler.assemble("mov %r0, 0\n" + bad + "\nexit\n"))
                    .isInstanceOfSatisfying(AssemblyException.class, e -> {
                        assertThat(e.line()).isEqualTo(line);
                        assertThat(e.problem()).isEqualTo(problem);
                        assertThat(e.getMessage()).isEqualTo("line " + line + ": " + problem);
                    });
        }

        @Test
        void duplicateLabelsAndEmptyPrograms() {
            assertThatThrownBy(() -> Assembler.assemble("a:\nexit\na:\nexit\n"))
                    .hasMessage("line 3: label 'a' is already defined on line 1");
            assertThatThrownBy(() -> Assembler.assemble("# nothing\n")).hasMessageEndingWith("no instructions");
        }

        @Test
        void labelTooFarForA16BitJump() {
            String far = "ja far\n" + "mov %r0, 0\n".repeat(40000) + "far:\nexit\n";
            assertThatThrownBy(() -> Assembler.assemble(far))
                    .hasMessage("line 1: label 'far' is 40000 slots away, too far for a 16-bit offset (use gotol/ja32)");
        }
    }

    /** The instruction bytes as objdump prints them. */
    static String hex(long[] words) {
        StringBuilder sb = new StringBuilder();
        for (long w : words) {
            for (int i = 0; i < 8; i++) sb.append(sb.isEmpty() ? "" : " ").append(String.format("%02x", (w >>> (8 * i)) & 0xff));
        }
        return sb.toString();
    }
}
