package io.kflex.isa;

import static io.kflex.isa.Opcodes.*;

import io.kflex.isa.Instruction.*;

/**
 * Decodes 8-byte instruction slots into {@link Instruction}s. Strict in the way Linux is: reserved
 * fields must be zero, registers must exist, {@code r10} is never written, and every encoding that
 * RFC 9669 (or Linux, for {@code may_goto} and {@code addr_space_cast}) does not define is
 * rejected with the slot index and the reason.
 */
public final class Decoder {
    private Decoder() {}

    /**
     * Decodes the instruction starting at {@code index}; {@code next} is the following slot (needed
     * by {@code lddw}) or null when there is none.
     */
    public static Instruction decode(int index, RawInstruction insn, RawInstruction next) throws InvalidInstructionException {
        int opcode = insn.opcode();
        return switch (instructionClass(opcode)) {
            case ALU, ALU64 -> decodeAlu(index, insn);
            case JMP, JMP32 -> decodeJump(index, insn);
            case LD -> decodeLoadImm(index, insn, next);
            case LDX -> decodeLoad(index, insn);
            case ST -> decodeStore(index, insn);
            case STX -> decodeStoreReg(index, insn);
            default -> throw new AssertionError();
        };
    }

    private static Instruction decodeAlu(int i, RawInstruction in) throws InvalidInstructionException {
        int opcode = in.opcode();
        boolean wide = instructionClass(opcode) == ALU64;
        int op = operation(opcode);
        boolean regSource = source(opcode) == X;
        checkRegister(i, in.dst(), true);
        if (op == END) {
            requireZero(i, in.src(), "src_reg");
            requireZero(i, in.off(), "off");
            if (in.imm() != 16 && in.imm() != 32 && in.imm() != 64) {
                throw new InvalidInstructionException(i, "byte swap width must be 16, 32 or 64, not " + in.imm());
            }
            ByteSwap kind;
            if (wide) {
                if (regSource) throw invalid(i, in, "reserved opcode (ALU64 END with source X)");
                kind = ByteSwap.BSWAP;
            } else {
                kind = regSource ? ByteSwap.TO_BE : ByteSwap.TO_LE;
            }
            return new Endian(kind, in.imm(), in.dst());
        }
        if (op == 0xe0 || op == 0xf0) throw invalid(i, in, "unknown ALU operation");
        if (wide && op == AluOp.MOV.code() && regSource && in.off() == 1) {
            if (in.imm() != 1 && in.imm() != 0x10000) {
                throw new InvalidInstructionException(i, "addr_space_cast can only convert between address spaces 1 and 0 (imm=" + in.imm() + ")");
            }
            checkRegister(i, in.src(), false);
            return new AddrSpaceCast(in.dst(), in.src(), in.imm() >>> 16, in.imm() & 0xffff);
        }
        AluOp aluOp = AluOp.of(op, in.off());
        if (aluOp == null || (aluOp == AluOp.MOVSX32 && !wide)) {
            throw invalid(i, in, "reserved off=" + in.off() + " for " + (wide ? "ALU64 " : "ALU ") + "operation 0x" + Integer.toHexString(op));
        }
        if (aluOp == AluOp.NEG) {
            if (regSource) throw invalid(i, in, "neg takes no source register (source bit must be K)");
            requireZero(i, in.src(), "src_reg");
            requireZero(i, in.imm(), "imm");
            return new Alu(wide, aluOp, in.dst(), new Operand.Imm(0));
        }
        if (aluOp.isMovSx() && !regSource) throw invalid(i, in, "movsx needs a source register");
        if (regSource) {
            checkRegister(i, in.src(), false);
            requireZero(i, in.imm(), "imm");
            return new Alu(wide, aluOp, in.dst(), new Operand.Reg(in.src()));
        }
        requireZero(i, in.src(), "src_reg");
        return new Alu(wide, aluOp, in.dst(), new Operand.Imm(in.imm()));
    }

    private static Instruction decodeJump(int i, RawInstruction in) throws InvalidInstructionException {
        int opcode = in.opcode();
        boolean wide = instructionClass(opcode) == JMP;
        int op = operation(opcode);
        boolean regSource = source(opcode) == X;
        switch (op) {
            case JA -> {
                if (regSource) throw invalid(i, in, "ja with source X is reserved");
                requireZero(i, in.dst(), "dst_reg");
                requireZero(i, in.src(), "src_reg");
                if (wide) {
                    requireZero(i, in.imm(), "imm");
                    return new Goto(in.off(), false);
                }
                requireZero(i, in.off(), "off");
                return new Goto(in.imm(), true);
            }
            case CALL -> {
                if (!wide) throw invalid(i, in, "call is not a JMP32 instruction");
                if (regSource) {
                    checkRegister(i, in.dst(), false);
                    requireZero(i, in.src(), "src_reg");
                    requireZero(i, in.off(), "off");
                    requireZero(i, in.imm(), "imm");
                    return new CallX(in.dst());
                }
                requireZero(i, in.dst(), "dst_reg");
                CallKind kind = switch (in.src()) {
                    case 0 -> CallKind.HELPER;
                    case 1 -> CallKind.LOCAL;
                    case 2 -> CallKind.KFUNC;
                    default -> throw invalid(i, in, "call with unknown src_reg " + in.src());
                };
                if (kind != CallKind.KFUNC) requireZero(i, in.off(), "off");
                return new Call(kind, in.imm(), in.off());
            }
            case EXIT -> {
                if (!wide || regSource) throw invalid(i, in, "exit must be JMP class with source K");
                requireZero(i, in.dst(), "dst_reg");
                requireZero(i, in.src(), "src_reg");
                requireZero(i, in.off(), "off");
                requireZero(i, in.imm(), "imm");
                return new Exit();
            }
            case MAY_GOTO -> {
                if (!wide || regSource) throw invalid(i, in, "may_goto must be JMP class with source K");
                requireZero(i, in.dst(), "dst_reg");
                requireZero(i, in.src(), "src_reg");
                requireZero(i, in.imm(), "imm");
                return new MayGoto(in.off());
            }
            default -> {
                JumpOp jumpOp = JumpOp.of(op);
                if (jumpOp == null) throw invalid(i, in, "unknown jump operation");
                checkRegister(i, in.dst(), false);
                if (regSource) {
                    checkRegister(i, in.src(), false);
                    requireZero(i, in.imm(), "imm");
                    return new Jump(wide, jumpOp, in.dst(), new Operand.Reg(in.src()), in.off());
                }
                requireZero(i, in.src(), "src_reg");
                return new Jump(wide, jumpOp, in.dst(), new Operand.Imm(in.imm()), in.off());
            }
        }
    }

    private static Instruction decodeLoadImm(int i, RawInstruction in, RawInstruction next) throws InvalidInstructionException {
        int mode = mode(in.opcode());
        if (mode == ABS || mode == IND) {
            throw invalid(i, in, "legacy packet access (LD_ABS/LD_IND) is not supported; load through the packet pointer instead");
        }
        if (in.opcode() != (LD | IMM | Size.DW.code())) throw invalid(i, in, "unknown LD-class instruction");
        checkRegister(i, in.dst(), true);
        requireZero(i, in.off(), "off");
        if (in.src() > LoadImm64.MAP_IDX_VALUE) throw invalid(i, in, "lddw with unknown pseudo source " + in.src());
        if (next == null) throw new InvalidInstructionException(i, "lddw is missing its second slot");
        if (next.opcode() != 0 || next.dst() != 0 || next.src() != 0 || next.off() != 0) {
            throw new InvalidInstructionException(i + 1, "second slot of lddw must have zero opcode, registers and offset " + next);
        }
        return new LoadImm64(in.dst(), in.src(), in.imm(), next.imm());
    }

    private static Instruction decodeLoad(int i, RawInstruction in) throws InvalidInstructionException {
        int mode = mode(in.opcode());
        Size size = Size.fromCode(size(in.opcode()));
        if (mode != MEM && mode != MEMSX) throw invalid(i, in, "unknown LDX mode");
        if (mode == MEMSX && size == Size.DW) throw invalid(i, in, "ldxsdw is reserved");
        checkRegister(i, in.dst(), true);
        checkRegister(i, in.src(), false);
        requireZero(i, in.imm(), "imm");
        return new Load(size, mode == MEMSX, in.dst(), in.src(), in.off());
    }

    private static Instruction decodeStore(int i, RawInstruction in) throws InvalidInstructionException {
        if (mode(in.opcode()) != MEM) throw invalid(i, in, "unknown ST mode");
        checkRegister(i, in.dst(), false);
        requireZero(i, in.src(), "src_reg");
        return new Store(Size.fromCode(size(in.opcode())), in.dst(), in.off(), in.imm());
    }

    private static Instruction decodeStoreReg(int i, RawInstruction in) throws InvalidInstructionException {
        int mode = mode(in.opcode());
        Size size = Size.fromCode(size(in.opcode()));
        checkRegister(i, in.dst(), false);
        checkRegister(i, in.src(), false);
        if (mode == MEM) {
            requireZero(i, in.imm(), "imm");
            return new StoreReg(size, in.dst(), in.src(), in.off());
        }
        if (mode != ATOMIC) throw invalid(i, in, "unknown STX mode");
        if (size != Size.W && size != Size.DW) throw invalid(i, in, "atomic operations are 32 or 64 bits wide");
        AtomicOp op = AtomicOp.ofImmediate(in.imm());
        if (op == null) throw invalid(i, in, "unknown atomic operation imm=0x" + Integer.toHexString(in.imm()));
        boolean fetch = (in.imm() & AtomicOp.FETCH) != 0;
        if (fetch && op != AtomicOp.CMPXCHG && in.src() == Registers.FP) {
            throw new InvalidInstructionException(i, "frame pointer r10 is read-only (atomic fetch writes its source register)");
        }
        return new Atomic(size, op, fetch, in.dst(), in.src(), in.off());
    }

    private static void checkRegister(int i, int reg, boolean written) throws InvalidInstructionException {
        if (reg > Registers.FP) throw new InvalidInstructionException(i, "invalid register r" + reg);
        if (written && reg == Registers.FP) throw new InvalidInstructionException(i, "frame pointer r10 is read-only");
    }

    private static void requireZero(int i, int value, String field) throws InvalidInstructionException {
        if (value != 0) throw new InvalidInstructionException(i, "reserved field " + field + " must be 0, is " + value);
    }

    private static InvalidInstructionException invalid(int i, RawInstruction in, String problem) {
        return new InvalidInstructionException(i, problem + String.format(" (opcode 0x%02x)", in.opcode()));
    }
}
