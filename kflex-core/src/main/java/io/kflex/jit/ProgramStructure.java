package io.kflex.jit;

import io.kflex.engine.EngineException;
import io.kflex.engine.RuntimeLimits;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The shape of a program that {@link JitCompiler} generates methods for: its subprograms (entry
 * slot → the instructions reachable from it in one frame, each becoming a method), the slots
 * function pointers may name, the last instruction, which frame slots a subprogram body can keep
 * in {@code long} locals, which small loops are worth unrolling, and region boundaries for
 * subprograms too large for one method. It depends only on the instructions, on whether the
 * verifier vouched for them and on which back-edges need no poll, not on helpers, maps or the heap;
 * so it is worked out once, before any bytecode, and every method the emitter builds (or measures
 * while choosing a split) asks it the same questions.
 */
final class ProgramStructure {
    private final Code code;
    /** Whether the program comes with the verifier's facts (what frame-slot promotion relies on). */
    private final boolean verified;
    /** Backward branches the verifier proved to close terminating loops: emitted without a poll. */
    private final BitSet noPoll;
    /**
     * Subprogram entry slot → the instructions its method holds: everything reachable from the
     * entry by jumps and fall-through. That is normally the slots up to the next subprogram, but
     * a program may also fall or jump into another subprogram's code and run it in its own frame,
     * as the interpreter does; such instructions are then compiled into both methods.
     */
    private final TreeMap<Integer, BitSet> subprograms = new TreeMap<>();
    /** The last instruction of the program: where falling off the end is reported. */
    private final int lastInstruction;
    /** Slots a function pointer may name: targets of local calls and of {@code lddw} function pointers. */
    private final TreeSet<Integer> functionEntries = new TreeSet<>();

    /** Finds the subprograms of {@code code}; fails if an {@code lddw} names a function at no instruction. */
    ProgramStructure(Code code, boolean verified, BitSet noPoll) throws EngineException {
        this.code = code;
        this.verified = verified;
        this.noPoll = noPoll;
        int last = 0;
        for (int pc = 0; pc < code.length(); pc++) if (code.at(pc) != null) last = pc;
        this.lastInstruction = last;
        findSubprograms();
    }

    /** Subprogram entry slot → the instructions its method holds, by entry. */
    NavigableMap<Integer, BitSet> subprograms() { return Collections.unmodifiableNavigableMap(subprograms); }

    /** Slots a function pointer may name (each has its own method), in slot order. */
    Set<Integer> functionEntries() { return Collections.unmodifiableSet(functionEntries); }

    /** The last instruction of the program: where falling off the end is reported. */
    int lastInstruction() { return lastInstruction; }

    private void findSubprograms() throws EngineException {
        TreeSet<Integer> entries = new TreeSet<>();
        entries.add(0);
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn instanceof Call c && c.kind() == CallKind.LOCAL) functionEntries.add(code.branchTarget(pc));
            if (insn instanceof LoadImm64 l && l.pseudo() == LoadImm64.FUNC) {
                long target = (long) pc + 1 + l.imm();
                if (!code.isInstructionStart((int) Math.clamp(target, -1, Integer.MAX_VALUE))) {
                    throw new EngineException("lddw at " + pc + " names function at slot " + target + ", which is not an instruction of the program");
                }
                functionEntries.add((int) target);
            }
        }
        entries.addAll(functionEntries);
        for (int entry : entries) subprograms.put(entry, reachable(entry));
    }

    /** Instructions reachable from {@code entry} within one frame (calls return to the next instruction). */
    private BitSet reachable(int entry) {
        BitSet seen = new BitSet(code.length());
        ArrayDeque<Integer> work = new ArrayDeque<>(List.of(entry));
        while (!work.isEmpty()) {
            int pc = work.pop();
            if (pc >= code.length() || seen.get(pc)) continue;
            seen.set(pc);
            Instruction insn = code.at(pc);
            if (fallsThrough(insn)) work.push(pc + insn.slots());
            if (!(insn instanceof Call)) {
                int target = code.branchTarget(pc);
                if (target >= 0) work.push(target);
            }
        }
        return seen;
    }

    /** Whether execution may continue at the next instruction (a call returns there). */
    static boolean fallsThrough(Instruction insn) {
        return !(insn instanceof Exit || insn instanceof Goto);
    }

    /** Whether no instruction of the subprogram writes r10, so it always holds the frame pointer. */
    boolean framePointerIsFixed(BitSet body) {
        for (int pc = body.nextSetBit(0); pc >= 0; pc = body.nextSetBit(pc + 1)) {
            boolean writes = switch (code.at(pc)) {
                case Alu a -> a.dst() == 10;
                case Endian e -> e.dst() == 10;
                case LoadImm64 l -> l.dst() == 10;
                case Load l -> l.dst() == 10;
                case Atomic a -> a.fetch() && a.op() != AtomicOp.CMPXCHG && a.src() == 10;
                case AddrSpaceCast c -> c.dst() == 10;
                case null, default -> false;
            };
            if (writes) return false;
        }
        return true;
    }

    /**
     * The frame slots of a subprogram that can live in {@code long} locals instead of the stack
     * segment: the 8-byte-aligned frame offsets it accesses (the emitter gives each a local), or
     * an empty set when its frame's address may escape. {@code fixedFramePointer} is
     * {@link #framePointerIsFixed} of the body, which the emitter has already computed.
     *
     * <p>A slot's address escapes when anything could reach the frame other than this
     * subprogram's own {@code r10 + constant} loads and stores. That is ruled out when the program
     * is verified (the verifier rejects frame accesses through another frame's pointer and reads of
     * memory past a frame's top), r10 is never written, and r10 is read only as the base of
     * non-atomic loads and stores inside the frame that do not straddle an 8-byte slot: no copy of
     * r10 exists, so no helper, callee, callback or iterator can be handed a pointer into the
     * frame. Any other read of r10 (a move, an argument, a comparison, an atomic, a store of its
     * value) keeps the whole frame in memory.
     */
    SortedSet<Integer> promotableFrameSlots(BitSet body, boolean fixedFramePointer) {
        TreeSet<Integer> slots = new TreeSet<>();
        if (!verified || !fixedFramePointer) return slots;
        for (int pc = body.nextSetBit(0); pc >= 0; pc = body.nextSetBit(pc + 1)) {
            Instruction insn = code.at(pc);
            boolean framed = switch (insn) {
                case Load l when l.src() == 10 -> addSlot(slots, l.off(), l.size());
                case Store s when s.dst() == 10 -> addSlot(slots, s.off(), s.size());
                case StoreReg s when s.dst() == 10 || s.src() == 10 -> s.src() != 10 && addSlot(slots, s.off(), s.size());
                case Alu a -> !(a.src() instanceof Operand.Reg r && r.reg() == 10);
                case Jump j -> j.dst() != 10 && !(j.src() instanceof Operand.Reg r && r.reg() == 10);
                case Atomic a -> a.dst() != 10 && a.src() != 10;
                case CallX c -> c.reg() != 10;
                case AddrSpaceCast c -> c.src() != 10;
                case null, default -> true;
            };
            if (!framed) return new TreeSet<>();
        }
        return slots;
    }

    /**
     * Adds the slot of a frame access; false if the access is outside the frame or straddles two
     * slots (the verifier rejects misaligned stack accesses, so the latter is only a safeguard).
     */
    private static boolean addSlot(TreeSet<Integer> slots, short off, Size size) {
        if (off < -RuntimeLimits.STACK_FRAME_SIZE || off > -size.bytes()) return false;
        if (Math.floorMod(off, 8) + size.bytes() > 8) return false;
        slots.add(Math.floorDiv(off, 8) * 8);
        return true;
    }

    /** How many copies of a small innermost polling loop are emitted (see {@code emitUnrolled} in {@link JitCompiler}). */
    static final int UNROLL = 4;
    /** Loops longer than this many slots are emitted once: their check is a small part of an iteration. */
    static final int UNROLL_MAX_SLOTS = 24;

    /**
     * The loops of {@code body} in [start, end) worth emitting {@value #UNROLL} times, as head pc →
     * back-edge pc: innermost (no other backward branch inside), short, contiguous, and with a
     * cancellation point — a back-edge that polls or a {@code may_goto} — in both the instrumented
     * and the uninstrumented build, so that the two differ only by their checks.
     */
    Map<Integer, Integer> unrollableLoops(BitSet body, int start, int end) {
        Map<Integer, Integer> loops = new HashMap<>();
        if (UNROLL < 2) return loops;
        for (int pc = body.nextSetBit(start); pc >= 0 && pc < end; pc = body.nextSetBit(pc + 1)) {
            Instruction insn = code.at(pc);
            if (!(insn instanceof Jump || insn instanceof Goto)) continue;
            int head = code.branchTarget(pc);
            if (head > pc || head < start || pc - head + 1 > UNROLL_MAX_SLOTS || loops.containsKey(head)) continue;
            if (isInnermostLoop(body, head, pc) && (!noPoll.get(pc) || containsMayGoto(head, pc))) loops.put(head, pc);
        }
        return loops;
    }

    private boolean isInnermostLoop(BitSet body, int head, int backEdge) {
        for (int pc = head; pc < backEdge; pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) continue; // second slot of a wide instruction
            if (!body.get(pc)) return false;
            if ((insn instanceof Jump || insn instanceof Goto || insn instanceof MayGoto) && code.branchTarget(pc) <= pc) return false;
        }
        return true;
    }

    private boolean containsMayGoto(int head, int backEdge) {
        for (int pc = head; pc < backEdge; pc++) if (code.at(pc) instanceof MayGoto) return true;
        return false;
    }

    /** Region boundaries: every {@code perRegion}-th instruction of the body, in slot order. */
    static List<Integer> regionStarts(BitSet body, int perRegion) {
        List<Integer> starts = new ArrayList<>();
        int count = 0;
        for (int pc = body.nextSetBit(0); pc >= 0; pc = body.nextSetBit(pc + 1)) {
            if (count++ % perRegion == 0) starts.add(pc);
        }
        return starts;
    }
}
