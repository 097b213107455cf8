package io.kflex.verifier;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.helpers.HelperPrototypes.ArgType;
import io.kflex.helpers.HelperPrototypes.Effect;
import io.kflex.helpers.HelperPrototypes.Prototype;
import io.kflex.helpers.Kfuncs;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Registers;
import io.kflex.loader.ProgramType;
import io.kflex.maps.MapSpec;
import io.kflex.verifier.StackState.ByteKind;
import io.kflex.verifier.Value.LoopDelta;
import io.kflex.verifier.Value.NotInit;
import io.kflex.verifier.Value.Pointer;
import io.kflex.verifier.Value.Scalar;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableSet;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The static half of KFlex: a path-sensitive abstract interpreter over the program's CFG in the
 * style of Linux's verifier. It explores every path (both directions of each branch, refining
 * scalars and pointers with what the comparison proves), prunes a path when an explored state at
 * the same point covers it, and — going past Linux — widens states at loop heads, so loops without
 * a static bound converge in a few iterations instead of being unrolled. Back-edges whose loop is
 * not proven to terminate become cancellation points.
 */
public final class Verifier {
    /** Instructions in the log and messages: the disassembler's syntax, decimal, helpers named as Linux's log names them. */
    private static final io.kflex.isa.asm.Disassembler LOG_TEXT =
            io.kflex.isa.asm.Disassembler.of(io.kflex.isa.asm.Disassembler.Radix.DECIMAL).withHelperNames(HelperPrototypes::nameOf);

    /** States kept per prune point; older ones are dropped (less pruning, never unsoundness). */
    private static final int MAX_STATES_PER_POINT = 64;
    /** States kept for pruning in total (about a kilobyte each); beyond it only loop heads keep states. */
    private static final int MAX_KEPT_STATES = 100_000;
    /** Widenings of one loop entry before only the coarse thresholds remain. */
    private static final int HARD_WIDENING_AFTER = 6;
    /** Largest offset a pointer may carry (keeps offset arithmetic far from overflow). */
    private static final long MAX_POINTER_OFFSET = 1L << 29;
    /** Linux's MAX_PACKET_OFF. */
    private static final long MAX_PACKET_OFF = 0xffff;
    /** Size the program may read of a {@code struct bpf_sock}. */
    private static final int SOCKET_SIZE = 80;
    /** Heap guard distance on each side of the heap (DESIGN §5). */
    public static final int HEAP_GUARD_BYTES = 32 * 1024;
    /** Packet pointer groups loaded straight from the context. */
    private static final int PACKET_BASE_ID = 1, PACKET_META_BASE_ID = 2;
    /** Argument registers a callback receives (see {@code callbackArguments}). */
    private static final int R2 = 2, R3 = 3, R4 = 4;
    /** Linux's BPF_MAX_LOOPS: a numeric iterator yields at most this many values. */
    public static final long ITER_MAX_STEPS = 8L * 1024 * 1024;
    /**
     * Most loop iterations a run may make without passing a cancellation check: Linux's cap on
     * any single loop construct ({@code bpf_loop}, numeric iterators, the {@code may_goto}
     * budget). A loop proven to end but allowed more — a countdown from {@code ktime_get_ns()}
     * ends only after days — or nested in proven loops whose bounds multiply past it keeps
     * its cancellation point.
     */
    public static final long MAX_UNPOLLED_ITERATIONS = ITER_MAX_STEPS;
    /** Bytes of the {@code int} that {@code bpf_iter_num_next} points to. */
    private static final int ITER_CUR_SIZE = 4;

    private final Code code;
    private final ProgramType type;
    private final List<MapSpec> maps;
    private final int programMaps;
    private final int[] innerMap;
    private final VerifierOptions options;
    private final ContextDescriptor context;
    private final StringBuilder log = new StringBuilder();
    private final long deadline;
    private ControlFlowGraph cfg;
    private Liveness liveness;
    private StackLiveness stackLiveness;
    private NavigableSet<Long> thresholds;
    /** Termination witnesses of the loops, collected while exploring; the back-edge verdicts come from them. */
    private LoopTermination termination;
    private long processed;
    private int nextId = 3;
    private long storedStates;
    private int keptStates;
    private final Deque<Pending> worklist = new ArrayDeque<>();
    private final Map<Integer, List<VerifierState>> explored = new HashMap<>();
    private final Map<Integer, AccessFact> accesses = new TreeMap<>();
    /** Per helper call with a map argument: the program map index on every path so far, or -1 when paths disagree. */
    private final Map<Integer, Integer> callMaps = new TreeMap<>();
    /** Per back-edge source: the resources held on some path taking it (covered paths hold the same). */
    private final Map<Integer, Set<HeldResource>> heldAtBackEdge = new HashMap<>();
    private int[] stackDepth;
    /** Caller subprogram → subprograms it reached through {@code callx} (the static call graph cannot see these edges). */
    private final Map<Integer, Set<Integer>> indirectCallees = new HashMap<>();

    /** A path still to explore: continue at {@code pc}, arrived from {@code prev}. */
    private record Pending(int pc, int prev, VerifierState state) {}

    private Verifier(Code code, ProgramType type, List<MapSpec> maps, VerifierOptions options) {
        this.code = java.util.Objects.requireNonNull(code, "code");
        this.type = java.util.Objects.requireNonNull(type, "program type");
        this.options = java.util.Objects.requireNonNull(options, "options");
        // The program's maps by index, then the inner-map templates of maps of maps: a lookup in
        // an outer map yields a map pointer to its template.
        List<MapSpec> table = new ArrayList<>(java.util.Objects.requireNonNull(maps, "maps"));
        this.programMaps = table.size();
        this.innerMap = new int[programMaps];
        for (int i = 0; i < programMaps; i++) {
            MapSpec inner = table.get(i).innerMap();
            innerMap[i] = -1;
            if (inner != null) {
                innerMap[i] = table.size();
                table.add(inner);
            }
        }
        this.maps = List.copyOf(table);
        this.context = ContextDescriptor.of(type);
        this.deadline = System.nanoTime() + options.timeBudget().toNanos();
    }

    /** Verifies {@code code} as a program of {@code type} using {@code maps} (indexed by {@code lddw} pseudo MAP_IDX). */
    public static VerifiedProgram verify(Code code, ProgramType type, List<MapSpec> maps, VerifierOptions options)
            throws VerificationException {
        return new Verifier(code, type, maps, options).run();
    }

    private VerifiedProgram run() throws VerificationException {
        try {
            cfg = ControlFlowGraph.build(code);
        } catch (VerificationException e) {
            if (options.logLevel() >= 1) log.append(e.getMessage()).append('\n');
            throw new VerificationException(e.pc(), e.rule(), e.detail(), "", log.toString());
        }
        termination = new LoopTermination(code, cfg, indirectCallees);
        thresholds = collectThresholds();
        liveness = Liveness.compute(code, cfg);
        stackLiveness = options.stackLiveness() ? StackLiveness.compute(code, cfg) : null;
        stackDepth = new int[cfg.subprogramCount()];
        VerifierState initial = new VerifierState();
        FrameState main = new FrameState(0, -1, 0, false);
        main.regs[Registers.R1] = Pointer.of(PointerKind.CTX);
        initial.frames.add(main);
        worklist.push(new Pending(0, -1, initial));
        while (!worklist.isEmpty()) {
            Pending p = worklist.pop();
            explore(p.pc, p.prev, p.state);
        }
        checkStackSize();
        List<BackEdgeFact> backEdges = termination.backEdgeFacts();
        SortedSet<Integer> cancellations = new TreeSet<>();
        for (BackEdgeFact b : backEdges) if (!b.terminating()) cancellations.add(b.from());
        computeGuards();
        Map<Integer, Integer> depths = new TreeMap<>();
        for (int s = 0; s < stackDepth.length; s++) depths.put(cfg.subprogramStart(s), stackDepth[s]);
        if (options.logLevel() >= 1) {
            log.append("processed ").append(processed).append(" insns (limit ").append(options.maxProcessed())
                    .append(") total_states ").append(storedStates).append(", back-edges ").append(backEdges.size())
                    .append(", cancellation points ").append(cancellations.size()).append('\n');
            long heap = accesses.values().stream().filter(a -> a.region() == MemoryRegion.HEAP).count();
            long guarded = accesses.values().stream().filter(a -> a.region() == MemoryRegion.HEAP && a.guardNeeded()).count();
            if (heap > 0) log.append("heap accesses ").append(heap).append(": guards needed ").append(guarded)
                    .append(", elided ").append(heap - guarded).append('\n');
            for (BackEdgeFact b : backEdges) {
                log.append("back-edge ").append(b.from()).append(" -> ").append(b.to()).append(": ")
                        .append(b.terminating() ? "terminates (" : "cancellation point (").append(b.reason()).append(")\n");
            }
        }
        SortedSet<Integer> quiet = termination.quietPolls();
        if (options.logLevel() >= 1) {
            for (int pc : quiet) log.append("insn ").append(pc).append(": no poll (every loop around it is counted)\n");
        }
        Map<Integer, List<HeldResource>> held = new TreeMap<>();
        for (int pc : cancellations) held.put(pc, List.copyOf(heldAtBackEdge.getOrDefault(pc, Set.of())));
        return new VerifiedProgram(code, type, processed, java.util.Collections.unmodifiableMap(accesses), List.copyOf(backEdges),
                java.util.Collections.unmodifiableSortedSet(cancellations), java.util.Collections.unmodifiableMap(held),
                java.util.Collections.unmodifiableMap(depths), log.toString(), java.util.Collections.unmodifiableMap(callMaps),
                quiet);
    }

    // =============================================================================================
    // Exploration

    private void explore(int pc, int prev, VerifierState st) throws VerificationException {
        while (true) {
            if (cfg.isPrunePoint(pc)) {
                st = arrive(pc, prev, st);
                if (st == null) return;
            }
            processed++;
            if (processed > options.maxProcessed()) {
                throw fail(pc, Rule.TOO_COMPLEX, "program is too complex: more than " + options.maxProcessed()
                        + " instructions processed", st);
            }
            if ((processed & 1023) == 0 && System.nanoTime() > deadline) {
                throw fail(pc, Rule.TOO_COMPLEX, "verification exceeded its time budget of " + options.timeBudget().toMillis()
                        + " ms after " + processed + " instructions", st);
            }
            Instruction insn = code.at(pc);
            if (options.logLevel() >= 2 && options.sourceLines().containsKey(pc)) log.append("; ").append(options.sourceLines().get(pc)).append('\n');
            if (options.logLevel() >= 2) log.append(pc).append(": (").append(LOG_TEXT.format(insn)).append(") ; ").append(st.render()).append('\n');
            int next = step(pc, insn, st);
            if (next < 0) return;
            prev = pc;
            pc = next;
        }
    }

    /**
     * Arrival at a prune point: records loop facts, prunes if covered, widens at loop heads on
     * back-edges. Returns the state to continue with, or null when the path is pruned.
     */
    private VerifierState arrive(int pc, int prev, VerifierState st) throws VerificationException {
        boolean head = cfg.isLoopHead(pc);
        boolean backEdge = head && prev >= 0 && cfg.isBackEdge(prev, pc);
        // A callback re-invoked by its helper behaves like a loop around the callback's entry.
        boolean reinvocation = prev >= 0 && code.at(prev) instanceof Exit && cfg.isSubprogramStart(pc);
        if (backEdge) recordIteration(prev, pc, st);
        if (head) resetDeltas(st, pc);
        List<VerifierState> states = explored.computeIfAbsent(pc, k -> new ArrayList<>());
        int[] live = liveMasks(pc, st);
        long[] liveSlots = liveSlotMasks(pc, st);
        for (VerifierState old : states) {
            if (StateLattice.covers(old, st, live, liveSlots)) return null;
        }
        if (backEdge || reinvocation) {
            // Widen against the state this iteration started from (falling back to the latest
            // comparable state here, e.g. for callbacks re-invoked by their helper).
            VerifierState base = st.iterationStart.get(pc);
            for (int i = states.size() - 1; i >= 0 && base == null; i--) {
                if (states.get(i).frames.size() == st.frames.size()) base = states.get(i);
            }
            if (base != null) {
                int n = st.widenings.merge(pc, 1, Integer::sum);
                VerifierState widened = StateLattice.widen(base, st, thresholds, n > HARD_WIDENING_AFTER, this::newId, live, liveSlots);
                if (widened != null) {
                    widened.iterationStart.putAll(st.iterationStart);
                    widened.widenings.putAll(st.widenings);
                    st = widened;
                }
            }
        } else if (head) {
            st.widenings.remove(pc); // a new entry into the loop starts its own widening sequence
        }
        // Loop heads always keep their state (widening needs it); elsewhere a memory budget applies.
        if (!head && keptStates >= MAX_KEPT_STATES) return st;
        if (states.size() >= MAX_STATES_PER_POINT) {
            states.removeFirst();
            keptStates--;
        }
        VerifierState stored = st.snapshot();
        states.add(stored);
        keptStates++;
        if (head) st.iterationStart.put(pc, stored);
        storedStates++;
        return st;
    }

    private int newId() { return nextId++; }

    /** Live registers per frame: the innermost at {@code pc}, callers' at their return sites (minus r0-r5). */
    private int[] liveMasks(int pc, VerifierState st) {
        int[] live = new int[st.frames.size()];
        for (int f = 0; f < live.length; f++) {
            live[f] = f == live.length - 1 ? liveness.liveAt(pc) : liveness.liveAt(st.frames.get(f + 1).callsite + 1) & ~0b111111;
            // Below a callback, the helper still holds its arguments (the map of
            // bpf_for_each_map_elem, the context) to pass on re-invocation.
            if (f < live.length - 1 && st.frames.get(f + 1).callback) live[f] |= (1 << Registers.R1) | (1 << R3);
        }
        return live;
    }

    /**
     * Live stack slots per frame: the innermost at {@code pc}; a caller's at its call
     * instruction, which counts what the callee may still read through pointers it was given.
     */
    private long[] liveSlotMasks(int pc, VerifierState st) {
        long[] live = new long[st.frames.size()];
        for (int f = 0; f < live.length; f++) {
            if (stackLiveness == null) live[f] = StackLiveness.ALL;
            else live[f] = f == live.length - 1 ? stackLiveness.liveAt(pc) : stackLiveness.liveAt(st.frames.get(f + 1).callsite);
        }
        return live;
    }

    /** Constants the program compares against: the widening thresholds. */
    private NavigableSet<Long> collectThresholds() {
        TreeSet<Long> set = new TreeSet<>();
        set.add(0L);
        // One short of each type's extreme: what "i < n" leaves of an unknown n.
        for (long extreme : new long[] {-2L, Long.MAX_VALUE - 1, Long.MIN_VALUE + 1, 0xfffffffeL, Integer.MAX_VALUE - 1, Integer.MIN_VALUE + 1}) {
            set.add(extreme);
        }
        for (Instruction insn : code.instructions()) {
            long c;
            if (insn instanceof Jump j && j.src() instanceof Operand.Imm imm) c = imm.value();
            else if (insn instanceof Alu a && a.op() == AluOp.MOV && a.src() instanceof Operand.Imm imm) c = imm.value();
            else if (insn instanceof LoadImm64 l && l.pseudo() == LoadImm64.PLAIN) c = l.value();
            else continue;
            for (long d = -1; d <= 1; d++) {
                set.add(c + d);
                set.add((c & 0xffffffffL) + d);
            }
        }
        return set;
    }

    /**
     * Where a scalar lives, as loop deltas and termination witnesses name it: frame * 1000 plus the
     * register, or plus 100 and the stack slot ({@link LoopTermination} decodes it for its messages).
     */
    static int location(int frame, int reg) { return frame * 1000 + reg; }

    static int stackLocation(int frame, int slot) { return frame * 1000 + 100 + slot; }

    /** At a loop head every scalar becomes its own origin for the coming iteration. */
    private void resetDeltas(VerifierState st, int head) {
        for (FrameState f : st.frames) {
            for (int r = 0; r < Registers.COUNT; r++) {
                if (f.regs[r] instanceof Scalar s) f.regs[r] = withDelta(s, head, new LoopDelta(location(f.frameNo, r), 0, true, true));
            }
            for (int slot = 0; slot < StackState.SIZE / StackState.SLOT; slot++) {
                if (f.stack.spill(slot * StackState.SLOT) instanceof Scalar s) {
                    f.stack.setSpillValue(slot, withDelta(s, head, new LoopDelta(stackLocation(f.frameNo, slot), 0, true, true)));
                }
            }
        }
    }

    private static Scalar withDelta(Scalar s, int head, LoopDelta d) {
        Map<Integer, LoopDelta> m = new HashMap<>(s.deltas());
        m.put(head, d);
        return new Scalar(s.bounds(), s.id(), Map.copyOf(m));
    }

    /** One iteration of the loop at {@code head} ends: check references and collect termination witnesses. */
    private void recordIteration(int from, int head, VerifierState st) throws VerificationException {
        java.util.BitSet body = cfg.loopBody(new ControlFlowGraph.Edge(from, head));
        for (VerifierState.Reference ref : st.refs.values()) {
            if (body.get(ref.pc())) {
                throw fail(from, Rule.LEAKED_REFERENCE, "reference id=" + ref.id() + " acquired at insn " + ref.pc()
                        + " inside the loop is still held when the loop iterates", st);
            }
        }
        Set<HeldResource> held = heldAtBackEdge.computeIfAbsent(from, k -> new java.util.LinkedHashSet<>());
        // Iterators live on the stack and hold nothing of the host's.
        for (VerifierState.Reference ref : st.refs.values()) if (ref.kind() != PointerKind.ITER) held.add(HeldResource.of(ref));
        if (st.lock != null) held.add(HeldResource.of(st.lock));
        termination.collectWitnesses(head, st);
    }

    // =============================================================================================
    // Instructions

    private int step(int pc, Instruction insn, VerifierState st) throws VerificationException {
        return switch (insn) {
            case Alu a -> { alu(pc, a, st); yield pc + 1; }
            case Endian e -> {
                Scalar s = scalarOperand(pc, st, e.dst(), "byte swap");
                setReg(pc, st, e.dst(), Scalar.of(ScalarAlu.endian(e.kind(), e.bits(), s.bounds())));
                yield pc + 1;
            }
            case AddrSpaceCast c -> { addrSpaceCast(pc, c, st); yield pc + 1; }
            case LoadImm64 l -> { loadImm64(pc, l, st); yield pc + 2; }
            case Load l -> { load(pc, l, st); yield pc + 1; }
            case Store s -> {
                store(pc, st, s.dst(), s.off(), s.size().bytes(), Scalar.constant(s.imm()));
                yield pc + 1;
            }
            case StoreReg s -> {
                Value v = read(pc, st, s.src());
                if (v instanceof Scalar sc && !sc.isConstant() && sc.id() == 0 && s.size() == io.kflex.isa.Size.DW
                        && st.current().regs[s.dst()] instanceof Pointer base && base.kind() == PointerKind.STACK) {
                    // A spill links register and slot (like a fill), so a later comparison on
                    // the register also bounds the slot: e.g. a counter stored, then tested.
                    v = new Scalar(sc.bounds(), newId(), sc.deltas());
                    st.current().regs[s.src()] = v;
                }
                store(pc, st, s.dst(), s.off(), s.size().bytes(), v);
                yield pc + 1;
            }
            case Atomic a -> { atomic(pc, a, st); yield pc + 1; }
            case Jump j -> jump(pc, j, st);
            case Goto g -> code.branchTarget(pc);
            case MayGoto m -> {
                // Falls through while the loop budget lasts, jumps once it is exhausted: both happen.
                worklist.push(new Pending(code.branchTarget(pc), pc, st.copy()));
                yield pc + 1;
            }
            case Call c -> switch (c.kind()) {
                case HELPER -> helperCall(pc, c.imm(), st);
                case LOCAL -> localCall(pc, code.branchTarget(pc), st);
                case KFUNC -> kfuncCall(pc, c.imm(), st);
            };
            case CallX x -> indirectCall(pc, x, st);
            case Exit e -> exit(pc, st);
        };
    }

    private VerificationException fail(int pc, Rule rule, String message, VerifierState st) {
        String state = st == null ? "" : st.render();
        String source = pc >= 0 ? options.sourceLineAt(pc) : null;
        if (source != null) message = message + " (at " + source + ")";
        if (options.logLevel() >= 1) {
            String insn = pc >= 0 && pc < code.length() && code.at(pc) != null ? " (" + LOG_TEXT.format(code.at(pc)) + ")" : "";
            log.append(pc).append(insn).append(": ").append(message).append('\n');
            if (!state.isEmpty()) log.append("  ").append(state).append('\n');
            log.append("processed ").append(processed).append(" insns\n");
        }
        return new VerificationException(pc, rule, message, state, log.toString());
    }

    private Value read(int pc, VerifierState st, int reg) throws VerificationException {
        Value v = st.current().regs[reg];
        if (v instanceof NotInit) throw fail(pc, Rule.UNINIT_REGISTER, "R" + reg + " !read_ok (read of uninitialised register)", st);
        return v;
    }

    /** A pointer to a released object may still be copied around, but not used. */
    private void checkNotReleased(int pc, VerifierState st, int reg, Value v) throws VerificationException {
        if (v instanceof Pointer p && p.refId() != 0 && !st.refs.containsKey(p.refId()) && !p.orNull()) {
            throw fail(pc, Rule.USE_AFTER_RELEASE, "R" + reg + " refers to reference id=" + p.refId() + " which was released", st);
        }
    }

    private Scalar scalarOperand(int pc, VerifierState st, int reg, String what) throws VerificationException {
        Value v = read(pc, st, reg);
        if (v instanceof Scalar s) return s;
        throw fail(pc, Rule.POINTER_ARITHMETIC, what + " on pointer R" + reg + " (" + v + ") prohibited", st);
    }

    private void setReg(int pc, VerifierState st, int reg, Value v) throws VerificationException {
        if (reg == Registers.FP) throw fail(pc, Rule.READ_ONLY, "frame pointer R10 is read only", st);
        st.current().regs[reg] = v;
    }

    // ----- ALU -------------------------------------------------------------------------------

    private void alu(int pc, Alu a, VerifierState st) throws VerificationException {
        int dst = a.dst();
        AluOp op = a.op();
        Value src = switch (a.src()) {
            case Operand.Imm imm -> Scalar.constant(a.wide() ? imm.value() : imm.value() & 0xffffffffL);
            case Operand.Reg r -> op == AluOp.NEG ? Scalar.constant(0) : read(pc, st, r.reg());
        };
        if (op == AluOp.MOV) {
            if (src instanceof Pointer p) {
                // A heap pointer is 32 bits of offset in the kernel view: a 32-bit copy keeps it.
                if (!a.wide() && p.kind() == PointerKind.ARENA) {
                    setReg(pc, st, dst, p);
                    return;
                }
                if (!a.wide()) throw fail(pc, Rule.POINTER_LEAK, "R" + dst + " partial (32-bit) copy of pointer " + p, st);
                setReg(pc, st, dst, p);
                return;
            }
            Scalar s = (Scalar) src;
            if (!a.wide()) {
                ScalarValue copied = ScalarAlu.alu32(AluOp.MOV, ScalarValue.UNKNOWN, s.bounds());
                // A source that already fits in 32 bits is copied unchanged, and so is its change
                // since the loop head: clang counts loops in 32-bit registers and moves the counter
                // between them with w-moves, which must not hide the counter from the termination proof.
                boolean unchanged = Long.compareUnsigned(s.bounds().umax(), ScalarValue.U32_MAX) <= 0;
                setReg(pc, st, dst, unchanged && !s.deltas().isEmpty() ? new Scalar(copied, 0, s.deltas()) : Scalar.of(copied));
                return;
            }
            if (a.src() instanceof Operand.Reg r && !s.isConstant()) {
                // Link the copies so a comparison on one refines the other.
                if (s.id() == 0) {
                    s = new Scalar(s.bounds(), newId(), s.deltas());
                    st.current().regs[r.reg()] = s;
                }
            }
            setReg(pc, st, dst, s);
            return;
        }
        if (op.isMovSx()) {
            if (src instanceof Pointer p && p.kind() == PointerKind.ARENA) {
                setReg(pc, st, dst, p);
                return;
            }
            if (!(src instanceof Scalar s)) throw fail(pc, Rule.POINTER_LEAK, "sign-extending move of pointer " + src, st);
            ScalarValue b = a.wide() ? ScalarAlu.alu64(op, ScalarValue.UNKNOWN, s.bounds()) : ScalarAlu.alu32(op, ScalarValue.UNKNOWN, s.bounds());
            setReg(pc, st, dst, Scalar.of(b));
            return;
        }
        Value d = read(pc, st, dst);
        if (isArena(d) || isArena(src)) {
            setReg(pc, st, dst, arenaArithmetic(pc, st, op, d, src, dst));
            return;
        }
        if (d instanceof Pointer p) {
            setReg(pc, st, dst, pointerArithmetic(pc, st, op, a.wide(), p, src, dst, true));
            return;
        }
        Scalar ds = (Scalar) d;
        if (src instanceof Pointer p) {
            if (op == AluOp.ADD) {
                setReg(pc, st, dst, pointerArithmetic(pc, st, op, a.wide(), p, ds, dst, false));
                return;
            }
            throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " " + op.mnemonic() + " with pointer operand " + p + " prohibited", st);
        }
        Scalar ss = (Scalar) src;
        ScalarValue result = a.wide() ? ScalarAlu.alu64(op, ds.bounds(), ss.bounds()) : ScalarAlu.alu32(op, ds.bounds(), ss.bounds());
        Map<Integer, LoopDelta> deltas = Map.of();
        if ((op == AluOp.ADD || op == AluOp.SUB) && ss.isConstant() && !ds.deltas().isEmpty()) {
            long k = op == AluOp.ADD ? ss.bounds().constantValue() : -ss.bounds().constantValue();
            if (!a.wide()) k = (int) k;
            deltas = stepDeltas(ds, k, a.wide());
        }
        setReg(pc, st, dst, new Scalar(result, 0, deltas));
    }

    private static boolean isArena(Value v) { return v instanceof Pointer p && p.kind() == PointerKind.ARENA; }

    /**
     * Arithmetic with a heap pointer. As in Linux, any operation on an arena pointer is allowed
     * and keeps it an arena pointer: it is never proven in bounds, SFI confines every access
     * through it. Only mixing it with a host pointer is refused (that would launder a host
     * address into the heap).
     */
    private Value arenaArithmetic(int pc, VerifierState st, AluOp op, Value d, Value src, int dst) throws VerificationException {
        Value other = isArena(d) ? src : d;
        if (other instanceof Pointer q && q.kind() != PointerKind.ARENA) {
            throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " " + op.mnemonic() + " of heap pointer and host pointer " + q + " prohibited", st);
        }
        if (isArena(d) && isArena(src)) return op == AluOp.SUB ? Scalar.UNKNOWN : d;
        if (isArena(d) || op == AluOp.ADD) return Pointer.of(PointerKind.ARENA);
        return Scalar.UNKNOWN; // a number computed from a heap address
    }

    /** Loop deltas after adding the constant {@code k}; a step that may wrap clears the corresponding flag. */
    private static Map<Integer, LoopDelta> stepDeltas(Scalar d, long k, boolean wide) {
        ScalarValue b = d.bounds();
        boolean noU, noS;
        if (wide) {
            noU = k >= 0 ? Long.compareUnsigned(b.umax(), -1L - k) <= 0 : k != Long.MIN_VALUE && Long.compareUnsigned(b.umin(), -k) >= 0;
            noS = k >= 0 ? b.smax() <= Long.MAX_VALUE - k : b.smin() >= Long.MIN_VALUE - k;
        } else {
            // Only when the register already equals its zero-extended subregister is the 32-bit step the 64-bit one.
            boolean zeroExtended = Long.compareUnsigned(b.umax(), ScalarValue.U32_MAX) <= 0;
            boolean fits = k >= 0 ? b.u32max() + k <= ScalarValue.U32_MAX : b.u32min() >= -k;
            noU = noS = zeroExtended && fits;
        }
        Map<Integer, LoopDelta> out = new HashMap<>();
        for (var e : d.deltas().entrySet()) {
            LoopDelta old = e.getValue();
            long amount;
            try {
                amount = Math.addExact(old.amount(), k);
            } catch (ArithmeticException overflow) {
                continue;
            }
            out.put(e.getKey(), new LoopDelta(old.origin(), amount, old.noUnsignedWrap() && noU, old.noSignedWrap() && noS));
        }
        return Map.copyOf(out);
    }

    private Value pointerArithmetic(int pc, VerifierState st, AluOp op, boolean wide, Pointer p, Value other, int dst, boolean pointerIsDst)
            throws VerificationException {
        if (!wide) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " 32-bit arithmetic on pointer " + p + " prohibited", st);
        if (op == AluOp.SUB && other instanceof Pointer q && pointerIsDst) {
            boolean samePacket = (p.kind().isPacket() || p.kind() == PointerKind.PACKET_END) && (q.kind().isPacket() || q.kind() == PointerKind.PACKET_END);
            boolean comparable = !p.orNull() && !q.orNull() && (samePacket || p.kind() == q.kind() && p.frame() == q.frame() && p.map() == q.map()
                    && p.kind().allowsArithmetic() && p.kind() != PointerKind.CTX);
            if (!comparable) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " subtraction of unrelated pointers " + p + " and " + q, st);
            if (p.kind() == q.kind() && p.hasConstantOffset() && q.hasConstantOffset() && p.id() == q.id() && p.kind() != PointerKind.ARENA) {
                return Scalar.constant(p.constantOffset() - q.constantOffset());
            }
            return Scalar.UNKNOWN;
        }
        if (op != AluOp.ADD && op != AluOp.SUB) {
            throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " " + op.mnemonic() + " on pointer " + p + " prohibited", st);
        }
        if (!(other instanceof Scalar s)) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " pointer " + op.mnemonic() + " pointer prohibited", st);
        if (op == AluOp.SUB && !pointerIsDst) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " scalar minus pointer prohibited", st);
        if (p.orNull()) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " arithmetic on possibly-NULL pointer " + p + " prohibited", st);
        if (!p.kind().allowsArithmetic()) throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " arithmetic on " + p.kind().logName() + " pointer prohibited", st);
        if (p.kind() == PointerKind.ARENA) return p; // heap pointers are not tracked: SFI confines them
        ScalarValue delta = op == AluOp.ADD ? s.bounds() : ScalarAlu.sub(ScalarValue.constant(0), s.bounds());
        if (delta.isConstant()) {
            long off = p.off() + delta.constantValue();
            if (Math.abs(off) > MAX_POINTER_OFFSET || (op == AluOp.SUB && delta.constantValue() == Long.MIN_VALUE)) {
                throw fail(pc, Rule.POINTER_ARITHMETIC, "R" + dst + " pointer offset " + off + " out of range", st);
            }
            return p.withOff((int) off);
        }
        Pointer r = p.withVarOff(ScalarAlu.add(p.varOff(), delta));
        // A variable offset starts a new packet group: the proven range belongs to the old base.
        if (p.kind().isPacket()) r = r.withId(newId()).withRange(0);
        return r;
    }

    private void addrSpaceCast(int pc, AddrSpaceCast c, VerifierState st) throws VerificationException {
        Value v = read(pc, st, c.src());
        boolean heapOrScalar = v instanceof Scalar || v instanceof Pointer p && p.kind() == PointerKind.ARENA;
        if (!heapOrScalar) throw fail(pc, Rule.POINTER_ARITHMETIC, "addr_space_cast of host pointer " + v, st);
        // user -> kernel view: a heap pointer (a scalar loaded from the heap becomes one here).
        if (c.immediate() == 1) setReg(pc, st, c.dst(), Pointer.of(PointerKind.ARENA));
        // kernel -> user view: a heap pointer stays one; a number stays a number.
        else if (c.immediate() == 0x10000) setReg(pc, st, c.dst(), v instanceof Pointer ? Pointer.of(PointerKind.ARENA) : Scalar.UNKNOWN);
        else throw fail(pc, Rule.UNSUPPORTED_INSTRUCTION, "addr_space_cast with address spaces " + c.dstAddressSpace() + " <- " + c.srcAddressSpace(), st);
    }

    private void loadImm64(int pc, LoadImm64 l, VerifierState st) throws VerificationException {
        Value v = switch (l.pseudo()) {
            case LoadImm64.PLAIN -> Scalar.constant(l.value());
            case LoadImm64.MAP_IDX -> {
                mapAt(pc, st, l.imm());
                yield new Pointer(PointerKind.CONST_MAP, 0, ScalarValue.constant(0), 0, l.imm(), 0, 0, 0, false);
            }
            case LoadImm64.MAP_IDX_VALUE -> {
                MapSpec m = mapAt(pc, st, l.imm());
                // Heap globals: the address is a user-view heap pointer, a number until cast.
                if (m.type() == MapSpec.ARENA) yield Scalar.UNKNOWN;
                if (m.type() != MapSpec.ARRAY || l.nextImm() < 0 || l.nextImm() >= Math.max(1, m.valueSize())) {
                    throw fail(pc, Rule.BAD_MAP, "direct value access to map " + m.name() + " at offset " + l.nextImm()
                            + " (needs an array map and an offset inside its " + m.valueSize() + "-byte value)", st);
                }
                yield new Pointer(PointerKind.MAP_VALUE, l.nextImm(), ScalarValue.constant(0), 0, l.imm(), 0, 0, 0, false);
            }
            case LoadImm64.FUNC -> new Pointer(PointerKind.FUNC, pc + 1 + l.imm(), ScalarValue.constant(0), 0, -1, 0, 0, 0, false);
            default -> throw fail(pc, Rule.UNSUPPORTED_INSTRUCTION, "lddw pseudo source " + l.pseudo()
                    + " must be resolved by the loader (map fds, BTF ids)", st);
        };
        setReg(pc, st, l.dst(), v);
    }

    private MapSpec mapAt(int pc, VerifierState st, int index) throws VerificationException {
        if (index < 0 || index >= programMaps) throw fail(pc, Rule.BAD_MAP, "map index " + index + " but the program has " + programMaps + " maps", st);
        return maps.get(index);
    }

    // ----- Memory ----------------------------------------------------------------------------

    private Pointer memoryBase(int pc, VerifierState st, int reg) throws VerificationException {
        Value v = read(pc, st, reg);
        checkNotReleased(pc, st, reg, v);
        if (v instanceof Pointer p) {
            if (p.orNull()) throw fail(pc, Rule.INVALID_ACCESS, "R" + reg + " invalid mem access '" + p.kind().logName() + "_or_null' (possibly NULL)", st);
            return p;
        }
        throw fail(pc, Rule.INVALID_ACCESS, "R" + reg + " invalid mem access 'scalar'", st);
    }

    private void load(int pc, Load l, VerifierState st) throws VerificationException {
        Pointer base = memoryBase(pc, st, l.src());
        Value v = access(pc, st, l.src(), base, l.off(), l.size().bytes(), null);
        if (l.signed() && v instanceof Scalar s) v = Scalar.of(ScalarAlu.signExtend(s.bounds(), l.size().bytes() * 8));
        setReg(pc, st, l.dst(), v);
    }

    private void store(int pc, VerifierState st, int baseReg, short off, int size, Value value) throws VerificationException {
        Pointer base = memoryBase(pc, st, baseReg);
        access(pc, st, baseReg, base, off, size, value);
    }

    private void atomic(int pc, Atomic a, VerifierState st) throws VerificationException {
        Pointer base = memoryBase(pc, st, a.dst());
        Value src = read(pc, st, a.src());
        // A heap pointer is the extension's own data (as in a plain store); any other pointer would
        // leak a host address, and the stack keeps no typed spills through atomics.
        if (src instanceof Pointer p && (p.kind().isHostPointer() || base.kind() == PointerKind.STACK)) {
            throw fail(pc, Rule.POINTER_LEAK, "atomic operation with pointer operand R" + a.src() + "=" + p, st);
        }
        if (base.kind() != PointerKind.STACK && base.kind() != PointerKind.MAP_VALUE && base.kind() != PointerKind.ARENA) {
            throw fail(pc, Rule.INVALID_ACCESS, "atomic operation on " + base.kind().logName() + " memory is not allowed", st);
        }
        int size = a.size().bytes();
        if (a.op() == AtomicOp.CMPXCHG) {
            Value r0 = read(pc, st, Registers.R0);
            if (r0 instanceof Pointer p && (p.kind().isHostPointer() || base.kind() == PointerKind.STACK)) {
                throw fail(pc, Rule.POINTER_LEAK, "cmpxchg with pointer R0=" + p, st);
            }
        }
        Value old = access(pc, st, a.dst(), base, a.off(), size, null);
        if (old instanceof Pointer p) throw fail(pc, Rule.POINTER_LEAK, "atomic operation on spilled pointer " + p, st);
        access(pc, st, a.dst(), base, a.off(), size, Scalar.of(ScalarValue.ofWidth(size)));
        if (a.fetch()) {
            int target = a.op() == AtomicOp.CMPXCHG ? Registers.R0 : a.src();
            setReg(pc, st, target, Scalar.of(ScalarValue.ofWidth(size)));
        }
    }

    /**
     * Checks one access of {@code size} bytes at {@code base + off} and performs it on the state:
     * a read ({@code value == null}) returns the value read, a write stores {@code value}.
     */
    private Value access(int pc, VerifierState st, int reg, Pointer base, int off, int size, Value value) throws VerificationException {
        boolean write = value != null;
        if (write && value instanceof Pointer vp && base.kind() != PointerKind.STACK && vp.kind().isHostPointer()) {
            throw fail(pc, Rule.POINTER_LEAK, "R" + reg + " store of pointer " + vp + " into " + base.kind().logName()
                    + " memory leaks a host address", st);
        }
        return switch (base.kind()) {
            case STACK -> stackAccess(pc, st, reg, base, off, size, value);
            case CTX -> contextAccess(pc, st, reg, base, off, size, value);
            case PACKET, PACKET_META -> packetAccess(pc, st, reg, base, off, size, write);
            case MAP_VALUE, MAP_KEY -> mapAccess(pc, st, reg, base, off, size, write);
            case RINGBUF_MEM -> boundedAccess(pc, st, reg, base, off, size, write, base.range(), MemoryRegion.RINGBUF, "ring buffer record");
            case SOCKET -> {
                if (write) throw fail(pc, Rule.READ_ONLY, "R" + reg + " cannot write into sock", st);
                if ((base.off() + off) % size != 0) throw fail(pc, Rule.MISALIGNED, "misaligned sock access off " + (base.off() + off) + " size " + size, st);
                yield boundedAccess(pc, st, reg, base, off, size, false, SOCKET_SIZE, MemoryRegion.SOCKET, "sock");
            }
            case ARENA -> {
                recordAccess(pc, st, MemoryRegion.HEAP, Long.MIN_VALUE, Long.MAX_VALUE, size, write, -1);
                yield write ? null : Scalar.of(ScalarValue.ofWidth(size));
            }
            case ITER_CUR -> iteratorValueAccess(pc, st, reg, base, off, size, write);
            case PACKET_END, CONST_MAP, FUNC, ITER, HEAP_LOCK -> throw fail(pc, Rule.INVALID_ACCESS, "R" + reg + " invalid mem access '" + base.kind().logName() + "'", st);
        };
    }

    /** A read of the {@code int} {@code bpf_iter_num_next} returned: inside the iterator's stack slot, never written. */
    private Value iteratorValueAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, boolean write) throws VerificationException {
        if (write) throw fail(pc, Rule.READ_ONLY, "R" + reg + " cannot write into " + base.kind().logName() + " (the iterator's value)", st);
        if (!base.hasConstantOffset()) throw fail(pc, Rule.OUT_OF_BOUNDS, "R" + reg + " variable offset into the iterator's value " + base, st);
        long at = base.constantOffset() + off;
        if (at < 0 || at + size > ITER_CUR_SIZE) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid access to the iterator's " + ITER_CUR_SIZE + "-byte value, off=" + at + " size=" + size, st);
        }
        long slotOffset = iteratorSlotOffset(st, base.refId());
        recordAccess(pc, st, MemoryRegion.STACK, slotOffset + at, slotOffset + at, size, false, -1);
        return Scalar.of(ScalarValue.ofWidth(size));
    }

    /** The frame offset of the stack slot of the live iterator with reference {@code refId}. */
    private static long iteratorSlotOffset(VerifierState st, int refId) {
        for (var e : st.iterators.entrySet()) {
            if (e.getValue() == refId) return (long) (e.getKey() % (StackState.SIZE / StackState.SLOT)) * StackState.SLOT - StackState.SIZE;
        }
        throw new IllegalStateException("iterator value without its iterator");
    }

    /** Refuses a direct access to bytes {@code [lo, hi)} of frame {@code frame} that belong to a live iterator. */
    private void checkNotIterator(int pc, VerifierState st, int frame, long lo, long hi, String what) throws VerificationException {
        if (st.iterators.isEmpty()) return;
        for (long slot = StackState.index(lo) / StackState.SLOT; slot <= (StackState.index(hi) - 1) / StackState.SLOT; slot++) {
            if (st.iterators.containsKey(VerifierState.iteratorSlot(frame, (int) slot))) {
                throw fail(pc, Rule.INVALID_ACCESS, what + " touches the state of the numeric iterator at fp" + (slot * StackState.SLOT - StackState.SIZE)
                        + " (only the bpf_iter_num kfuncs may use it)", st);
            }
        }
    }

    private void recordAccess(int pc, VerifierState st, MemoryRegion region, long min, long max, int size, boolean write, int map)
            throws VerificationException {
        AccessFact fact = new AccessFact(pc, region, min, max, size, write, map, region == MemoryRegion.HEAP);
        AccessFact old = accesses.get(pc);
        if (old != null && old.region() != region && (old.region() == MemoryRegion.CTX || region == MemoryRegion.CTX)) {
            throw fail(pc, Rule.INVALID_ACCESS, "same instruction accesses the context and " + (region == MemoryRegion.CTX ? old.region() : region)
                    + " memory on different paths", st);
        }
        accesses.put(pc, old == null ? fact : old.merge(fact));
    }

    private static boolean aligned(Tnum offset, int size) { return ((offset.value() | offset.mask()) & (size - 1)) == 0; }

    private Value stackAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, Value value) throws VerificationException {
        FrameState frame = st.frames.get(base.frame());
        ScalarValue v = base.varOff();
        if (v.smin() < -MAX_POINTER_OFFSET || v.smax() > MAX_POINTER_OFFSET) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "R" + reg + " unbounded variable-offset stack access " + base, st);
        }
        long lo = base.off() + off + v.smin(), hi = base.off() + off + v.smax();
        if (lo < -StackState.SIZE || hi + size > 0) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid " + (value != null ? "write to" : "read from") + " stack R" + reg
                    + " off=" + lo + (lo != hi ? ".." + hi : "") + " size=" + size, st);
        }
        if (!aligned(v.tnum().add(Tnum.constant(base.off() + off)), size)) {
            throw fail(pc, Rule.MISALIGNED, "misaligned stack access off " + (lo != hi ? lo + ".." + hi : lo) + " size " + size, st);
        }
        checkNotIterator(pc, st, base.frame(), lo, hi + size, value != null ? "write" : "read");
        int sub = cfg.subprogramOf(frame.subprogram);
        stackDepth[sub] = (int) Math.max(stackDepth[sub], -lo);
        recordAccess(pc, st, MemoryRegion.STACK, lo, hi, size, value != null, -1);
        StackState stack = frame.stack;
        boolean constant = lo == hi;
        if (value != null) {
            if (value instanceof Pointer p) {
                if (!constant || size != 8) throw fail(pc, Rule.POINTER_LEAK, "partial or variable-offset spill of pointer " + p, st);
                stack.spill(StackState.index(lo), p);
                return null;
            }
            Scalar s = (Scalar) value;
            if (constant && size == 8) {
                stack.spill(StackState.index(lo), s);
                return null;
            }
            boolean zero = s.bounds().tnum().cast(size).isConstant() && s.bounds().tnum().cast(size).value() == 0;
            for (int i = StackState.index(lo); i < StackState.index(hi) + size; i++) stack.breakSpill(i);
            for (int i = StackState.index(lo); i < StackState.index(hi) + size; i++) {
                if (constant) stack.setKind(i, zero ? ByteKind.ZERO : ByteKind.MISC);
                else if (stack.kind(i) != ByteKind.INVALID) stack.setKind(i, zero && stack.kind(i) == ByteKind.ZERO ? ByteKind.ZERO : ByteKind.MISC);
            }
            return null;
        }
        int first = StackState.index(lo);
        if (constant && stack.kind(first) == ByteKind.SPILL && size == 8) {
            Value spilled = stack.spill(first);
            if (spilled instanceof Scalar s && !s.isConstant() && s.id() == 0) {
                // A fill links register and slot, so a comparison on the register refines the slot.
                spilled = new Scalar(s.bounds(), newId(), s.deltas());
                stack.setSpillValue(first / StackState.SLOT, spilled);
            }
            return spilled;
        }
        boolean allZero = true;
        for (int i = first; i < StackState.index(hi) + size; i++) {
            switch (stack.kind(i)) {
                case INVALID -> throw fail(pc, Rule.UNINIT_STACK, "invalid read from stack R" + reg + " off " + (i - StackState.SIZE)
                        + " (uninitialised byte) size " + size, st);
                case SPILL -> {
                    Value spilled = stack.spill(i);
                    if (spilled instanceof Pointer p) throw fail(pc, Rule.POINTER_LEAK, "partial read of spilled pointer " + p + " at fp"
                            + (i - i % 8 - StackState.SIZE), st);
                    if (!(spilled instanceof Scalar s && s.isZero())) allZero = false;
                }
                case MISC -> allZero = false;
                case ZERO -> { }
            }
        }
        if (allZero) return Scalar.constant(0);
        if (constant && stack.kind(first) == ByteKind.SPILL && stack.spill(first) instanceof Scalar s && s.isConstant()
                && first / 8 == (first + size - 1) / 8) {
            long shifted = s.bounds().constantValue() >>> ((first % 8) * 8);
            return Scalar.constant(size == 8 ? shifted : shifted & ((1L << (size * 8)) - 1));
        }
        return Scalar.of(ScalarValue.ofWidth(size));
    }

    private Value contextAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, Value value) throws VerificationException {
        boolean write = value != null;
        if (!base.hasConstantOffset()) throw fail(pc, Rule.OUT_OF_BOUNDS, "R" + reg + " variable ctx access " + base + " disallowed", st);
        long at = base.constantOffset() + off;
        if (context.isBuffer()) {
            if (at < 0 || at + size > context.size()) {
                throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid access to ctx buffer off=" + at + " size=" + size + " (buffer is " + context.size() + " bytes)", st);
            }
            recordAccess(pc, st, MemoryRegion.CTX, at, at, size, write, -1);
            return write ? null : Scalar.of(ScalarValue.ofWidth(size));
        }
        ContextDescriptor.Field f = at < 0 ? null : context.fieldAt((int) at);
        if (f == null || at + size > f.offset() + f.size()) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid bpf_context access off=" + at + " size=" + size + " (struct " + context.structName() + ")", st);
        }
        if ((at - f.offset()) % size != 0) throw fail(pc, Rule.MISALIGNED, "misaligned ctx access off=" + at + " size=" + size, st);
        if (write && !f.writable()) throw fail(pc, Rule.READ_ONLY, "write to read-only ctx field " + context.structName() + "." + f.name(), st);
        recordAccess(pc, st, MemoryRegion.CTX, at, at, size, write, -1);
        if (write) return null;
        if (f.produces() != null) {
            if (at != f.offset() || size != f.size()) throw fail(pc, Rule.OUT_OF_BOUNDS, "partial load of ctx field " + f.name() + " off=" + at + " size=" + size, st);
            return switch (f.produces()) {
                case PACKET -> Pointer.of(PointerKind.PACKET).withId(PACKET_BASE_ID);
                case PACKET_META -> Pointer.of(PointerKind.PACKET_META).withId(PACKET_META_BASE_ID);
                default -> Pointer.of(f.produces());
            };
        }
        return Scalar.of(ScalarValue.ofWidth(size));
    }

    private Value packetAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, boolean write) throws VerificationException {
        // Linux's may_access_direct_pkt_data: these types may also write (sk_skb rewrites stream messages in place).
        if (write && !(type == ProgramType.XDP || type == ProgramType.SCHED_CLS || type == ProgramType.SCHED_ACT || type == ProgramType.SK_SKB)) {
            throw fail(pc, Rule.READ_ONLY, "cannot write into packet in a " + type + " program", st);
        }
        long at = (long) base.off() + off;
        if (base.varOff().smin() < 0 || at < 0 || at + size > base.range()) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid access to packet, off=" + at + " size=" + size + ", R" + reg + "=" + base
                    + " (proven range " + base.range() + ")", st);
        }
        recordAccess(pc, st, MemoryRegion.of(base.kind()), at + base.varOff().smin(), at + base.varOff().smax(), size, write, -1);
        return write ? null : Scalar.of(ScalarValue.ofWidth(size));
    }

    private Value mapAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, boolean write) throws VerificationException {
        MapSpec m = maps.get(base.map());
        boolean key = base.kind() == PointerKind.MAP_KEY;
        if (write && (key || m.readOnlyForProgram())) {
            throw fail(pc, Rule.READ_ONLY, "write into " + (key ? "map key" : "read-only map " + m.name()), st);
        }
        return boundedAccess(pc, st, reg, base, off, size, write, key ? m.keySize() : m.valueSize(),
                key ? MemoryRegion.MAP_KEY : MemoryRegion.MAP_VALUE, (key ? "map key" : "map value") + " of " + m.name());
    }

    private Value boundedAccess(int pc, VerifierState st, int reg, Pointer base, int off, int size, boolean write, long limit,
                                MemoryRegion region, String what) throws VerificationException {
        ScalarValue v = base.varOff();
        long lo = v.smin() < -MAX_POINTER_OFFSET ? Long.MIN_VALUE : base.off() + off + v.smin();
        long hi = v.smax() > MAX_POINTER_OFFSET ? Long.MAX_VALUE : base.off() + off + v.smax();
        if (lo < 0 || hi > limit - size) {
            throw fail(pc, Rule.OUT_OF_BOUNDS, "invalid access to " + what + ", size " + limit + " off=" + (lo == Long.MIN_VALUE ? "-inf" : lo)
                    + (lo != hi ? ".." + (hi == Long.MAX_VALUE ? "inf" : hi) : "") + " access size=" + size + " R" + reg + "=" + base, st);
        }
        recordAccess(pc, st, region, lo, hi, size, write, region == MemoryRegion.MAP_VALUE || region == MemoryRegion.MAP_KEY ? base.map() : -1);
        return write ? null : Scalar.of(ScalarValue.ofWidth(size));
    }

    // ----- Branches --------------------------------------------------------------------------

    private int jump(int pc, Jump j, VerifierState st) throws VerificationException {
        int target = code.branchTarget(pc);
        Value a = read(pc, st, j.dst());
        Integer srcReg = j.src() instanceof Operand.Reg r ? r.reg() : null;
        Value b = srcReg != null ? read(pc, st, srcReg)
                : Scalar.constant(j.wide() ? ((Operand.Imm) j.src()).value() : ((Operand.Imm) j.src()).value() & 0xffffffffL);
        VerifierState taken, fall;
        if (a instanceof Scalar sa && b instanceof Scalar sb) {
            taken = refineScalars(st, j, sa, sb, srcReg, true);
            fall = refineScalars(st, j, sa, sb, srcReg, false);
        } else {
            VerifierState[] out = pointerBranch(pc, st, j, a, b);
            taken = out[0];
            fall = out[1];
        }
        if (taken != null && fall != null) {
            worklist.push(new Pending(target, pc, taken));
            replace(st, fall);
            return pc + 1;
        }
        if (taken != null) {
            replace(st, taken);
            return target;
        }
        if (fall != null) {
            replace(st, fall);
            return pc + 1;
        }
        return -1; // neither side feasible: the path is dead
    }

    /** Makes {@code st} hold {@code next} (the exploration loop keeps one state object per path). */
    private static void replace(VerifierState st, VerifierState next) {
        if (st == next) return;
        st.frames.clear();
        st.frames.addAll(next.frames);
        st.refs.clear();
        st.refs.putAll(next.refs);
        st.iterators.clear();
        st.iterators.putAll(next.iterators);
        st.lock = next.lock;
        st.iterationStart.clear();
        st.iterationStart.putAll(next.iterationStart);
        st.widenings.clear();
        st.widenings.putAll(next.widenings);
    }

    private VerifierState refineScalars(VerifierState st, Jump j, Scalar a, Scalar b, Integer srcReg, boolean taken) {
        ScalarBranch.Refined r = ScalarBranch.assume(j.op(), j.wide(), a.bounds(), b.bounds(), taken);
        if (r == null) return null;
        VerifierState out = st.copy();
        FrameState f = out.current();
        f.regs[j.dst()] = a.withBounds(r.dst());
        if (a.id() != 0) propagateLinked(out, a.id(), r.dst());
        propagateToSameOrigin(out, a, r.dst());
        if (srcReg != null) {
            f.regs[srcReg] = b.withBounds(r.src());
            if (b.id() != 0) propagateLinked(out, b.id(), r.src());
            propagateToSameOrigin(out, b, r.src());
        }
        return out;
    }

    /**
     * Scalars that moved, since a loop head, from the same location's value there as {@code s}
     * did, neither of them wrapping, differ from {@code s} by the difference of their amounts:
     * what a comparison proved about {@code s} ({@code bounds}) bounds them too. clang keeps loop
     * counters rotating between two registers ({@code w5 = w6; ... w6 = w5 + 1; if w5 < 31}),
     * and without this the counter that counts is never bounded, so the loop is never proven.
     * Only forward differences are used (the other scalar is ahead of {@code s}).
     */
    private static void propagateToSameOrigin(VerifierState st, Scalar s, ScalarValue bounds) {
        for (var e : s.deltas().entrySet()) {
            int head = e.getKey();
            LoopDelta d = e.getValue();
            if (!d.noUnsignedWrap()) continue;
            st.rewriteValues(v -> {
                if (!(v instanceof Scalar t)) return v;
                LoopDelta dt = t.deltas().get(head);
                if (dt == null || dt.origin() != d.origin() || !dt.noUnsignedWrap()) return v;
                long shift = dt.amount() - d.amount();
                if (shift < 0 || shift > ScalarValue.U32_MAX) return v;
                ScalarValue tb = t.bounds();
                long lo = tb.umin(), hi = tb.umax();
                if (Long.compareUnsigned(bounds.umin(), -1L - shift) <= 0 && Long.compareUnsigned(bounds.umin() + shift, lo) > 0) lo = bounds.umin() + shift;
                if (Long.compareUnsigned(bounds.umax(), -1L - shift) <= 0 && Long.compareUnsigned(bounds.umax() + shift, hi) < 0) hi = bounds.umax() + shift;
                if (lo == tb.umin() && hi == tb.umax()) return v;
                ScalarValue narrowed = new ScalarValue(tb.tnum(), tb.smin(), tb.smax(), lo, hi, tb.s32min(), tb.s32max(), tb.u32min(), tb.u32max()).sync();
                return narrowed.isEmpty() ? v : t.withBounds(narrowed);
            });
        }
    }

    /** Every copy of a linked scalar learns what a comparison proved about one of them. */
    private static void propagateLinked(VerifierState st, int id, ScalarValue bounds) {
        st.rewriteValues(v -> v instanceof Scalar s && s.id() == id ? s.withBounds(bounds) : v);
    }

    private VerifierState[] pointerBranch(int pc, VerifierState st, Jump j, Value a, Value b) throws VerificationException {
        JumpOp op = j.op();
        boolean aZero = a instanceof Scalar s && s.isZero(), bZero = b instanceof Scalar s && s.isZero();
        Pointer p = a instanceof Pointer pa ? pa : (Pointer) b;
        boolean arena = (a instanceof Pointer x && x.kind() == PointerKind.ARENA) || (b instanceof Pointer y && y.kind() == PointerKind.ARENA);
        if (!j.wide() && !arena) throw fail(pc, Rule.POINTER_LEAK, "32-bit comparison of pointer " + p, st);
        // NULL checks.
        if ((aZero || bZero) && (op == JumpOp.JEQ || op == JumpOp.JNE)) {
            if (p.orNull()) {
                VerifierState isNull = st.copy(), notNull = st.copy();
                markNull(isNull, p, true);
                markNull(notNull, p, false);
                return op == JumpOp.JEQ ? new VerifierState[] {isNull, notNull} : new VerifierState[] {notNull, isNull};
            }
            if (p.kind() == PointerKind.ARENA) return new VerifierState[] {st.copy(), st.copy()};
            // A non-NULL host pointer is never equal to 0.
            return op == JumpOp.JEQ ? new VerifierState[] {null, st.copy()} : new VerifierState[] {st.copy(), null};
        }
        if (op == JumpOp.JSET && !arena) throw fail(pc, Rule.POINTER_LEAK, "bit test of pointer " + p + " leaks its address", st);
        if (a instanceof Pointer pa && b instanceof Pointer pb) {
            VerifierState[] packet = packetBranch(st, j, pa, pb);
            if (packet != null) return packet;
            boolean sameKind = pa.kind() == pb.kind() && pa.frame() == pb.frame() && pa.map() == pb.map() && !pa.orNull() && !pb.orNull();
            if (sameKind && op != JumpOp.JSET) return new VerifierState[] {st.copy(), st.copy()};
            throw fail(pc, Rule.POINTER_LEAK, "comparison of pointers " + pa + " and " + pb + " prohibited", st);
        }
        if (arena) return new VerifierState[] {st.copy(), st.copy()};
        throw fail(pc, Rule.POINTER_LEAK, "comparison of pointer " + p + " with a scalar leaks its address", st);
    }

    private static void markNull(VerifierState st, Pointer p, boolean isNull) {
        if (isNull && p.refId() != 0) st.refs.remove(p.refId());
        st.rewriteValues(v -> v instanceof Pointer q && q.orNull() && q.id() == p.id() ? (isNull ? Scalar.constant(0) : q.nonNull()) : v);
    }

    /**
     * Comparisons between a packet pointer and the end of its area (packet_end for data, data for
     * meta) in every operand order. Returns null when the pair is not such a comparison.
     */
    private VerifierState[] packetBranch(VerifierState st, Jump j, Pointer a, Pointer b) {
        Pointer pkt;
        JumpOp op = j.op();
        if (isPacketBound(a, b)) {
            pkt = a;
        } else if (isPacketBound(b, a)) {
            pkt = b;
            op = swap(op); // "end op pkt" is "pkt swap(op) end"
        } else {
            return null;
        }
        VerifierState taken = st.copy(), fall = st.copy();
        // pkt + off <= end (or <) proves [base, base + off) is inside the packet.
        switch (op) {
            case JGT, JGE -> extendRange(fall, pkt);   // not taken: pkt <= end / pkt < end
            case JLT, JLE -> extendRange(taken, pkt);  // taken: pkt < end / pkt <= end
            default -> { }
        }
        return new VerifierState[] {taken, fall};
    }

    private static boolean isPacketBound(Pointer pkt, Pointer bound) {
        if (pkt.kind() == PointerKind.PACKET) return bound.kind() == PointerKind.PACKET_END;
        if (pkt.kind() == PointerKind.PACKET_META) {
            return bound.kind() == PointerKind.PACKET && bound.off() == 0 && bound.hasConstantOffset() && bound.varOff().constantValue() == 0;
        }
        return false;
    }

    private static JumpOp swap(JumpOp op) {
        return switch (op) {
            case JGT -> JumpOp.JLT;
            case JGE -> JumpOp.JLE;
            case JLT -> JumpOp.JGT;
            case JLE -> JumpOp.JGE;
            case JSGT -> JumpOp.JSLT;
            case JSGE -> JumpOp.JSLE;
            case JSLT -> JumpOp.JSGT;
            case JSLE -> JumpOp.JSGE;
            default -> op;
        };
    }

    private static void extendRange(VerifierState st, Pointer pkt) {
        if (pkt.off() < 0 || Long.compareUnsigned(pkt.varOff().umax(), MAX_PACKET_OFF) > 0
                || pkt.varOff().umax() + pkt.off() > MAX_PACKET_OFF) {
            return;
        }
        long range = pkt.off();
        st.rewriteValues(v -> v instanceof Pointer q && q.kind() == pkt.kind() && q.id() == pkt.id() && q.range() < range ? q.withRange(range) : v);
    }

    // ----- Calls -----------------------------------------------------------------------------

    private int localCall(int pc, int target, VerifierState st) throws VerificationException {
        if (st.frames.size() >= ControlFlowGraph.MAX_CALL_FRAMES) {
            throw fail(pc, Rule.CALL_DEPTH, "the call stack of " + (st.frames.size() + 1) + " frames is too deep", st);
        }
        if (st.lock != null) throw fail(pc, Rule.LOCK_VIOLATION, "function calls are not allowed while holding a lock", st);
        for (FrameState f : st.frames) {
            // The call graph catches direct recursion; a cycle closed by callx shows up only here.
            if (f.subprogram == target) throw fail(pc, Rule.RECURSION, "recursive call of the subprogram at " + target + " (already active in frame " + f.frameNo + ")", st);
        }
        FrameState caller = st.current();
        FrameState callee = new FrameState(st.frames.size(), pc, target, false);
        for (int r = Registers.R1; r <= Registers.R5; r++) callee.regs[r] = caller.regs[r];
        st.frames.add(callee);
        return target;
    }

    /**
     * {@code callx}: accepted when the register holds a known function pointer (an {@code lddw}
     * pseudo FUNC value, possibly copied, spilled and filled, or passed down as an argument); it
     * is then verified exactly like a local call to that subprogram. Anything else — a number
     * (an indirect helper call by number, or any address), another kind of pointer, or a
     * function pointer that differs between the paths merged here — names no subprogram the
     * verifier can check, and is refused as {@code BAD_JUMP}.
     */
    private int indirectCall(int pc, CallX x, VerifierState st) throws VerificationException {
        Value v = read(pc, st, x.reg());
        if (!(v instanceof Pointer p && p.kind() == PointerKind.FUNC && !p.orNull() && p.hasConstantOffset()
                && p.constantOffset() >= 0 && p.constantOffset() < code.length() && cfg.isSubprogramStart((int) p.constantOffset()))) {
            String what = v instanceof Scalar ? "a number (calling a helper or an address through a register is not accepted)"
                    : v instanceof Pointer q && q.kind() == PointerKind.FUNC ? "a function pointer that is not one known subprogram (" + v + ")"
                    : v.toString();
            throw fail(pc, Rule.BAD_JUMP, "callx R" + x.reg() + " is not a known function pointer: " + what
                    + "; callx takes a subprogram address loaded with lddw (pseudo func)", st);
        }
        int target = (int) p.constantOffset();
        indirectCallees.computeIfAbsent(cfg.subprogramOf(pc), k -> new TreeSet<>()).add(cfg.subprogramOf(target));
        return localCall(pc, target, st);
    }

    private int exit(int pc, VerifierState st) throws VerificationException {
        FrameState frame = st.current();
        Value r0 = read(pc, st, Registers.R0);
        if (st.frames.size() == 1) {
            if (r0 instanceof Pointer p && p.kind() != PointerKind.ARENA) {
                throw fail(pc, Rule.POINTER_LEAK, "returning pointer " + p + " to the host leaks its address", st);
            }
            // A heap address is the extension's own: returning it leaks nothing of the host's.
            checkReturnRange(pc, st, r0 instanceof Scalar s ? s.bounds() : ScalarValue.UNKNOWN);
            for (VerifierState.Reference ref : st.refs.values()) {
                if (ref.kind() == PointerKind.HEAP_LOCK) {
                    throw fail(pc, Rule.LOCK_VIOLATION, "heap spin lock taken by kflex_spin_lock at insn " + ref.pc() + " still held at program exit", st);
                }
                if (ref.kind() == PointerKind.ITER) {
                    throw fail(pc, Rule.LEAKED_REFERENCE, "numeric iterator created by bpf_iter_num_new at insn " + ref.pc()
                            + " is not destroyed at program exit", st);
                }
            }
            if (!st.refs.isEmpty()) {
                VerifierState.Reference ref = st.refs.firstEntry().getValue();
                throw fail(pc, Rule.LEAKED_REFERENCE, "unreleased reference id=" + ref.id() + " (" + ref.kind().logName() + ") acquired at insn " + ref.pc(), st);
            }
            if (st.lock != null) throw fail(pc, Rule.LOCK_VIOLATION, "spin lock still held at program exit", st);
            return -1;
        }
        if (st.lock != null) throw fail(pc, Rule.LOCK_VIOLATION, "returning from a function while holding a spin lock", st);
        int frameSlots = StackState.SIZE / StackState.SLOT;
        for (var e : st.iterators.entrySet()) {
            if (e.getKey() / frameSlots == frame.frameNo) {
                throw fail(pc, Rule.LEAKED_REFERENCE, "numeric iterator at fp" + ((e.getKey() % frameSlots) * StackState.SLOT - StackState.SIZE)
                        + " is not destroyed when its function returns", st);
            }
        }
        if (r0 instanceof Pointer p && p.kind() == PointerKind.STACK && p.frame() >= frame.frameNo) {
            throw fail(pc, Rule.INVALID_RETURN, "cannot return stack pointer " + p + " to the caller", st);
        }
        if (frame.callback) {
            if (!(r0 instanceof Scalar s) || s.bounds().smin() < 0 || s.bounds().smax() > 1) {
                throw fail(pc, Rule.INVALID_RETURN, "callback must return 0 or 1, R0=" + r0, st);
            }
            // The helper may invoke the callback again with the state it left behind.
            VerifierState again = st.copy();
            FrameState next = new FrameState(frame.frameNo, frame.callsite, frame.subprogram, true);
            setCallbackArguments(next, again.frames.get(frame.frameNo - 1), ((Call) code.at(frame.callsite)).imm());
            again.frames.set(again.frames.size() - 1, next);
            worklist.push(new Pending(frame.subprogram, pc, again));
        }
        st.frames.removeLast();
        FrameState caller = st.current();
        caller.regs[Registers.R0] = frame.callback ? Scalar.UNKNOWN : r0;
        for (int r = Registers.R1; r <= Registers.R5; r++) caller.regs[r] = Value.NOT_INIT;
        dropDanglingStackPointers(st, frame.frameNo);
        return frame.callsite + 1;
    }

    private static void dropDanglingStackPointers(VerifierState st, int frameNo) {
        st.rewriteValues(v -> v instanceof Pointer p && (p.kind() == PointerKind.STACK || p.kind() == PointerKind.ITER_CUR)
                && p.frame() >= frameNo ? Value.NOT_INIT : v);
    }

    private void checkReturnRange(int pc, VerifierState st, ScalarValue r0) throws VerificationException {
        long lo, hi;
        // As in Linux, an XDP program may return any value (`return bpf_redirect_map(...)` is the
        // usual way to end one): the hook treats values outside the verdicts as XDP_ABORTED.
        switch (type) {
            case CGROUP_SKB -> { lo = 0; hi = 3; }
            case SK_LOOKUP, SK_REUSEPORT -> { lo = 0; hi = 1; }
            default -> { return; }
        }
        if (r0.smin() < lo || r0.smax() > hi) {
            throw fail(pc, Rule.INVALID_RETURN, "at program exit R0 has " + (r0.isConstant() ? "value " + r0 : "range [" + r0.smin() + ", " + r0.smax() + "]")
                    + " but a " + type + " program must return a value in [" + lo + ", " + hi + "]", st);
        }
    }

    private int helperCall(int pc, int id, VerifierState st) throws VerificationException {
        Prototype proto = HelperPrototypes.find(id).orElse(null);
        if (proto == null) {
            String name = HelperPrototypes.nameOf(id);
            throw fail(pc, Rule.UNKNOWN_HELPER, name.startsWith("bpf_") ? "helper " + name + " (#" + id + ") is not provided by the host"
                    : "unknown helper #" + id, st);
        }
        String name = HelperPrototypes.nameOf(id);
        if (!proto.allowedIn(type)) throw fail(pc, Rule.HELPER_NOT_ALLOWED, name + " is not available to " + type + " programs", st);
        if (st.lock != null && !proto.has(Effect.UNLOCKS)) {
            throw fail(pc, Rule.LOCK_VIOLATION, "calling " + name + " while holding a spin lock is not allowed", st);
        }
        FrameState f = st.current();
        MapSpec map = null;
        int mapIndex = -1;
        long allocSize = 0;
        Pointer released = null, callback = null;
        List<ArgType> args = proto.args();
        for (int i = 0; i < args.size(); i++) {
            int reg = i + 1;
            ArgType arg = args.get(i);
            String where = name + " arg" + reg;
            switch (arg) {
                case ANYTHING -> read(pc, st, reg);
                case CONST_MAP_PTR -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.CONST_MAP && !p.orNull())) throw badArg(pc, st, where, "a map pointer", v);
                    mapIndex = p.map();
                    map = maps.get(mapIndex);
                    checkMapFits(pc, st, proto, map);
                    // A map of the program itself (from lddw) is the same map on every run; an
                    // inner-map template stands for whichever map an outer lookup returned.
                    int constant = mapIndex < programMaps ? mapIndex : -1;
                    callMaps.merge(pc, constant, (a, b) -> a.equals(b) ? a : -1);
                }
                case PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE -> {
                    if (map == null) throw badArg(pc, st, where, "a preceding map argument", read(pc, st, reg));
                    memoryArgument(pc, st, reg, where, arg == ArgType.PTR_TO_MAP_KEY ? map.keySize() : map.valueSize(), false);
                }
                case PTR_TO_UNINIT_MAP_VALUE -> {
                    if (map == null) throw badArg(pc, st, where, "a preceding map argument", read(pc, st, reg));
                    memoryArgument(pc, st, reg, where, map.valueSize(), true);
                }
                case PTR_TO_MEM, PTR_TO_UNINIT_MEM -> {
                    ArgType sizeType = args.get(i + 1);
                    Value sv = read(pc, st, reg + 1);
                    if (!(sv instanceof Scalar size)) throw badArg(pc, st, name + " arg" + (reg + 1), "a size", sv);
                    if (Long.compareUnsigned(size.bounds().umax(), MAX_POINTER_OFFSET) > 0) {
                        throw badArg(pc, st, name + " arg" + (reg + 1), "a bounded size", sv);
                    }
                    if (size.bounds().umin() == 0 && sizeType == ArgType.CONST_SIZE) {
                        throw badArg(pc, st, name + " arg" + (reg + 1), "a non-zero size", sv);
                    }
                    Value mem = read(pc, st, reg);
                    if (!(size.bounds().umax() == 0 && mem instanceof Scalar z && z.isZero())) {
                        memoryArgument(pc, st, reg, where, size.bounds().umax(), arg == ArgType.PTR_TO_UNINIT_MEM);
                    }
                }
                case CONST_SIZE, CONST_SIZE_OR_ZERO -> read(pc, st, reg);
                case CONST_ALLOC_SIZE_OR_ZERO -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Scalar s && s.isConstant())) throw badArg(pc, st, where, "a constant size", v);
                    allocSize = s.bounds().constantValue();
                    if (allocSize < 0 || allocSize > MAX_POINTER_OFFSET) throw badArg(pc, st, where, "a size below 2^29", v);
                }
                case PTR_TO_CTX -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.CTX && p.hasConstantOffset() && p.constantOffset() == 0)) {
                        throw badArg(pc, st, where, "the unmodified context pointer", v);
                    }
                }
                case PTR_TO_SOCKET, PTR_TO_ALLOC_MEM -> {
                    PointerKind want = arg == ArgType.PTR_TO_SOCKET ? PointerKind.SOCKET : PointerKind.RINGBUF_MEM;
                    Value v = f.regs[reg];
                    if (v instanceof Pointer p && p.kind() == want && p.refId() != 0 && !st.refs.containsKey(p.refId()) && !p.orNull()) {
                        throw fail(pc, proto.has(Effect.RELEASES) ? Rule.DOUBLE_RELEASE : Rule.USE_AFTER_RELEASE,
                                where + ": reference id=" + p.refId() + " was already released", st);
                    }
                    v = read(pc, st, reg);
                    if (!(v instanceof Pointer p && p.kind() == want && !p.orNull() && p.hasConstantOffset() && p.constantOffset() == 0)) {
                        throw badArg(pc, st, where, "a non-NULL " + want.logName() + " pointer as returned by its acquiring helper", v);
                    }
                    if (proto.releasedArg() == reg) released = p;
                }
                case PTR_TO_SPIN_LOCK -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.MAP_VALUE && !p.orNull() && p.hasConstantOffset())) {
                        throw badArg(pc, st, where, "a pointer to a bpf_spin_lock in a map value", v);
                    }
                    long off = p.constantOffset();
                    if (off < 0 || off % 4 != 0 || off + 4 > maps.get(p.map()).valueSize()) throw badArg(pc, st, where, "an aligned lock inside the map value", v);
                    VerifierState.Lock lock = new VerifierState.Lock(p.map(), off);
                    if (proto.has(Effect.LOCKS)) {
                        if (st.lock != null) throw fail(pc, Rule.LOCK_VIOLATION, "spin lock taken while another is held", st);
                        st.lock = lock;
                    } else {
                        if (!lock.equals(st.lock)) throw fail(pc, Rule.LOCK_VIOLATION, "spin unlock of a lock that is not held", st);
                        st.lock = null;
                    }
                }
                case PTR_TO_FUNC -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.FUNC)) throw badArg(pc, st, where, "a function pointer", v);
                    callback = p;
                }
                case PTR_TO_STACK_OR_NULL -> {
                    Value v = read(pc, st, reg);
                    if (!(v instanceof Scalar s && s.isZero() || v instanceof Pointer p && p.kind() == PointerKind.STACK)) {
                        throw badArg(pc, st, where, "a stack pointer or NULL", v);
                    }
                }
            }
        }
        if (proto.has(Effect.TAIL_CALL) && !st.refs.isEmpty()) {
            throw fail(pc, Rule.LEAKED_REFERENCE, "tail call would leak reference id=" + st.refs.firstKey(), st);
        }
        if (released != null) st.refs.remove(released.refId());
        if (proto.has(Effect.CHANGES_PACKET_DATA)) invalidatePacketPointers(st);
        if (proto.has(Effect.CALLS_BACK)) return invokeCallback(pc, st, callback, id);
        for (int r = Registers.R1; r <= Registers.R5; r++) f.regs[r] = Value.NOT_INIT;
        f.regs[Registers.R0] = switch (proto.returns()) {
            case INTEGER -> id == 7 || id == 8 ? Scalar.of(ScalarValue.ofWidth(4)) : Scalar.UNKNOWN;
            case VOID -> Value.NOT_INIT;
            case PTR_TO_MAP_VALUE_OR_NULL -> mapIndex < programMaps && innerMap[mapIndex] >= 0
                    ? new Pointer(PointerKind.CONST_MAP, 0, ScalarValue.constant(0), 0, innerMap[mapIndex], newId(), 0, 0, true)
                    : new Pointer(PointerKind.MAP_VALUE, 0, ScalarValue.constant(0), 0, mapIndex, newId(), 0, 0, true);
            case PTR_TO_SOCKET_OR_NULL, PTR_TO_ALLOC_MEM_OR_NULL -> {
                PointerKind kind = proto.returns() == HelperPrototypes.ReturnType.PTR_TO_SOCKET_OR_NULL ? PointerKind.SOCKET : PointerKind.RINGBUF_MEM;
                int ref = newId();
                st.refs.put(ref, new VerifierState.Reference(ref, kind, pc));
                yield new Pointer(kind, 0, ScalarValue.constant(0), 0, -1, newId(), ref, kind == PointerKind.RINGBUF_MEM ? allocSize : 0, true);
            }
        };
        return pc + 1;
    }

    /**
     * A kfunc call: the arguments are checked against the {@link Kfuncs} prototype, r1-r5 are
     * clobbered and r0 typed; iterators and heap locks are tracked as references. At
     * {@code bpf_iter_num_next} the path forks, as in Linux: one continuation sees the iterator
     * exhausted (r0 = NULL), the other a pointer to its next value — and on that one the
     * iterator's step count, a scalar kept in its stack slot, grows by one. The count cannot
     * pass {@link #ITER_MAX_STEPS}, so it never wraps and it is a termination witness of any loop
     * that only iterates after a successful step: a {@code bpf_for} loop gets no cancellation point.
     */
    private int kfuncCall(int pc, int id, VerifierState st) throws VerificationException {
        Kfuncs.Prototype proto = Kfuncs.find(id).orElse(null);
        if (proto == null) {
            throw fail(pc, Rule.UNKNOWN_KFUNC, id == 0 ? "call of a kfunc the host does not provide (unresolved weak extern)"
                    : "unknown kfunc id " + id + " (the host's kfuncs are " + String.join(", ", Kfuncs.ids().keySet()) + ")", st);
        }
        String name = proto.name();
        if (st.lock != null) throw fail(pc, Rule.LOCK_VIOLATION, "calling " + name + " while holding a bpf_spin_lock is not allowed", st);
        int iterKey = -1;
        Pointer iterArg = null;
        List<Kfuncs.ArgType> args = proto.args();
        for (int i = 0; i < args.size(); i++) {
            int reg = i + 1;
            String where = name + " arg" + reg;
            Value v = read(pc, st, reg);
            switch (args.get(i)) {
                case SCALAR -> {
                    if (!(v instanceof Scalar)) throw badArg(pc, st, where, "a scalar", v);
                }
                case ARENA_MAP -> {
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.CONST_MAP && !p.orNull())) throw badArg(pc, st, where, "the arena map", v);
                    if (maps.get(p.map()).type() != MapSpec.ARENA) {
                        throw fail(pc, Rule.BAD_MAP, where + ": map " + maps.get(p.map()).name() + " of type " + maps.get(p.map()).type()
                                + " is not an arena", st);
                    }
                }
                case HEAP_PTR -> {
                    if (!(v instanceof Scalar || isArena(v))) throw badArg(pc, st, where, "a heap pointer or NULL", v);
                }
                case ITER_NUM_UNINIT, ITER_NUM -> {
                    if (!(v instanceof Pointer p && p.kind() == PointerKind.STACK && p.hasConstantOffset())) {
                        throw badArg(pc, st, where, "a pointer to a struct bpf_iter_num on the stack", v);
                    }
                    long off = p.constantOffset();
                    if (off < -StackState.SIZE || off > -StackState.SLOT || off % StackState.SLOT != 0) {
                        throw badArg(pc, st, where, "an 8-byte aligned stack slot inside the frame", v);
                    }
                    iterKey = VerifierState.iteratorSlot(p.frame(), StackState.index(off) / StackState.SLOT);
                    iterArg = p;
                    boolean live = st.iterators.containsKey(iterKey);
                    if (args.get(i) == Kfuncs.ArgType.ITER_NUM_UNINIT && live) {
                        throw badArg(pc, st, where, "an uninitialised iterator slot (this one holds a live iterator)", v);
                    }
                    if (args.get(i) == Kfuncs.ArgType.ITER_NUM && !live) {
                        throw badArg(pc, st, where, "an iterator initialised by bpf_iter_num_new and not destroyed", v);
                    }
                }
            }
        }
        FrameState f = st.current();
        for (int r = Registers.R1; r <= Registers.R5; r++) f.regs[r] = Value.NOT_INIT;
        f.regs[Registers.R0] = switch (proto.returns()) {
            case VOID -> Value.NOT_INIT;
            case INTEGER -> Scalar.UNKNOWN;
            case HEAP_PTR_OR_NULL -> Pointer.of(PointerKind.ARENA); // heap pointers are compared with NULL freely
            case ITER_NUM_CUR_OR_NULL -> Value.NOT_INIT;             // set below, per fork
        };
        if (proto.has(Kfuncs.Effect.ITER_NEW)) {
            FrameState owner = st.frames.get(iterArg.frame());
            int index = StackState.index(iterArg.constantOffset());
            int ref = newId();
            st.refs.put(ref, new VerifierState.Reference(ref, PointerKind.ITER, pc));
            st.iterators.put(iterKey, ref);
            owner.stack.breakSpill(index);
            owner.stack.spill(index, Scalar.constant(0));
            int sub = cfg.subprogramOf(owner.subprogram);
            stackDepth[sub] = (int) Math.max(stackDepth[sub], -iterArg.constantOffset());
            termination.addIteratorLocation(stackLocation(owner.frameNo, index / StackState.SLOT));
        } else if (proto.has(Kfuncs.Effect.ITER_DESTROY)) {
            FrameState owner = st.frames.get(iterArg.frame());
            int index = StackState.index(iterArg.constantOffset());
            st.refs.remove(st.iterators.remove(iterKey));
            for (int i = 0; i < StackState.SLOT; i++) owner.stack.setKind(index + i, ByteKind.INVALID);
            owner.stack.setSpillValue(index / StackState.SLOT, null);
        } else if (proto.has(Kfuncs.Effect.ITER_NEXT)) {
            FrameState owner = st.frames.get(iterArg.frame());
            int index = StackState.index(iterArg.constantOffset());
            // Exhausted: NULL, the iterator stays live until destroyed.
            VerifierState drained = st.copy();
            drained.current().regs[Registers.R0] = Scalar.constant(0);
            if (!(owner.stack.spill(index) instanceof Scalar steps)) {
                throw fail(pc, Rule.INVALID_ACCESS, name + ": the state of the iterator at fp" + iterArg.constantOffset() + " was lost", st);
            }
            ScalarBranch.Refined room = ScalarBranch.assume(JumpOp.JLT, true, steps.bounds(), ScalarValue.constant(ITER_MAX_STEPS), true);
            if (room == null) { // the iterator cannot yield another value
                replace(st, drained);
                return pc + 1;
            }
            worklist.push(new Pending(pc + 1, pc, drained));
            Scalar before = steps.withBounds(room.dst());
            owner.stack.setSpillValue(index / StackState.SLOT, new Scalar(ScalarAlu.add(before.bounds(), ScalarValue.constant(1)), 0,
                    stepDeltas(before, 1, true)));
            int ref = st.iterators.get(iterKey);
            f.regs[Registers.R0] = new Pointer(PointerKind.ITER_CUR, 0, ScalarValue.constant(0), iterArg.frame(), -1, 0, ref, ITER_CUR_SIZE, false);
        } else if (proto.has(Kfuncs.Effect.HEAP_LOCK)) {
            int ref = newId();
            st.refs.put(ref, new VerifierState.Reference(ref, PointerKind.HEAP_LOCK, pc));
        } else if (proto.has(Kfuncs.Effect.HEAP_UNLOCK)) {
            // Which lock is released is known only at run time; the count of held locks is what matters here.
            Integer held = null;
            for (var e : st.refs.descendingMap().entrySet()) {
                if (e.getValue().kind() == PointerKind.HEAP_LOCK) {
                    held = e.getKey();
                    break;
                }
            }
            if (held == null) throw fail(pc, Rule.LOCK_VIOLATION, name + " without a held heap spin lock", st);
            st.refs.remove(held);
        }
        return pc + 1;
    }

    /**
     * {@code bpf_loop} and {@code bpf_for_each_map_elem}: the callback may run zero or more times;
     * both continuations are explored. {@code bpf_loop}'s callback gets (index, ctx),
     * {@code bpf_for_each_map_elem}'s (map, key, value, ctx) for the map in r1.
     */
    private int invokeCallback(int pc, VerifierState st, Pointer callback, int helperId) throws VerificationException {
        if (st.frames.size() >= ControlFlowGraph.MAX_CALL_FRAMES) {
            throw fail(pc, Rule.CALL_DEPTH, "the call stack of " + (st.frames.size() + 1) + " frames is too deep", st);
        }
        // Zero iterations: the helper returns right away.
        VerifierState none = st.copy();
        FrameState nf = none.current();
        for (int r = Registers.R1; r <= Registers.R5; r++) nf.regs[r] = Value.NOT_INIT;
        nf.regs[Registers.R0] = Scalar.UNKNOWN;
        worklist.push(new Pending(pc + 1, pc, none));
        int target = callback.off();
        FrameState callee = new FrameState(st.frames.size(), pc, target, true);
        setCallbackArguments(callee, st.current(), helperId);
        st.frames.add(callee);
        return target;
    }

    /**
     * The arguments of one callback invocation, taken from what the caller passed the helper
     * (its r1-r5 stay untouched until the helper returns): {@code bpf_for_each_map_elem}'s
     * callback gets (map, key, value, ctx) for the map in the caller's r1, {@code bpf_loop}'s
     * (index, ctx). The same on the first invocation and on every re-invocation.
     */
    private void setCallbackArguments(FrameState callee, FrameState caller, int helperId) {
        if (helperId == 164) {
            if (!(caller.regs[Registers.R1] instanceof Pointer map && map.kind() == PointerKind.CONST_MAP)) {
                throw new IllegalStateException("bpf_for_each_map_elem caller lost its map argument: " + caller.regs[Registers.R1]);
            }
            int mapIndex = map.map();
            callee.regs[Registers.R1] = new Pointer(PointerKind.CONST_MAP, 0, ScalarValue.constant(0), 0, mapIndex, newId(), 0, 0, false);
            callee.regs[R2] = new Pointer(PointerKind.MAP_KEY, 0, ScalarValue.constant(0), 0, mapIndex, newId(), 0, 0, false);
            callee.regs[R3] = new Pointer(PointerKind.MAP_VALUE, 0, ScalarValue.constant(0), 0, mapIndex, newId(), 0, 0, false);
            callee.regs[R4] = caller.regs[R3];
        } else {
            callee.regs[Registers.R1] = Scalar.of(ScalarValue.unsignedRange(0, 1 << 23));
            callee.regs[R2] = caller.regs[R3];
        }
    }

    private void checkMapFits(int pc, VerifierState st, Prototype proto, MapSpec map) throws VerificationException {
        boolean ringbufHelper = proto.id() >= 130 && proto.id() <= 134;
        boolean ok = switch (map.type()) {
            case MapSpec.RINGBUF -> ringbufHelper;
            case MapSpec.PROG_ARRAY -> proto.id() == 12;
            case MapSpec.ARENA -> false;
            default -> !ringbufHelper && proto.id() != 12;
        };
        if (!ok) throw fail(pc, Rule.BAD_MAP, "map " + map.name() + " of type " + map.type() + " cannot be used with " + HelperPrototypes.nameOf(proto.id()), st);
    }

    private VerificationException badArg(int pc, VerifierState st, String where, String expected, Value got) {
        return fail(pc, Rule.BAD_HELPER_ARG, where + ": expected " + expected + ", got " + got, st);
    }

    /** A helper reads (or, for uninitialised memory, writes) {@code size} bytes at the pointer in {@code reg}. */
    private void memoryArgument(int pc, VerifierState st, int reg, String where, long size, boolean write) throws VerificationException {
        Value v = read(pc, st, reg);
        checkNotReleased(pc, st, reg, v);
        if (!(v instanceof Pointer p) || p.orNull()) throw badArg(pc, st, where, "a pointer to " + size + " bytes of memory", v);
        if (size == 0) return;
        switch (p.kind()) {
            case STACK -> {
                FrameState frame = st.frames.get(p.frame());
                ScalarValue var = p.varOff();
                long lo = p.off() + var.smin(), hi = p.off() + var.smax() + size;
                if (var.smin() < -MAX_POINTER_OFFSET || var.smax() > MAX_POINTER_OFFSET || lo < -StackState.SIZE || hi > 0) {
                    throw fail(pc, Rule.OUT_OF_BOUNDS, where + ": stack memory " + p + " of " + size + " bytes is out of the frame", st);
                }
                checkNotIterator(pc, st, p.frame(), lo, hi, where);
                int sub = cfg.subprogramOf(frame.subprogram);
                stackDepth[sub] = (int) Math.max(stackDepth[sub], -lo);
                for (int i = StackState.index(lo); i < StackState.index(hi); i++) {
                    ByteKind k = frame.stack.kind(i);
                    if (write) {
                        frame.stack.breakSpill(i);
                        if (var.isConstant() || frame.stack.kind(i) != ByteKind.INVALID) frame.stack.setKind(i, ByteKind.MISC);
                    } else if (k == ByteKind.INVALID) {
                        throw fail(pc, Rule.UNINIT_STACK, where + ": reads uninitialised stack at fp" + (i - StackState.SIZE), st);
                    } else if (k == ByteKind.SPILL && !(frame.stack.spill(i) instanceof Scalar)) {
                        throw fail(pc, Rule.POINTER_LEAK, where + ": passes spilled pointer at fp" + (i - i % 8 - StackState.SIZE) + " to a helper", st);
                    }
                }
            }
            case PACKET, PACKET_META -> {
                long at = p.off();
                if (p.varOff().smin() < 0 || at < 0 || at + size > p.range()) {
                    throw fail(pc, Rule.OUT_OF_BOUNDS, where + ": packet memory " + p + " of " + size + " bytes is beyond the proven range " + p.range(), st);
                }
            }
            case MAP_VALUE, MAP_KEY, RINGBUF_MEM -> {
                long limit = p.kind() == PointerKind.RINGBUF_MEM ? p.range()
                        : p.kind() == PointerKind.MAP_KEY ? maps.get(p.map()).keySize() : maps.get(p.map()).valueSize();
                if (write && p.kind() == PointerKind.MAP_VALUE && maps.get(p.map()).readOnlyForProgram()) {
                    throw fail(pc, Rule.READ_ONLY, where + ": helper would write into read-only map " + maps.get(p.map()).name(), st);
                }
                long lo = p.off() + p.varOff().smin(), hi = p.off() + p.varOff().smax();
                if (p.varOff().smin() < -MAX_POINTER_OFFSET || p.varOff().smax() > MAX_POINTER_OFFSET || lo < 0 || hi + size > limit) {
                    throw fail(pc, Rule.OUT_OF_BOUNDS, where + ": " + p + " of " + size + " bytes exceeds the " + limit + "-byte object", st);
                }
            }
            case CTX -> {
                // Only a SYSCALL program's context is plain memory (the caller's argument buffer).
                if (!context.isBuffer() || !p.hasConstantOffset()) throw badArg(pc, st, where, "a pointer to stack, packet or map memory", v);
                long at = p.constantOffset();
                if (at < 0 || at + size > context.size()) {
                    throw fail(pc, Rule.OUT_OF_BOUNDS, where + ": " + size + " bytes at ctx+" + at + " exceed the " + context.size() + "-byte buffer", st);
                }
            }
            default -> throw badArg(pc, st, where, "a pointer to stack, packet or map memory", v);
        }
    }

    /** Helpers that move packet data invalidate every packet pointer the program holds. */
    private static void invalidatePacketPointers(VerifierState st) {
        st.rewriteValues(v -> v instanceof Pointer p && (p.kind().isPacket() || p.kind() == PointerKind.PACKET_END) ? Value.NOT_INIT : v);
    }

    // =============================================================================================
    // After exploration

    private void checkStackSize() throws VerificationException {
        int[] memo = new int[cfg.subprogramCount()];
        java.util.Arrays.fill(memo, -1);
        int total = combinedStack(0, memo, new boolean[cfg.subprogramCount()]);
        if (total > StackState.SIZE) {
            throw fail(0, Rule.STACK_SIZE, "combined stack size of the deepest call chain is " + total + " bytes, more than " + StackState.SIZE, null);
        }
    }

    /** Stack of a subprogram (rounded up to 32 bytes per frame, like Linux) plus its deepest callee chain. */
    private int combinedStack(int sub, int[] memo, boolean[] active) throws VerificationException {
        if (memo[sub] >= 0) return memo[sub];
        if (active[sub]) {
            // Only possible through callx edges seen on different paths: no path recursed, but
            // the deepest chain cannot be bounded from the graph, so refuse rather than guess.
            throw fail(cfg.subprogramStart(sub), Rule.RECURSION, "indirect calls (callx) may call the subprogram at "
                    + cfg.subprogramStart(sub) + " from itself", null);
        }
        active[sub] = true;
        int own = (Math.max(stackDepth[sub], 1) + 31) / 32 * 32;
        int deepest = 0;
        Set<Integer> callees = new TreeSet<>(cfg.callees(sub));
        callees.addAll(indirectCallees.getOrDefault(sub, Set.of()));
        for (int callee : callees) deepest = Math.max(deepest, combinedStack(callee, memo, active));
        active[sub] = false;
        memo[sub] = own + deepest;
        return memo[sub];
    }

    /** Guard elision: which heap accesses provably stay inside the heap's segment unguarded (see {@link GuardAnalysis}). */
    private void computeGuards() {
        GuardAnalysis.run(code, cfg, accesses);
    }
}
