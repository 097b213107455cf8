package io.kflex.verifier;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Operand;
import io.kflex.isa.Registers;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * Stack-slot liveness, the stack counterpart of {@link Liveness} and of Linux's stack
 * {@code REG_LIVE_READ} marks: bit {@code i} of {@link #liveAt} is set when the 8-byte slot
 * {@code i} of the current frame (bytes {@code fp-512+8i .. fp-512+8i+7}) may be read before
 * being overwritten from that instruction on. State comparison ignores the other slots, so a
 * scratch slot whose stale content differs between two paths no longer blocks pruning.
 *
 * <p>Stack memory is reached through pointers, so the analysis first finds, by forward
 * dataflow over each subprogram, which registers may point into the subprogram's own frame and
 * at which constant offset ({@code r10}, copies of it, constant adjustments). Everything it
 * cannot pin down counts as reading the whole frame:
 * <ul>
 *   <li>a load or atomic through a register that may point into the frame at an unknown
 *       offset, or a helper or kfunc given such a register;</li>
 *   <li>a local call (or {@code callx}) given any frame pointer: the callee may move it anywhere
 *       in the frame, store frame pointers back into it, or return one;</li>
 *   <li>once a frame pointer may have been stored to memory (spilled, handed to a local call
 *       or to a helper that runs a callback), every register loaded from memory may be one.</li>
 * </ul>
 * A helper or kfunc reads at most from its pointer argument up to the frame pointer, so a
 * constant-offset argument keeps every slot below it dead. Only an aligned 8-byte store through
 * a known offset kills a slot; smaller and unknown-offset stores leave liveness as it is.
 */
final class StackLiveness {
    /** Abstract register values of the forward pass: not a frame pointer, or any offset. */
    private static final int NONE = Integer.MIN_VALUE, ANY = Integer.MAX_VALUE;
    /** Offsets beyond this are treated as unknown (the verifier rejects such accesses anyway). */
    private static final int MAX_OFFSET = 1 << 20;
    private static final int SLOTS = StackState.SIZE / StackState.SLOT;
    static final long ALL = -1L;

    private final long[] liveIn;

    private StackLiveness(long[] liveIn) { this.liveIn = liveIn; }

    /** Slots (bit i = slot i, offset {@code 8i - 512}) of the current frame that may be read from slot {@code pc} on. */
    long liveAt(int pc) { return liveIn[pc]; }

    static StackLiveness compute(Code code, ControlFlowGraph cfg) {
        int n = code.length();
        int[][] frameRegs = framePointers(code, cfg, false);
        if (escapes(code, frameRegs)) frameRegs = framePointers(code, cfg, true);
        long[] use = new long[n], def = new long[n], in = new long[n];
        for (int pc = 0; pc < n; pc++) {
            Instruction insn = code.at(pc);
            if (insn == null || frameRegs[pc] == null) continue; // unreachable slots never matter
            int[] regs = frameRegs[pc];
            switch (insn) {
                case Load l -> use[pc] = range(regs[l.src()], l.off(), l.size().bytes());
                case Atomic a -> use[pc] = range(regs[a.dst()], a.off(), a.size().bytes());
                case Store s -> def[pc] = killed(regs[s.dst()], s.off(), s.size().bytes());
                case StoreReg s -> def[pc] = killed(regs[s.dst()], s.off(), s.size().bytes());
                case Call c when c.kind() == CallKind.LOCAL -> use[pc] = anyArgument(regs) ? ALL : 0;
                case CallX c -> use[pc] = anyArgument(regs) ? ALL : 0;
                // A callback gets the pointer and may move it anywhere in the frame.
                case Call c when c.kind() == CallKind.HELPER && runsCallback(c.imm()) -> use[pc] = anyArgument(regs) ? ALL : 0;
                case Call c -> {
                    long u = 0;
                    for (int r = Registers.R1; r <= Registers.R5; r++) u |= upToFramePointer(regs[r]);
                    use[pc] = u;
                }
                default -> { }
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int pc = n - 1; pc >= 0; pc--) {
                if (code.at(pc) == null) continue;
                long out = 0;
                for (int s : cfg.successors(pc)) out |= in[s];
                long next = use[pc] | (out & ~def[pc]);
                if (next != in[pc]) {
                    in[pc] = next;
                    changed = true;
                }
            }
        }
        return new StackLiveness(in);
    }

    // ---- forward pass: which registers may point into the current frame, and where

    /** Per slot, the frame-pointer value of each register before it executes (null when unreachable). */
    private static int[][] framePointers(Code code, ControlFlowGraph cfg, boolean escaped) {
        int n = code.length();
        int[][] in = new int[n][];
        Deque<Integer> work = new ArrayDeque<>();
        for (int s = 0; s < cfg.subprogramCount(); s++) {
            int entry = cfg.subprogramStart(s);
            int[] regs = new int[Registers.COUNT];
            Arrays.fill(regs, NONE); // arguments may point into the caller's frame, never into this one
            regs[Registers.FP] = 0;
            in[entry] = regs;
            work.add(entry);
        }
        while (!work.isEmpty()) {
            int pc = work.poll();
            int[] out = transfer(code.at(pc), in[pc].clone(), escaped);
            for (int succ : cfg.successors(pc)) {
                if (in[succ] == null) {
                    in[succ] = out.clone();
                    work.add(succ);
                    continue;
                }
                boolean grew = false;
                for (int r = 0; r < Registers.COUNT; r++) {
                    int j = join(in[succ][r], out[r]);
                    if (j != in[succ][r]) {
                        in[succ][r] = j;
                        grew = true;
                    }
                }
                if (grew) work.add(succ);
            }
        }
        return in;
    }

    /** May-point-into-the-frame join: a register that is a frame pointer on one path is treated as one. */
    private static int join(int a, int b) {
        if (a == b) return a;
        if (a == NONE) return b;
        if (b == NONE) return a;
        return ANY;
    }

    private static boolean isFrame(int v) { return v != NONE; }

    private static int[] transfer(Instruction insn, int[] regs, boolean escaped) {
        switch (insn) {
            case Alu a -> {
                int src = a.src() instanceof Operand.Reg r ? regs[r.reg()] : NONE;
                int dst = regs[a.dst()];
                if (a.op() == AluOp.MOV) {
                    regs[a.dst()] = a.wide() ? src : (isFrame(src) ? ANY : NONE);
                } else if ((a.op() == AluOp.ADD || a.op() == AluOp.SUB) && a.wide() && a.src() instanceof Operand.Imm imm && isFrame(dst)) {
                    long off = dst == ANY ? ANY : (long) dst + (a.op() == AluOp.ADD ? imm.value() : -imm.value());
                    regs[a.dst()] = dst == ANY || Math.abs(off) > MAX_OFFSET ? ANY : (int) off;
                } else {
                    regs[a.dst()] = isFrame(dst) || isFrame(src) ? ANY : NONE;
                }
            }
            case Endian e -> regs[e.dst()] = isFrame(regs[e.dst()]) ? ANY : NONE;
            case AddrSpaceCast c -> regs[c.dst()] = NONE;
            case LoadImm64 l -> regs[l.dst()] = NONE;
            case Load l -> regs[l.dst()] = escaped ? ANY : NONE;
            case Atomic a when a.fetch() -> regs[a.op() == io.kflex.isa.AtomicOp.CMPXCHG ? Registers.R0 : a.src()] = NONE;
            case Call c -> {
                // A local call may hand back a pointer into this frame; helpers and kfuncs return
                // none, except a numeric iterator's value, which lives in the iterator's slot.
                boolean frameArg = anyArgument(regs);
                int r0 = c.kind() == CallKind.HELPER ? NONE : (frameArg || escaped ? ANY : NONE);
                for (int r = Registers.R1; r <= Registers.R5; r++) regs[r] = NONE;
                regs[Registers.R0] = r0;
            }
            case CallX c -> {
                boolean frameArg = anyArgument(regs);
                for (int r = Registers.R1; r <= Registers.R5; r++) regs[r] = NONE;
                regs[Registers.R0] = frameArg || escaped ? ANY : NONE;
            }
            default -> { }
        }
        regs[Registers.FP] = 0;
        return regs;
    }

    /** Helpers that run a callback of the program (unknown helpers count as such; the verifier rejects them anyway). */
    private static boolean runsCallback(int helper) {
        return HelperPrototypes.find(helper).map(p -> p.has(HelperPrototypes.Effect.CALLS_BACK)).orElse(true);
    }

    private static boolean anyArgument(int[] regs) {
        for (int r = Registers.R1; r <= Registers.R5; r++) if (isFrame(regs[r])) return true;
        return false;
    }

    /**
     * Whether a frame pointer may end up in memory, where a load could pick it up: stored, given
     * to a local call (which may store it into the frame), or given to a helper running a callback.
     */
    private static boolean escapes(Code code, int[][] regs) {
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn == null || regs[pc] == null) continue;
            boolean escape = switch (insn) {
                case StoreReg s -> isFrame(regs[pc][s.src()]);
                case Atomic a -> isFrame(regs[pc][a.src()]);
                case Call c when c.kind() == CallKind.LOCAL -> anyArgument(regs[pc]);
                case Call c when c.kind() == CallKind.HELPER -> anyArgument(regs[pc]) && runsCallback(c.imm());
                case CallX c -> anyArgument(regs[pc]);
                default -> false;
            };
            if (escape) return true;
        }
        return false;
    }

    // ---- slot sets

    /** Slots touched by {@code size} bytes at {@code base + off}. */
    private static long range(int base, int off, int size) {
        if (base == NONE) return 0;
        if (base == ANY) return ALL;
        return slots((long) base + off, (long) base + off + size);
    }

    /** The slot an aligned 8-byte store at {@code base + off} overwrites completely, if any. */
    private static long killed(int base, int off, int size) {
        if (base == NONE || base == ANY || size != StackState.SLOT) return 0;
        long at = (long) base + off;
        if (at % StackState.SLOT != 0 || at < -StackState.SIZE || at >= 0) return 0;
        return 1L << ((at + StackState.SIZE) / StackState.SLOT);
    }

    /** What a helper may read through a pointer argument: from it up to the frame pointer. */
    private static long upToFramePointer(int base) {
        if (base == NONE) return 0;
        if (base == ANY) return ALL;
        return slots(base, 0);
    }

    /** Slots overlapping bytes {@code [lo, hi)} of the frame (offsets from the frame pointer), clamped to the frame. */
    static long slots(long lo, long hi) {
        lo = Math.max(lo, -StackState.SIZE);
        hi = Math.min(hi, 0);
        if (lo >= hi) return 0;
        int first = (int) ((lo + StackState.SIZE) / StackState.SLOT);
        int last = (int) ((hi - 1 + StackState.SIZE) / StackState.SLOT);
        long mask = 0;
        for (int s = first; s <= last; s++) mask |= 1L << s;
        return mask;
    }

    static boolean isLive(long mask, int slot) { return slot >= 0 && slot < SLOTS && (mask & (1L << slot)) != 0; }
}
