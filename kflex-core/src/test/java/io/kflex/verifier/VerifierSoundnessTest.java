package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Instruction.CallKind;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * End-to-end soundness: random scalar/stack programs the verifier accepts are run on a small
 * reference interpreter, which checks that no execution reads an uninitialised register or stack
 * byte, leaves the stack or misaligns an access, and that every access lands inside the bounds
 * the verifier reported for its instruction.
 */
class VerifierSoundnessTest {

    private static final int STEP_BUDGET = 20_000;

    @Provide
    Arbitrary<List<Instruction>> programs() {
        Arbitrary<Integer> reg = Arbitraries.integers().between(0, 9);
        Arbitrary<Integer> imm = Arbitraries.oneOf(Arbitraries.integers().between(-70, 70), Arbitraries.integers(),
                Arbitraries.of(0, 1, 7, 8, 56, 63, 64, -8, -64, 0x7fffffff, Integer.MIN_VALUE));
        Arbitrary<Operand> operand = Arbitraries.oneOf(reg.map(Operand::reg), imm.map(Operand::imm));
        Arbitrary<AluOp> ops = Arbitraries.of(AluOp.ADD, AluOp.SUB, AluOp.MUL, AluOp.DIV, AluOp.MOD, AluOp.AND, AluOp.OR, AluOp.XOR,
                AluOp.LSH, AluOp.RSH, AluOp.ARSH, AluOp.MOV, AluOp.NEG, AluOp.SDIV, AluOp.SMOD, AluOp.MOVSX8, AluOp.MOVSX16);
        Arbitrary<Short> stackOff = Arbitraries.oneOf(Arbitraries.shorts().between((short) -64, (short) -1),
                Arbitraries.of((short) -8, (short) -16, (short) -24, (short) -32, (short) -1, (short) -2, (short) -4, (short) -512,
                        (short) -504, (short) -513, (short) 0));
        Arbitrary<List<Instruction>> alu = Combinators.combine(Arbitraries.of(true, false), ops, reg, operand)
                .as((w, op, d, s) -> List.<Instruction>of(new Alu(w, op, d, s)));
        Arbitrary<List<Instruction>> jump = Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(JumpOp.class), reg, operand,
                Arbitraries.shorts().between((short) -6, (short) 6)).as((w, op, d, s, o) -> List.<Instruction>of(new Jump(w, op, d, s, o)));
        Arbitrary<List<Instruction>> load = Combinators.combine(Arbitraries.of(Size.class), reg, stackOff)
                .as((sz, d, o) -> List.<Instruction>of(new Load(sz, false, d, 10, o)));
        Arbitrary<List<Instruction>> store = Combinators.combine(Arbitraries.of(Size.class), reg, stackOff)
                .as((sz, s, o) -> List.<Instruction>of(new StoreReg(sz, 10, s, o)));
        // r9 = fp - 64 + (rX & mask): a variable stack offset, then an access through it.
        Arbitrary<List<Instruction>> varAccess = Combinators.combine(reg, Arbitraries.of(7, 15, 56, 24, 63), Arbitraries.of(true, false),
                Arbitraries.of(Size.B, Size.DW)).as((x, mask, isLoad, sz) -> List.<Instruction>of(
                new Alu(true, AluOp.MOV, 9, Operand.reg(x)), new Alu(true, AluOp.AND, 9, Operand.imm(mask)),
                new Alu(true, AluOp.ADD, 9, Operand.reg(10)), new Alu(true, AluOp.ADD, 9, Operand.imm(-64)),
                isLoad ? new Load(sz, false, 0, 9, (short) 0) : new StoreReg(sz, 9, 0, (short) 0)));
        // if (rX op K) skip; else access fp - 64 + rX: the bound comes from branch refinement.
        Arbitrary<List<Instruction>> guardedAccess = Combinators.combine(reg, Arbitraries.of(JumpOp.class), Arbitraries.of(true, false),
                Arbitraries.of(0, 1, 55, 56, 57, 63, 64, 65, -1, 0x7fffffff), Arbitraries.of(true, false))
                .as((x, op, wide, k, isLoad) -> List.<Instruction>of(
                        new Jump(wide, op, x, Operand.imm(k), (short) 4),
                        new Alu(true, AluOp.MOV, 9, Operand.reg(x)), new Alu(true, AluOp.ADD, 9, Operand.reg(10)),
                        new Alu(true, AluOp.ADD, 9, Operand.imm(-64)),
                        isLoad ? new Load(Size.B, false, 0, 9, (short) 0) : new StoreReg(Size.B, 9, 0, (short) 0)));
        Arbitrary<List<Instruction>> call = Arbitraries.of(5, 7).map(id -> List.<Instruction>of(Call.helper(id)));
        // Spill a stack pointer, maybe disturb the slot, fill it back and access through it.
        Arbitrary<List<Instruction>> spill = Combinators.combine(Arbitraries.of(-8, -16, -24, -56, -64), Arbitraries.of(-8, -16, -1, -4, 0, -72),
                Arbitraries.of(Size.class)).as((slot, off, sz) -> List.<Instruction>of(
                new Alu(true, AluOp.MOV, 9, Operand.reg(10)), new Alu(true, AluOp.ADD, 9, Operand.imm(-8)),
                new StoreReg(Size.DW, 10, 9, (short) (int) slot), new Load(Size.DW, false, 9, 10, (short) (int) slot),
                new Load(sz, false, 0, 9, (short) (int) off)));
        Arbitrary<List<Instruction>> piece = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, alu), net.jqwik.api.Tuple.of(3, jump), net.jqwik.api.Tuple.of(2, load),
                net.jqwik.api.Tuple.of(2, store), net.jqwik.api.Tuple.of(2, varAccess), net.jqwik.api.Tuple.of(3, guardedAccess),
                net.jqwik.api.Tuple.of(1, call), net.jqwik.api.Tuple.of(2, spill));
        // A heap pointer from a scalar, then accesses through it or through a register it was copied to.
        Arbitrary<List<Instruction>> heap = Combinators.combine(Arbitraries.of(6, 7, 8), Arbitraries.of(6, 7, 8, 9), Arbitraries.of(0, 8, -8, 4096),
                Arbitraries.of(true, false), Arbitraries.of(Size.class)).as((src, base, off, isLoad, sz) -> List.<Instruction>of(
                new AddrSpaceCast(8, src, 0, 1),
                isLoad ? new Load(sz, false, 0, base, (short) (int) off) : new StoreReg(sz, base, 0, (short) (int) off)));
        // The forms guard elision follows: a constant displacement, a masked and scaled index, a spill and fill.
        Arbitrary<List<Instruction>> heapMoved = Combinators.combine(Arbitraries.of(6, 7, 8), Arbitraries.of(8, 4096, 32_752, 32_768, 40_000, -16, -32_768),
                Arbitraries.of((short) 0, (short) 8, (short) -8, (short) 32_000), Arbitraries.of(true, false), Arbitraries.of(Size.class))
                .as((src, k, off, isLoad, sz) -> List.<Instruction>of(new AddrSpaceCast(8, src, 0, 1), new Alu(true, AluOp.ADD, 8, Operand.imm(k)),
                        isLoad ? new Load(sz, false, 0, 8, off) : new StoreReg(sz, 8, 0, off)));
        Arbitrary<List<Instruction>> heapIndexed = Combinators.combine(Arbitraries.of(0, 6, 7, 9), Arbitraries.of(7, 255, 4095, 0xffff, -1),
                Arbitraries.of(0, 3, 4, 8), Arbitraries.of(true, false), Arbitraries.of(Size.class))
                .as((x, m, shift, wide, sz) -> List.<Instruction>of(new AddrSpaceCast(8, 6, 0, 1), new Alu(true, AluOp.MOV, 9, Operand.reg(x)),
                        new Alu(wide, AluOp.AND, 9, Operand.imm(m)), new Alu(true, AluOp.LSH, 9, Operand.imm(shift)),
                        new Alu(true, AluOp.ADD, 9, Operand.reg(8)), new Load(sz, false, 0, 9, (short) 0)));
        Arbitrary<List<Instruction>> heapSpilled = Combinators.combine(Arbitraries.of(-8, -16, -64), Arbitraries.of(-8, -16, -64, -4),
                Arbitraries.of(Size.class)).as((slot, other, sz) -> List.<Instruction>of(new AddrSpaceCast(8, 7, 0, 1),
                new StoreReg(Size.DW, 10, 8, (short) (int) slot), new StoreReg(sz, 10, 6, (short) (int) other),
                new Load(Size.DW, false, 9, 10, (short) (int) slot), new StoreReg(Size.DW, 9, 0, (short) 16)));
        // A fill of a slot that may hold a spilled heap pointer, and an access through it.
        Arbitrary<List<Instruction>> heapFill = Combinators.combine(Arbitraries.of(-8, -16, -64), Arbitraries.of(Size.class))
                .as((slot, sz) -> List.<Instruction>of(new Load(Size.DW, false, 9, 10, (short) (int) slot), new Load(sz, false, 0, 9, (short) 0)));
        // A sanitised heap pointer spilled, a call given a pointer to its slot (which the
        // subprogram may overwrite with any heap pointer), then a fill and an access.
        Arbitrary<List<Instruction>> callSubWithFrame = Arbitraries.of(-8, -16, -64).map(slot -> List.<Instruction>of(
                new AddrSpaceCast(8, 6, 0, 1), new StoreReg(Size.DW, 10, 8, (short) (int) slot),
                new Alu(true, AluOp.MOV, 1, Operand.reg(10)), new Alu(true, AluOp.ADD, 1, Operand.imm(slot)),
                new Call(CallKind.LOCAL, SUBPROGRAM_MARKER, (short) 0),
                new Load(Size.DW, false, 9, 10, (short) (int) slot), new Load(Size.B, false, 0, 9, (short) 0)));
        // In the subprogram: *(u64 *)r1 = cast_kern(random) + random.
        Arbitrary<List<Instruction>> writeThroughR1 = Arbitraries.just(List.<Instruction>of(new Alu(true, AluOp.MOV, 6, Operand.reg(1)),
                Call.helper(5), new AddrSpaceCast(3, 0, 0, 1), new Alu(true, AluOp.ADD, 3, Operand.reg(0)),
                new StoreReg(Size.DW, 6, 3, (short) 0), new Alu(true, AluOp.MOV, 1, Operand.imm(0))));
        Arbitrary<List<Instruction>> callSub = Arbitraries.just(List.<Instruction>of(new Call(CallKind.LOCAL, SUBPROGRAM_MARKER, (short) 0)));
        // The subprogram gets a pointer into the caller's frame (its slots may be uninitialised).
        // Slots below fp-64 are written on one path only (or not at all) before the call.
        Arbitrary<List<Instruction>> callSubWithPointer = Combinators.combine(Arbitraries.of(-8, -16, -64, -72, -80, -128),
                Arbitraries.of(true, true, false)).as((k, initOnOnePath) -> {
                    List<Instruction> l = new ArrayList<>();
                    if (initOnOnePath) {
                        // A condition on a fresh random number, dead afterwards: the two paths differ only in the slot.
                        l.add(Call.helper(7));
                        l.add(new Jump(true, JumpOp.JGT, 0, Operand.imm(1000), (short) 1));
                        l.add(new StoreReg(Size.DW, 10, 7, (short) (int) k));
                        for (int r = 2; r <= 5; r++) l.add(new Alu(true, AluOp.MOV, r, Operand.imm(r)));
                    }
                    l.add(new Alu(true, AluOp.MOV, 1, Operand.reg(10)));
                    l.add(new Alu(true, AluOp.ADD, 1, Operand.imm(k)));
                    l.add(new Call(CallKind.LOCAL, SUBPROGRAM_MARKER, (short) 0));
                    l.add(new Alu(true, AluOp.MOV, 0, Operand.imm(0)));
                    return l;
                });
        // A slot below the prelude's initialised ones written on one path only.
        Arbitrary<List<Instruction>> conditionalInit = Combinators.combine(Arbitraries.of(6, 7), Arbitraries.of(-72, -80, -128, -136))
                .as((x, off) -> List.<Instruction>of(new Jump(true, JumpOp.JGT, x, Operand.imm(1000), (short) 1),
                        new StoreReg(Size.DW, 10, 7, (short) (int) off)));
        Arbitrary<List<Instruction>> mainPiece = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(12, piece), net.jqwik.api.Tuple.of(1, callSub),
                net.jqwik.api.Tuple.of(2, callSubWithPointer), net.jqwik.api.Tuple.of(2, conditionalInit),
                net.jqwik.api.Tuple.of(3, heap), net.jqwik.api.Tuple.of(2, heapMoved), net.jqwik.api.Tuple.of(2, heapIndexed),
                net.jqwik.api.Tuple.of(2, heapSpilled), net.jqwik.api.Tuple.of(2, heapFill), net.jqwik.api.Tuple.of(2, callSubWithFrame));
        // In the subprogram: an access to the caller's frame through r1 moved by a constant.
        Arbitrary<List<Instruction>> callerAccess = Combinators.combine(Arbitraries.of(0, 0, 0, -8, -56, 8, -64), Arbitraries.of(true, true, false),
                Arbitraries.of(Size.B, Size.DW)).as((k, isLoad, sz) -> List.<Instruction>of(
                new Alu(true, AluOp.MOV, 9, Operand.reg(1)), new Alu(true, AluOp.ADD, 9, Operand.imm(k)),
                isLoad ? new Load(sz, false, 0, 9, (short) 0) : new StoreReg(sz, 9, 0, (short) 0)));
        Arbitrary<List<Instruction>> subPiece = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(4, piece), net.jqwik.api.Tuple.of(2, callerAccess),
                net.jqwik.api.Tuple.of(2, writeThroughR1));
        return Combinators.combine(mainPiece.list().ofMinSize(1).ofMaxSize(14), subPiece.list().ofMaxSize(6)).as((pieces, subPieces) -> {
            List<Instruction> out = new ArrayList<>();
            // Prelude: unknown values in r0, r6, r7; constants elsewhere; the first 64 bytes of stack written.
            out.add(Call.helper(7));
            out.add(new Alu(true, AluOp.MOV, 6, Operand.reg(0)));
            out.add(Call.helper(5));
            out.add(new Alu(true, AluOp.MOV, 7, Operand.reg(0)));
            for (int r = 1; r <= 5; r++) out.add(new Alu(true, AluOp.MOV, r, Operand.imm(r * 3 - 7)));
            out.add(new Alu(true, AluOp.MOV, 8, Operand.imm(40)));
            out.add(new Alu(true, AluOp.MOV, 9, Operand.imm(-3)));
            for (int off = -64; off < 0; off += 8) out.add(new StoreReg(Size.DW, 10, off % 16 == 0 ? 6 : 7, (short) off));
            pieces.forEach(out::addAll);
            out.add(new Exit());
            boolean calls = RandomPrograms.callsSubprogram(out);
            if (calls) {
                // The subprogram: its own stack written, then random pieces, returning r1 + r0.
                int start = out.size();
                for (int off = -64; off < 0; off += 8) out.add(new StoreReg(Size.DW, 10, 1, (short) off));
                out.add(new Alu(true, AluOp.MOV, 0, Operand.reg(2)));
                subPieces.forEach(out::addAll);
                out.add(new Alu(true, AluOp.ADD, 0, Operand.reg(1)));
                out.add(new Exit());
                RandomPrograms.linkSubprogram(out, start);
            }
            return out;
        });
    }

    private static final int SUBPROGRAM_MARKER = RandomPrograms.SUBPROGRAM_MARKER;

    @Provide
    Arbitrary<List<Instruction>> packetPrograms() {
        Arbitrary<Integer> k = Arbitraries.oneOf(Arbitraries.integers().between(-2, 40), Arbitraries.of(0, 1, 8, 14, 34));
        Arbitrary<JumpOp> relational = Arbitraries.of(JumpOp.JGT, JumpOp.JGE, JumpOp.JLT, JumpOp.JLE, JumpOp.JEQ, JumpOp.JNE);
        // r4 = data + K; if (r4 op end) or (end op r4) skip N
        Arbitrary<List<Instruction>> check = Combinators.combine(k, relational, Arbitraries.of(true, false), Arbitraries.integers().between(1, 4))
                .as((kk, op, swapped, skip) -> List.<Instruction>of(
                        new Alu(true, AluOp.MOV, 4, Operand.reg(6)), new Alu(true, AluOp.ADD, 4, Operand.imm(kk)),
                        swapped ? new Jump(true, op, 7, Operand.reg(4), (short) (int) skip) : new Jump(true, op, 4, Operand.reg(7), (short) (int) skip)));
        Arbitrary<List<Instruction>> access = Combinators.combine(Arbitraries.of(Size.class), k, Arbitraries.of(0, 8, 9))
                .as((sz, off, d) -> List.<Instruction>of(new Load(sz, false, d, 6, (short) (int) off)));
        // r9 = data + (r0 & mask); recheck r9 + K against end; read through r9.
        Arbitrary<List<Instruction>> variable = Combinators.combine(Arbitraries.of(3, 7, 15, 31), k, Arbitraries.integers().between(-1, 8), Arbitraries.of(Size.class))
                .as((mask, kk, off, sz) -> List.<Instruction>of(
                        new Alu(true, AluOp.AND, 0, Operand.imm(mask)), new Alu(true, AluOp.MOV, 9, Operand.reg(6)), new Alu(true, AluOp.ADD, 9, Operand.reg(0)),
                        new Alu(true, AluOp.MOV, 5, Operand.reg(9)), new Alu(true, AluOp.ADD, 5, Operand.imm(kk)),
                        new Jump(true, JumpOp.JGT, 5, Operand.reg(7), (short) 1), new Load(sz, false, 8, 9, (short) (int) off)));
        Arbitrary<List<Instruction>> scalar = Combinators.combine(Arbitraries.of(AluOp.ADD, AluOp.AND, AluOp.MOV, AluOp.RSH), Arbitraries.of(0, 8),
                Arbitraries.integers().between(0, 40)).as((op, d, imm) -> List.<Instruction>of(new Alu(true, op, d, Operand.imm(imm))));
        // The usual idiom: prove K bytes, then read somewhere near them.
        Arbitrary<List<Instruction>> checkedRead = Combinators.combine(k, relational, Arbitraries.of(true, false), Arbitraries.of(Size.class), k)
                .as((kk, op, swapped, sz, off) -> List.<Instruction>of(
                        new Alu(true, AluOp.MOV, 4, Operand.reg(6)), new Alu(true, AluOp.ADD, 4, Operand.imm(kk)),
                        swapped ? new Jump(true, op, 7, Operand.reg(4), (short) 1) : new Jump(true, op, 4, Operand.reg(7), (short) 1),
                        new Load(sz, false, 8, 6, (short) (int) off)));
        Arbitrary<List<Instruction>> piece = Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(2, check), net.jqwik.api.Tuple.of(1, access),
                net.jqwik.api.Tuple.of(6, checkedRead),
                net.jqwik.api.Tuple.of(2, variable), net.jqwik.api.Tuple.of(1, scalar));
        return piece.list().ofMinSize(1).ofMaxSize(5).map(pieces -> {
            List<Instruction> out = new ArrayList<>();
            out.add(new Load(Size.W, false, 6, 1, (short) 0)); // data
            out.add(new Load(Size.W, false, 7, 1, (short) 4)); // data_end
            out.add(new Alu(true, AluOp.MOV, 0, Operand.imm(5)));
            out.add(new Alu(true, AluOp.MOV, 8, Operand.imm(0)));
            out.add(new Alu(true, AluOp.MOV, 9, Operand.imm(0)));
            pieces.forEach(out::addAll);
            out.add(new Alu(true, AluOp.MOV, 0, Operand.imm(2)));
            out.add(new Exit());
            return out;
        });
    }

    @Property(tries = 2000)
    void acceptedPacketProgramsStayInThePacket(@ForAll("packetPrograms") List<Instruction> program, @ForAll long seed) {
        Code code;
        try {
            code = Code.of(program);
        } catch (InvalidInstructionException e) {
            Assume.that(false);
            return;
        }
        VerifiedProgram verified;
        try {
            verified = Verifier.verify(code, ProgramType.XDP, List.of(), VerifierOptions.defaults());
        } catch (VerificationException e) {
            Statistics.collect("rejected " + e.rule());
            return;
        }
        Statistics.collect("accepted");
        Random random = new Random(seed);
        for (int len : new int[] {0, 1, 13, 14, 15, 34, 41, 60, random.nextInt(80)}) {
            Machine m = new Machine(code, verified, random);
            m.packetLength = len;
            m.run();
        }
    }

    @Property(tries = 1500)
    void acceptedProgramsBehaveAsVerified(@ForAll("programs") List<Instruction> program, @ForAll long seed) {
        Code code;
        try {
            code = Code.of(program);
        } catch (InvalidInstructionException e) {
            Assume.that(false);
            return;
        }
        VerifiedProgram verified;
        try {
            verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(), VerifierOptions.defaults().withMaxProcessed(200_000));
        } catch (VerificationException e) {
            Statistics.collect("rejected");
            return;
        }
        Statistics.collect(program.stream().anyMatch(i -> i instanceof Call c && c.kind() == CallKind.LOCAL) ? "accepted, with a call"
                : !verified.backEdges().isEmpty() ? "accepted, with a loop" : "accepted");
        for (int run = 0; run < 4; run++) new Machine(code, verified, new Random(seed + run)).run();
    }

    /** A reference interpreter for the generated subset, tracking which registers and stack bytes are initialised. */
    private static final class Machine {
        final Code code;
        final VerifiedProgram verified;
        final Random random;
        final long[] regs = new long[11];
        final boolean[] init = new boolean[11];
        final byte[][] stacks = new byte[9][512];
        final boolean[][] stacksInit = new boolean[9][512];
        byte[] stack = stacks[0];
        boolean[] stackInit = stacksInit[0];
        /** Saved caller state per active call: r6-r9 with their init bits, return slot, frame number. */
        final java.util.ArrayDeque<long[]> calls = new java.util.ArrayDeque<>();
        static final long FRAME_SPACING = 1L << 20;
        static final long FP = 1L << 40;
        static final long CTX = 1L << 41;
        static final long PACKET = 1L << 42;
        int packetLength = -1;

        Machine(Code code, VerifiedProgram verified, Random random) {
            this.code = code;
            this.verified = verified;
            this.random = random;
            heapSize = 1L << new int[] {12, 16, 20, 32}[random.nextInt(4)];
            mask = heapSize - 1;
            regs[10] = FP;
            init[10] = true;
            regs[1] = CTX;
            init[1] = true;
        }

        long read(int pc, int r) {
            assertThat(init[r]).as("insn %d reads uninitialised r%d\n%s", pc, r, verified.log()).isTrue();
            return regs[r];
        }

        /** The heap's size (a power of two the engines could bind) and the engines' mask. */
        final long heapSize;
        final long mask;
        final java.util.Map<Long, Byte> heap = new java.util.HashMap<>();

        /**
         * A heap access with the engines' semantics: a guarded one confines its base register in
         * place; one whose guard was elided must land within the guard distance of the heap
         * (checked here, against the concrete value); then the sparse heap is read or written.
         */
        long heapAccess(int pc, int base, int off, int size, Long value) {
            AccessFact fact = verified.accessAt(pc);
            if (fact.guardNeeded()) {
                regs[base] &= mask;
            } else {
                long at = regs[base] + off;
                assertThat(at >= -Verifier.HEAP_GUARD_BYTES && at + size <= heapSize + Verifier.HEAP_GUARD_BYTES)
                        .as("insn %d: guard elided but r%d + %d = %d is outside [-guard, %d + guard)\n%s", pc, base, off, at, heapSize, verified.log())
                        .isTrue();
            }
            long addr = regs[base] + off;
            long v = 0;
            for (int k = size - 1; k >= 0; k--) {
                if (value != null) heap.put(addr + k, (byte) (value >>> (8 * k)));
                v = (v << 8) | (heap.getOrDefault(addr + k, (byte) 0) & 0xff);
            }
            return v;
        }

        void write(int r, long v) {
            regs[r] = v;
            init[r] = true;
        }

        int stackIndex(int pc, long addr, int size, boolean isWrite) {
            long frame = Math.floorDiv(addr - FP + FRAME_SPACING / 2, FRAME_SPACING);
            assertThat(frame).as("insn %d: address %x is in no frame", pc, addr).isBetween(0L, (long) calls.size());
            stack = stacks[(int) frame];
            stackInit = stacksInit[(int) frame];
            long off = addr - FP - frame * FRAME_SPACING;
            assertThat(off >= -512 && off + size <= 0).as("insn %d: stack offset %d out of the frame", pc, off).isTrue();
            assertThat(off % size).as("insn %d: misaligned stack offset %d", pc, off).isZero();
            AccessFact fact = verified.accessAt(pc);
            assertThat(fact).as("insn %d has no access fact", pc).isNotNull();
            // A subprogram called with a stack pointer from one site and a heap pointer from another
            // accesses MIXED memory there; engines take the checked generic path for it, and the
            // merged offsets describe no single region.
            assertThat(fact.region()).isIn(MemoryRegion.STACK, MemoryRegion.MIXED);
            if (fact.region() == MemoryRegion.STACK) {
                assertThat(off).as("insn %d: offset outside the verified [%d, %d]", pc, fact.minOffset(), fact.maxOffset())
                        .isBetween(fact.minOffset(), fact.maxOffset());
            }
            return (int) (512 + off);
        }

        void run() {
            int pc = 0;
            for (int steps = 0; steps < STEP_BUDGET; steps++) {
                Instruction insn = code.at(pc);
                boolean heapHere = verified.accessAt(pc) != null && verified.accessAt(pc).region() == MemoryRegion.HEAP;
                switch (insn) {
                    case Alu a -> {
                        long b = a.op() == AluOp.NEG ? 0 : a.src() instanceof Operand.Reg r ? read(pc, r.reg()) : (a.wide() ? ((Operand.Imm) a.src()).value() : ((Operand.Imm) a.src()).value() & 0xffffffffL);
                        long d = a.op() == AluOp.MOV || a.op().isMovSx() ? 0 : read(pc, a.dst());
                        write(a.dst(), a.wide() ? io.kflex.verifier.ScalarAlu.concrete64(a.op(), d, b) : io.kflex.verifier.ScalarAlu.concrete32(a.op(), d, b));
                        pc++;
                    }
                    case Jump j -> {
                        long x = read(pc, j.dst());
                        long y = j.src() instanceof Operand.Reg r ? read(pc, r.reg()) : (j.wide() ? ((Operand.Imm) j.src()).value() : ((Operand.Imm) j.src()).value() & 0xffffffffL);
                        boolean taken = j.wide() ? j.op().test(x, y) : j.op().test32(x, y);
                        pc = taken ? code.branchTarget(pc) : pc + 1;
                    }
                    case Goto g -> pc = code.branchTarget(pc);
                    case AddrSpaceCast c -> {
                        // To the kernel view the engines keep the offset modulo the heap's size.
                        long v = read(pc, c.src());
                        write(c.dst(), c.dstAddressSpace() == 0 ? v & mask & 0xffffffffL : v);
                        pc++;
                    }
                    case Load l when heapHere -> {
                        read(pc, l.src());
                        write(l.dst(), heapAccess(pc, l.src(), l.off(), l.size().bytes(), null));
                        pc++;
                    }
                    case StoreReg st when heapHere -> {
                        read(pc, st.dst());
                        heapAccess(pc, st.dst(), st.off(), st.size().bytes(), read(pc, st.src()));
                        pc++;
                    }
                    case Load l -> {
                        int size = l.size().bytes();
                        long addr = read(pc, l.src()) + l.off();
                        if (addr == CTX || addr == CTX + 4) { // xdp_md.data / data_end
                            assertThat(packetLength).isNotNegative();
                            write(l.dst(), addr == CTX ? PACKET : PACKET + packetLength);
                            pc++;
                            continue;
                        }
                        if (addr >= PACKET - (1L << 20) && addr < PACKET + (1L << 20)) {
                            long off = addr - PACKET;
                            assertThat(off >= 0 && off + size <= packetLength).as("insn %d reads packet bytes [%d, %d) of a %d-byte packet\n%s",
                                    pc, off, off + size, packetLength, verified.log()).isTrue();
                            AccessFact fact = verified.accessAt(pc);
                            assertThat(fact).as("insn %d has no access fact", pc).isNotNull();
                            assertThat(fact.region()).isEqualTo(MemoryRegion.PACKET);
                            assertThat(off).as("insn %d: packet offset outside the verified [%d, %d]", pc, fact.minOffset(), fact.maxOffset())
                                    .isBetween(fact.minOffset(), fact.maxOffset());
                            write(l.dst(), random.nextLong() & (size == 8 ? -1L : (1L << (size * 8)) - 1));
                            pc++;
                            continue;
                        }
                        int i = stackIndex(pc, addr, size, false);
                        long v = 0;
                        for (int k = size - 1; k >= 0; k--) {
                            assertThat(stackInit[i + k]).as("insn %d reads an uninitialised stack byte at %d\n%s", pc, i + k - 512, verified.log()).isTrue();
                            v = (v << 8) | (stack[i + k] & 0xff);
                        }
                        write(l.dst(), v);
                        pc++;
                    }
                    case StoreReg s -> {
                        int size = s.size().bytes();
                        long v = read(pc, s.src());
                        int i = stackIndex(pc, read(pc, s.dst()) + s.off(), size, true);
                        for (int k = 0; k < size; k++) {
                            stack[i + k] = (byte) (v >>> (8 * k));
                            stackInit[i + k] = true;
                        }
                        pc++;
                    }
                    case Call c when c.kind() == CallKind.LOCAL -> {
                        long[] saved = new long[10];
                        for (int r = 6; r <= 9; r++) {
                            saved[r - 6] = regs[r];
                            saved[r - 2] = init[r] ? 1 : 0;
                            init[r] = false;
                        }
                        saved[8] = pc + 1;
                        calls.push(saved);
                        regs[10] = FP + calls.size() * FRAME_SPACING;
                        java.util.Arrays.fill(stacksInit[calls.size()], false);
                        pc = code.branchTarget(pc);
                    }
                    case Call c -> {
                        for (int r = 1; r <= 5; r++) init[r] = false;
                        write(0, c.imm() == 7 ? random.nextInt() & 0xffffffffL : random.nextLong());
                        pc++;
                    }
                    case Exit e -> {
                        read(pc, 0);
                        if (calls.isEmpty()) return;
                        long[] saved = calls.pop();
                        for (int r = 6; r <= 9; r++) {
                            regs[r] = saved[r - 6];
                            init[r] = saved[r - 2] == 1;
                        }
                        for (int r = 1; r <= 5; r++) init[r] = false;
                        regs[10] = FP + calls.size() * FRAME_SPACING;
                        pc = (int) saved[8];
                    }
                    default -> throw new AssertionError("generator produced " + insn);
                }
            }
        }
    }
}
