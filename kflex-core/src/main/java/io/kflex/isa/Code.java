package io.kflex.isa;

import io.kflex.isa.Instruction.*;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A decoded instruction stream indexed by slot, as eBPF indexes it: {@code lddw} occupies two
 * slots and {@link #at} returns null for its second one. Construction checks what every later
 * stage relies on: each encoding is valid and every jump and local call lands on the start of an
 * instruction inside the stream.
 */
public final class Code {
    /** Linux's limit on program size (BPF_COMPLEXITY_LIMIT_INSNS); also bounds what we allocate. */
    public static final int MAX_SLOTS = 1_000_000;

    private final Instruction[] slots;
    private final List<Instruction> instructions;

    private Code(Instruction[] slots) throws InvalidInstructionException {
        this.slots = slots;
        List<Instruction> list = new ArrayList<>();
        for (Instruction insn : slots) {
            if (insn != null) list.add(insn);
        }
        this.instructions = Collections.unmodifiableList(list);
        checkTargets();
    }

    /** Decodes little-endian instruction bytes (a multiple of 8). */
    public static Code decode(byte[] bytes) throws InvalidInstructionException {
        if (bytes.length % 8 != 0) {
            throw new InvalidInstructionException(bytes.length / 8, "program is " + bytes.length + " bytes, not a multiple of 8 (truncated instruction)");
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long[] words = new long[bytes.length / 8];
        for (int i = 0; i < words.length; i++) words[i] = buffer.getLong();
        return decode(words);
    }

    /** Decodes instruction slots given as little-endian 64-bit words. */
    public static Code decode(long[] words) throws InvalidInstructionException {
        if (words.length == 0) throw new InvalidInstructionException(0, "empty program");
        if (words.length > MAX_SLOTS) throw new InvalidInstructionException(MAX_SLOTS, "program has " + words.length + " instructions, more than " + MAX_SLOTS);
        Instruction[] slots = new Instruction[words.length];
        for (int i = 0; i < words.length; i++) {
            RawInstruction next = i + 1 < words.length ? RawInstruction.of(words[i + 1]) : null;
            Instruction insn = Decoder.decode(i, RawInstruction.of(words[i]), next);
            slots[i] = insn;
            if (insn.slots() == 2) i++;
        }
        return new Code(slots);
    }

    /** Lays out instructions one after another and checks the result like a decoded stream. */
    public static Code of(List<? extends Instruction> instructions) throws InvalidInstructionException {
        int length = instructions.stream().mapToInt(Instruction::slots).sum();
        if (length == 0) throw new InvalidInstructionException(0, "empty program");
        Instruction[] slots = new Instruction[length];
        int pc = 0;
        for (Instruction insn : instructions) {
            slots[pc] = insn;
            pc += insn.slots();
        }
        return new Code(slots);
    }

    public static Code of(Instruction... instructions) throws InvalidInstructionException {
        return of(List.of(instructions));
    }

    /** Number of slots. */
    public int length() { return slots.length; }

    /** The instruction starting at slot {@code pc}, or null for the second slot of {@code lddw}. */
    public Instruction at(int pc) { return slots[pc]; }

    /** The instructions in order, without the {@code lddw} continuation slots. */
    public List<Instruction> instructions() { return instructions; }

    /** Whether {@code pc} is the start of an instruction. */
    public boolean isInstructionStart(int pc) { return pc >= 0 && pc < slots.length && slots[pc] != null; }

    /**
     * The absolute slot a branch at {@code pc} transfers to: jumps, {@code may_goto} and local
     * calls; -1 for instructions that do not branch.
     */
    public int branchTarget(int pc) {
        return switch (slots[pc]) {
            case Jump j -> pc + 1 + j.off();
            case Goto g -> pc + 1 + g.offset();
            case MayGoto m -> pc + 1 + m.off();
            case Call c when c.kind() == CallKind.LOCAL -> pc + 1 + c.imm();
            case null, default -> -1;
        };
    }

    /** Whether the instruction at {@code pc} is a jump or {@code goto} to itself or an earlier slot. */
    public boolean isBackwardJump(int pc) {
        return (slots[pc] instanceof Jump || slots[pc] instanceof Goto) && branchTarget(pc) <= pc;
    }

    /** The stream as little-endian 64-bit words. */
    public long[] words() {
        long[] words = new long[slots.length];
        for (int pc = 0; pc < slots.length; pc++) {
            if (slots[pc] == null) continue;
            long[] enc = Encoder.encode(slots[pc]);
            System.arraycopy(enc, 0, words, pc, enc.length);
        }
        return words;
    }

    /** The stream as bytes, as it appears in an object file. */
    public byte[] toBytes() {
        ByteBuffer buffer = ByteBuffer.allocate(slots.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : words()) buffer.putLong(w);
        return buffer.array();
    }

    private void checkTargets() throws InvalidInstructionException {
        for (int pc = 0; pc < slots.length; pc++) {
            if (slots[pc] == null) continue;
            if (!branches(slots[pc])) continue;
            // ja32 offsets are 32 bits wide: compute in long so a huge offset cannot wrap into range.
            long wideTarget = (long) pc + 1 + relativeOffset(slots[pc]);
            String what = slots[pc] instanceof Call ? "call" : "jump";
            if (wideTarget < 0 || wideTarget >= slots.length) {
                throw new InvalidInstructionException(pc, what + " out of range: target " + wideTarget + " outside [0, " + slots.length + ")");
            }
            if (slots[(int) wideTarget] == null) {
                throw new InvalidInstructionException(pc, what + " into the middle of lddw at " + wideTarget);
            }
        }
    }

    private static boolean branches(Instruction insn) {
        return insn instanceof Jump || insn instanceof Goto || insn instanceof MayGoto
                || (insn instanceof Call c && c.kind() == CallKind.LOCAL);
    }

    private static long relativeOffset(Instruction insn) {
        return switch (insn) {
            case Jump j -> j.off();
            case Goto g -> g.offset();
            case MayGoto m -> m.off();
            case Call c -> c.imm();
            default -> 0;
        };
    }
}
