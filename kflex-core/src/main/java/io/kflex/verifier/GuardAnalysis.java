package io.kflex.verifier;

import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.AddrSpaceCast;
import io.kflex.isa.Instruction.Alu;
import io.kflex.isa.Instruction.Atomic;
import io.kflex.isa.Instruction.Load;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.Instruction.Store;
import io.kflex.isa.Instruction.StoreReg;
import io.kflex.isa.Operand;
import io.kflex.isa.Registers;
import io.kflex.isa.Size;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.Map;

/**
 * Guard elision: which heap accesses provably land inside the heap's segment without confining
 * their base register first.
 *
 * <p>The engines keep two promises this analysis builds on (see {@code io.kflex.engine.HeapPlan}):
 * a guarded heap access confines its base register <em>in place</em> ({@code base &= mask}), and
 * {@code addr_space_cast} to the kernel view yields {@code value & mask}. After either, the
 * register holds a <em>sanitised</em> value {@code s} with {@code 0 <= s < size}. The analysis
 * tracks, per register and per 8-byte stack slot of the current frame, one abstract value:
 *
 * <ul>
 *   <li>{@code Ptr[lo, hi]}: the value is {@code s + d} with {@code s} sanitised and the
 *       displacement {@code d} in {@code [lo, hi]} (constant additions, bounded indices);</li>
 *   <li>{@code Num[lo, hi]}: a number in that signed range (constants, narrow loads, masks,
 *       shifts and products of bounded numbers, unsigned comparisons with a constant on the
 *       edge where they hold) — what bounded array indices are made of;</li>
 *   <li>nothing known (absent).</li>
 * </ul>
 *
 * A heap access through {@code base + off} of {@code n} bytes needs no guard when {@code base} is
 * {@code Ptr[lo, hi]} with {@code lo + off >= -GUARD} and {@code hi + off + n <= GUARD}: the bytes
 * then lie in {@code [-GUARD, size + GUARD)} of the heap, inside the segment's guard zones, on
 * every path. Facts survive copies, spills and fills (stack slots written only through the frame
 * pointer at constant offsets; any other store that may reach the stack, and every call given a
 * pointer into the frame, forgets the slots) and meet at joins (both sides must know a fact;
 * displacement ranges are joined).
 * It is a forward dataflow over each subprogram, which starts knowing nothing; a loop head (the
 * target of a back edge) whose state keeps changing is widened to "nothing known" for what
 * changed, so it terminates.
 */
final class GuardAnalysis {
    /** The displacement reach of an elided access, on each side of the heap. */
    static final long GUARD = Verifier.HEAP_GUARD_BYTES;
    private static final int REGS = 11;
    private static final int SLOTS = StackState.SIZE / 8;
    private static final int WIDEN_AFTER = 8;
    /** Values end here; then one marker per register and slot: non-null when it may hold a pointer into this frame. */
    private static final int VALS = REGS + SLOTS;
    private static final Val FRAME = new Val(false, 0, 0);
    private static final long U32 = 0xffff_ffffL;

    /** An abstract value: a sanitised heap pointer plus a displacement, or a bounded number. */
    record Val(boolean ptr, long lo, long hi) {
        static Val ptr(long lo, long hi) { return lo < -GUARD || hi > GUARD || lo > hi ? null : new Val(true, lo, hi); }

        static Val num(long lo, long hi) { return new Val(false, lo, hi); }

        static Val join(Val a, Val b) {
            if (a == null || b == null || a.ptr != b.ptr) return null;
            return new Val(a.ptr, Math.min(a.lo, b.lo), Math.max(a.hi, b.hi));
        }

        boolean nonNegative() { return !ptr && lo >= 0; }
    }

    private final Code code;
    private final ControlFlowGraph cfg;
    private final Map<Integer, AccessFact> accesses;

    private GuardAnalysis(Code code, ControlFlowGraph cfg, Map<Integer, AccessFact> accesses) {
        this.code = code;
        this.cfg = cfg;
        this.accesses = accesses;
    }

    /** Rewrites the {@code guardNeeded} flag of every heap access in {@code accesses}. */
    static void run(Code code, ControlFlowGraph cfg, Map<Integer, AccessFact> accesses) {
        new GuardAnalysis(code, cfg, accesses).solve();
    }

    private void solve() {
        int n = code.length();
        boolean[] stored = joinPoints(n);
        boolean[] loopHeads = loopHeads(n);
        // States are kept only where paths meet or blocks start: inside a straight run of code
        // the state is recomputed, so memory stays proportional to the number of blocks.
        Val[][] in = new Val[n][];
        int[] changes = new int[n];
        Deque<Integer> work = new ArrayDeque<>();
        for (int s = 0; s < cfg.subprogramCount(); s++) {
            int entry = cfg.subprogramStart(s);
            in[entry] = new Val[2 * VALS];
            in[entry][VALS + Registers.FP] = FRAME;
            work.add(entry);
        }
        while (!work.isEmpty()) {
            int start = work.poll();
            walk(start, in[start], stored, false, (succ, out) -> {
                if (in[succ] == null) {
                    in[succ] = out.clone();
                    work.add(succ);
                    return;
                }
                Val[] old = in[succ];
                Val[] next = new Val[old.length];
                // Widening only where a back edge lands: every cycle passes through such a
                // slot, so that is enough to terminate, and a slot after a loop head — the body
                // behind the loop's exit test — keeps the bound the test put on a widened index.
                boolean widen = loopHeads[succ] && ++changes[succ] > WIDEN_AFTER;
                for (int i = 0; i < VALS; i++) {
                    Val j = Val.join(old[i], out[i]);
                    next[i] = widen && !java.util.Objects.equals(j, old[i]) ? null : j;
                }
                for (int i = VALS; i < 2 * VALS; i++) next[i] = old[i] != null || out[i] != null ? FRAME : null;
                if (!Arrays.equals(next, old)) {
                    in[succ] = next;
                    work.add(succ);
                }
            });
        }
        for (int pc = 0; pc < n; pc++) {
            if (in[pc] != null) walk(pc, in[pc], stored, true, (succ, out) -> { });
        }
    }

    /** Runs the straight code from {@code start} to the next join point, handing each outgoing state to {@code edge}. */
    private void walk(int start, Val[] entry, boolean[] stored, boolean decide, java.util.function.BiConsumer<Integer, Val[]> edge) {
        Val[] st = entry.clone();
        int pc = start;
        while (true) {
            st = transfer(pc, st, decide);
            int[] succs = cfg.successors(pc);
            if (succs.length == 1 && !stored[succs[0]]) {
                pc = succs[0];
                continue;
            }
            if (code.at(pc) instanceof Instruction.Jump j && succs.length == 2 && succs[0] != succs[1]) {
                edge.accept(succs[0], refine(j, st, false));
                edge.accept(succs[1], refine(j, st, true));
                return;
            }
            for (int succ : succs) edge.accept(succ, st);
            return;
        }
    }

    /**
     * The state on one edge of a conditional jump: an unsigned comparison of a register with a
     * non-negative bound — a constant, or a register whose value is a known non-negative range —
     * bounds the register on that edge ({@code i < K} puts it in {@code [0, max K - 1]} whatever
     * it held; {@code i >= K} puts a non-negative {@code i} at {@code min K} or above). Bounds in
     * registers matter for loops: the index of {@code for (i = 0; i < len; i++)} is widened at
     * the loop head, and the comparison with a checked {@code len} bounds it again. Only 64-bit
     * comparisons, and 32-bit ones of registers known to fit in 32 bits, are used; an edge the
     * facts say is infeasible keeps the unrefined state.
     */
    static Val[] refine(Instruction.Jump j, Val[] st, boolean taken) {
        Val k = switch (j.src()) {
            case Operand.Imm imm -> j.wide() ? Val.num(imm.value(), imm.value()) : Val.num(imm.value() & U32, imm.value() & U32);
            case Operand.Reg r -> st[r.reg()];
        };
        if (k == null || k.ptr() || k.lo() < 0 || k.hi() == Long.MAX_VALUE) return st;
        Val v = st[j.dst()];
        if (v != null && (v.ptr() || v.lo() < 0)) return st; // compare numbers known non-negative only
        if (!j.wide() && (v == null || v.hi() > U32 || k.hi() > U32)) return st;
        long lo = v == null ? 0 : v.lo(), hi = v == null ? Long.MAX_VALUE : v.hi();
        // The unsigned order of non-negative values is their signed order; an unknown value that
        // is unsigned-below a non-negative bound is non-negative.
        switch (j.op()) {
            case JLT -> { if (taken) hi = Math.min(hi, k.hi() - 1); else if (v != null) lo = Math.max(lo, k.lo()); else return st; }
            case JLE -> { if (taken) hi = Math.min(hi, k.hi()); else if (v != null) lo = Math.max(lo, k.lo() + 1); else return st; }
            case JGT -> { if (!taken) hi = Math.min(hi, k.hi()); else if (v != null) lo = Math.max(lo, k.lo() + 1); else return st; }
            case JGE -> { if (!taken) hi = Math.min(hi, k.hi() - 1); else if (v != null) lo = Math.max(lo, k.lo()); else return st; }
            case JEQ -> { if (taken) { lo = Math.max(lo, k.lo()); hi = Math.min(hi, k.hi()); } else return st; }
            default -> { return st; }
        }
        if (lo > hi) return st;
        Val[] out = st.clone();
        out[j.dst()] = Val.num(lo, hi);
        return out;
    }

    /** Targets of back edges (an edge to the same or an earlier slot): every cycle of the graph has one. */
    private boolean[] loopHeads(int n) {
        boolean[] heads = new boolean[n];
        for (int pc = 0; pc < n; pc++) {
            if (code.at(pc) == null) continue;
            for (int succ : cfg.successors(pc)) if (succ <= pc) heads[succ] = true;
        }
        return heads;
    }

    /**
     * Slots whose state is kept: subprogram entries, block leaders, and every slot with more
     * than one predecessor or reached from a slot with more than one successor.
     */
    private boolean[] joinPoints(int n) {
        boolean[] stored = new boolean[n];
        int[] preds = new int[n];
        for (int pc = 0; pc < n; pc++) {
            if (code.at(pc) == null) continue; // second slot of a lddw
            int[] succs = cfg.successors(pc);
            for (int succ : succs) {
                preds[succ]++;
                if (succs.length != 1) stored[succ] = true;
            }
        }
        for (int pc = 0; pc < n; pc++) {
            if (preds[pc] > 1 || cfg.isBlockLeader(pc) || cfg.isSubprogramStart(pc)) stored[pc] = true;
        }
        return stored;
    }

    /** The state after slot {@code pc}; with {@code decide}, also records whether its heap access needs a guard. */
    private Val[] transfer(int pc, Val[] st, boolean decide) {
        Instruction insn = code.at(pc);
        AccessFact fact = accesses.get(pc);
        boolean mayReachFrame = frameTransfer(insn, fact, st);
        switch (insn) {
            case Load l -> {
                heapAccess(pc, fact, l.src(), l.off(), st, decide);
                Val v = l.src() == Registers.FP && l.size() == Size.DW ? slot(st, l.off()) : loaded(l);
                st[l.dst()] = v;
            }
            case Store s -> {
                heapAccess(pc, fact, s.dst(), s.off(), st, decide);
                stackWrite(st, fact, s.dst(), s.off(), s.size(), Val.num(s.imm(), s.imm()));
            }
            case StoreReg s -> {
                Val v = st[s.src()]; // before the access may confine the base (the same register when src == dst)
                heapAccess(pc, fact, s.dst(), s.off(), st, decide);
                stackWrite(st, fact, s.dst(), s.off(), s.size(), s.src() == s.dst() ? st[s.src()] : v);
            }
            case Atomic a -> {
                heapAccess(pc, fact, a.dst(), a.off(), st, decide);
                stackWrite(st, fact, a.dst(), a.off(), a.size(), null);
                kill(st, Liveness.defs(insn));
            }
            case AddrSpaceCast c -> st[c.dst()] = c.dstAddressSpace() == 0 && c.srcAddressSpace() == 1 ? Val.ptr(0, 0) : null;
            case LoadImm64 l -> st[l.dst()] = l.pseudo() == LoadImm64.PLAIN ? Val.num(l.value(), l.value()) : null;
            case Alu a -> st[a.dst()] = alu(a, st);
            case Instruction.Call c -> {
                kill(st, Liveness.defs(insn));
                if (mayReachFrame) forgetStack(st); // a callee or helper may write the frame through a pointer argument
            }
            case Instruction.CallX c -> {
                kill(st, Liveness.defs(insn));
                if (mayReachFrame) forgetStack(st);
            }
            default -> kill(st, Liveness.defs(insn));
        }
        return st;
    }

    /**
     * Which registers and slots may hold a pointer into this subprogram's frame: {@code r10},
     * copies and sums of such a register, and fills of slots that received one (the verifier
     * lets stack pointers be stored nowhere but the stack). Only a call given such a pointer can
     * write the frame, so only such a call forgets the slots. Updates the markers for
     * {@code insn} and tells, for a call, whether one of its arguments may point into the frame.
     */
    private static boolean frameTransfer(Instruction insn, AccessFact fact, Val[] st) {
        boolean mayBeStack = fact == null || fact.region() == MemoryRegion.STACK || fact.region() == MemoryRegion.MIXED;
        switch (insn) {
            case Alu a -> {
                boolean src = a.src() instanceof Operand.Reg r && st[VALS + r.reg()] != null;
                boolean keep = a.op() != AluOp.MOV && !a.op().isMovSx() && st[VALS + a.dst()] != null;
                st[VALS + a.dst()] = src || keep ? FRAME : null;
            }
            case AddrSpaceCast c -> st[VALS + c.dst()] = null;
            case LoadImm64 l -> st[VALS + l.dst()] = null;
            case Load l -> {
                int i = l.src() == Registers.FP ? slotIndex(l.off()) : -1;
                boolean frame = l.size() == Size.DW && (i >= 0 ? st[VALS + REGS + i] != null : mayBeStack && anySlotMarked(st));
                st[VALS + l.dst()] = frame ? FRAME : null;
            }
            case StoreReg s -> markSlots(st, fact, s.dst(), s.off(), s.size(), st[VALS + s.src()] != null);
            case Store s -> markSlots(st, fact, s.dst(), s.off(), s.size(), false);
            case Atomic a -> {
                boolean old = mayBeStack && anySlotMarked(st);
                markSlots(st, fact, a.dst(), a.off(), a.size(), st[VALS + a.src()] != null);
                for (int r = 0; r < REGS; r++) if ((Liveness.defs(insn) & (1 << r)) != 0) st[VALS + r] = old ? FRAME : null;
            }
            case Instruction.Call c -> { return callReachesFrame(st, insn, -1); }
            case Instruction.CallX c -> { return callReachesFrame(st, insn, c.reg()); }
            default -> { }
        }
        return false;
    }

    private static boolean callReachesFrame(Val[] st, Instruction insn, int target) {
        boolean reaches = target >= 0 && st[VALS + target] != null;
        for (int r = 1; r <= 5; r++) reaches |= st[VALS + r] != null;
        for (int r = 0; r < REGS; r++) if ((Liveness.defs(insn) & (1 << r)) != 0) st[VALS + r] = null;
        if (reaches) {
            // The callee may have stored the pointer in the frame or returned it.
            for (int i = 0; i < SLOTS; i++) st[VALS + REGS + i] = FRAME;
            st[VALS] = FRAME;
        }
        return reaches;
    }

    private static boolean anySlotMarked(Val[] st) {
        for (int i = 0; i < SLOTS; i++) if (st[VALS + REGS + i] != null) return true;
        return false;
    }

    /** A store: through the frame pointer it marks the slots it overlaps; through another pointer that may reach the stack, every slot. */
    private static void markSlots(Val[] st, AccessFact fact, int base, int off, Size size, boolean framePointer) {
        if (base == Registers.FP) {
            long from = off + StackState.SIZE, to = from + size.bytes();
            int exact = size == Size.DW ? slotIndex(off) : -1;
            for (int i = 0; i < SLOTS; i++) {
                if (i * 8L < to && i * 8L + 8 > from) {
                    boolean marked = framePointer || (i != exact && st[VALS + REGS + i] != null);
                    st[VALS + REGS + i] = marked ? FRAME : null;
                }
            }
        } else if ((fact == null || fact.region() == MemoryRegion.STACK || fact.region() == MemoryRegion.MIXED) && framePointer) {
            for (int i = 0; i < SLOTS; i++) st[VALS + REGS + i] = FRAME;
        }
    }

    private static void kill(Val[] st, int defs) {
        for (int r = 0; r < REGS; r++) if ((defs & (1 << r)) != 0) st[r] = null;
    }

    private static void forgetStack(Val[] st) { Arrays.fill(st, REGS, VALS, null); }

    /** Decides the guard of a heap access through {@code base + off}, then applies the in-place confinement of a guarded one. */
    private void heapAccess(int pc, AccessFact fact, int base, int off, Val[] st, boolean decide) {
        if (fact == null || fact.region() != MemoryRegion.HEAP) return;
        Val b = st[base];
        boolean elided = b != null && b.ptr() && b.lo() + off >= -GUARD && b.hi() + off + fact.size() <= GUARD;
        if (decide) accesses.put(pc, fact.withGuardNeeded(!elided));
        if (!elided) st[base] = Val.ptr(0, 0); // the engine confines the base register in place
    }

    /** The value a load of {@code l.size()} bytes produces, as far as its width bounds it. */
    private static Val loaded(Load l) {
        if (l.size() == Size.DW) return null;
        int bits = l.size().bytes() * 8;
        return l.signed() ? Val.num(-(1L << (bits - 1)), (1L << (bits - 1)) - 1) : Val.num(0, (1L << bits) - 1);
    }

    private static int slotIndex(long off) {
        long at = off + StackState.SIZE;
        return at >= 0 && at < StackState.SIZE && at % 8 == 0 ? (int) (at / 8) : -1;
    }

    private static Val slot(Val[] st, long off) {
        int i = slotIndex(off);
        return i < 0 ? null : st[REGS + i];
    }

    /**
     * A write that may reach the stack: through the frame pointer at a constant offset it
     * replaces the slots it overlaps (an aligned 8-byte write records {@code value}); any other
     * write that may be to the stack forgets every slot.
     */
    private static void stackWrite(Val[] st, AccessFact fact, int base, int off, Size size, Val value) {
        if (base == Registers.FP) {
            long from = off + StackState.SIZE, to = from + size.bytes();
            for (int i = 0; i < SLOTS; i++) if (i * 8L < to && i * 8L + 8 > from) st[REGS + i] = null;
            int i = slotIndex(off);
            if (i >= 0 && size == Size.DW) st[REGS + i] = value;
            return;
        }
        if (fact == null || fact.region() == MemoryRegion.STACK || fact.region() == MemoryRegion.MIXED) forgetStack(st);
    }

    // ----- arithmetic ----------------------------------------------------------------------

    private static Val alu(Alu a, Val[] st) {
        AluOp op = a.op();
        Val src = switch (a.src()) {
            case Operand.Imm imm -> a.wide() ? Val.num(imm.value(), imm.value()) : Val.num(imm.value() & U32, imm.value() & U32);
            case Operand.Reg r -> st[r.reg()];
        };
        Val dst = st[a.dst()];
        return a.wide() ? alu64(op, dst, src) : alu32(op, dst, src);
    }

    static Val alu64(AluOp op, Val d, Val s) {
        return switch (op) {
            case MOV -> s;
            case MOVSX8 -> Val.num(Byte.MIN_VALUE, Byte.MAX_VALUE);
            case MOVSX16 -> Val.num(Short.MIN_VALUE, Short.MAX_VALUE);
            case MOVSX32 -> Val.num(Integer.MIN_VALUE, Integer.MAX_VALUE);
            case ADD -> add(d, s);
            case SUB -> s == null || s.ptr() ? null : add(d, negate(s));
            case AND -> {
                // x & m with m in [0, k] is in [0, k], whatever x is.
                long bound = Math.min(s != null && s.nonNegative() ? s.hi() : Long.MAX_VALUE, d != null && d.nonNegative() ? d.hi() : Long.MAX_VALUE);
                yield bound == Long.MAX_VALUE ? null : Val.num(0, bound);
            }
            case LSH -> shiftLeft(d, s);
            case MUL -> d != null && s != null && d.nonNegative() && s.nonNegative() ? product(d, s) : null;
            case RSH -> {
                if (s == null || s.ptr() || s.lo() != s.hi() || s.lo() < 0 || s.lo() > 63) yield null;
                int k = (int) s.lo();
                if (k == 0) yield d; // unchanged
                yield d != null && d.nonNegative() ? Val.num(d.lo() >> k, d.hi() >> k) : Val.num(0, -1L >>> k);
            }
            default -> null;
        };
    }

    /** A 32-bit operation zero-extends its result: it is in [0, 2^32), and where no wrap can occur, exactly the 64-bit one's. */
    static Val alu32(AluOp op, Val d, Val s) {
        Val full = Val.num(0, U32);
        if (op == AluOp.MOV) {
            // A sanitised heap offset with no displacement is below 2^32 and survives the copy.
            if (s != null && s.ptr() && s.lo() == 0 && s.hi() == 0) return s;
            return s != null && !s.ptr() && s.lo() >= 0 && s.hi() <= U32 ? s : full;
        }
        if (op == AluOp.RSH && s != null && !s.ptr() && s.lo() == s.hi() && s.lo() >= 0 && s.lo() < 32) {
            return Val.num(0, U32 >>> s.lo());
        }
        if (op == AluOp.AND && s != null && !s.ptr() && s.lo() == s.hi()) return Val.num(0, s.lo() & U32);
        boolean small = d != null && !d.ptr() && d.lo() >= 0 && d.hi() <= U32 && s != null && !s.ptr() && s.lo() >= 0 && s.hi() <= U32;
        // Shifts of 32 or more differ between the widths (the count is taken modulo 32 or 64).
        boolean shift = op == AluOp.LSH || op == AluOp.RSH;
        if (small && (op == AluOp.ADD || op == AluOp.MUL || op == AluOp.AND || shift && s.hi() < 32)) {
            Val r = alu64(op, d, s);
            if (r != null && !r.ptr() && r.lo() >= 0 && r.hi() <= U32) return r;
        }
        return full;
    }

    private static Val negate(Val s) {
        if (s.lo() == Long.MIN_VALUE) return null;
        return Val.num(-s.hi(), -s.lo());
    }

    /** Pointer plus number (either way round) moves the displacement; number plus number adds ranges. */
    private static Val add(Val d, Val s) {
        if (d == null || s == null || d.ptr() && s.ptr()) return null;
        try {
            long lo = Math.addExact(d.lo(), s.lo()), hi = Math.addExact(d.hi(), s.hi());
            return d.ptr() || s.ptr() ? Val.ptr(lo, hi) : Val.num(lo, hi);
        } catch (ArithmeticException overflow) {
            return null;
        }
    }

    private static Val shiftLeft(Val d, Val s) {
        if (d == null || !d.nonNegative() || s == null || s.ptr() || s.lo() != s.hi() || s.lo() < 0 || s.lo() > 62) return null;
        int k = (int) s.lo();
        return d.hi() > (Long.MAX_VALUE >> k) ? null : Val.num(d.lo() << k, d.hi() << k);
    }

    private static Val product(Val d, Val s) {
        try {
            return Val.num(Math.multiplyExact(d.lo(), s.lo()), Math.multiplyExact(d.hi(), s.hi()));
        } catch (ArithmeticException overflow) {
            return null;
        }
    }
}
