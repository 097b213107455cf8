package io.kflex.interp;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.CancellationPolls;
import io.kflex.engine.CallbackOutcome;
import io.kflex.engine.EngineException;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.FunctionPointers;
import io.kflex.engine.HeapAccess;
import io.kflex.engine.HeapMemory;
import io.kflex.engine.HeapPlan;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.RuntimeLimits;
import io.kflex.engine.Stack;
import io.kflex.engine.TailCallable;
import io.kflex.helpers.Helper;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.OptionalLong;

/**
 * A program decoded into parallel arrays indexed by slot: {@code kind} selects the handler in
 * {@link #execute}, the other arrays hold its operands. Slot {@code length} is a sentinel that
 * faults, so falling off the end needs no bounds check in the loop.
 */
final class InterpretedProgram implements TailCallable {
    // Handler kinds.
    private static final byte ALU64_K = 0, ALU64_X = 1, ALU32_K = 2, ALU32_X = 3;
    private static final byte TO_LE = 4, SWAP = 5, LDDW = 6;
    private static final byte LOAD = 7, LOAD_SX = 8, STORE_K = 9, STORE_X = 10;
    private static final byte ATOMIC = 11, ATOMIC_FETCH = 12, CMPXCHG = 13;
    private static final byte JMP_K = 14, JMP_X = 15, JMP32_K = 16, JMP32_X = 17, GOTO = 18, MAY_GOTO = 19;
    private static final byte CALL_HELPER = 20, CALL_LOCAL = 21, CALLX = 22, EXIT = 23;
    private static final byte FAULT = 24, FELL_OFF = 25;
    // Heap accesses (guarded or with the guard elided, see HeapPlan), accesses whose region
    // differs between paths, and the two addr_space_cast directions.
    private static final byte HEAP_LOAD = 26, HEAP_LOAD_SX = 27, HEAP_STORE_K = 28, HEAP_STORE_X = 29, HEAP_ATOMIC = 30;
    private static final byte MIXED_LOAD = 31, MIXED_LOAD_SX = 32, MIXED_STORE_K = 33, MIXED_STORE_X = 34, MIXED_ATOMIC = 35;
    private static final byte CAST_KERN = 36, CAST_USER = 37;

    private final int length;
    private final byte[] kind;
    private final byte[] dst;
    private final byte[] src;
    private final short[] off;
    /** Sign-extended immediate, lddw constant or byte-swap width. */
    private final long[] imm;
    /** Access size in bytes of loads, stores and atomics. */
    private final byte[] size;
    /** Absolute branch target for jumps, may_goto and local calls. */
    private final int[] target;
    private final AluOp[] alu;
    private final JumpOp[] cond;
    private final AtomicOp[] atomic;
    /** Whether the atomic at a slot writes the old value back to its source register. */
    private final boolean[] fetches;
    private final Helper[] helper;
    /** Fault message for FAULT slots. */
    private final String[] message;
    /** Slots a function pointer may name: subprogram entries (local-call and lddw FUNC targets). */
    private final boolean[] functionEntry;
    private final HelperTable helpers;
    private final Bindings.PseudoResolver pseudo;
    /** Backward branches proven to close terminating loops: no cancellation poll there. */
    private final java.util.BitSet noPoll;
    private final int lastInstruction;
    /** The bound heap (null if none), its segment and mask, and which heap accesses confine their base. */
    private final HeapMemory heap;
    private final MemorySegment heapSegment;
    private final long heapMask;
    private final boolean[] confineBase;

    InterpretedProgram(Code code, Bindings bindings) throws EngineException {
        this.length = code.length();
        this.helpers = bindings.helpers();
        this.noPoll = CancellationPolls.skippable(code, bindings.verified());
        this.pseudo = bindings.pseudo();
        HeapPlan plan = HeapPlan.of(code, bindings);
        this.heap = bindings.heap().orElse(null);
        this.heapSegment = heap == null ? null : heap.segment();
        this.heapMask = heap == null ? 0 : heap.mask();
        int n = length + 1;
        kind = new byte[n];
        dst = new byte[n];
        src = new byte[n];
        off = new short[n];
        imm = new long[n];
        size = new byte[n];
        target = new int[n];
        alu = new AluOp[n];
        cond = new JumpOp[n];
        atomic = new AtomicOp[n];
        fetches = new boolean[n];
        helper = new Helper[n];
        message = new String[n];
        functionEntry = new boolean[n];
        confineBase = new boolean[n];
        int last = 0;
        for (int pc = 0; pc < length; pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) {
                kind[pc] = FAULT; // second slot of lddw; Code guarantees no branch lands here
                message[pc] = "execution reached the second slot of lddw";
                continue;
            }
            last = pc;
            decode(code, pc, insn);
            if (heap != null) routeHeap(pc, insn, plan.mode(pc));
        }
        lastInstruction = last;
        kind[length] = FELL_OFF;
    }

    private void decode(Code code, int pc, Instruction insn) throws EngineException {
        switch (insn) {
            case Alu a -> {
                alu[pc] = a.op();
                dst[pc] = (byte) a.dst();
                switch (a.src()) {
                    case Operand.Reg r -> {
                        kind[pc] = a.wide() ? ALU64_X : ALU32_X;
                        src[pc] = (byte) r.reg();
                    }
                    case Operand.Imm i -> {
                        kind[pc] = a.wide() ? ALU64_K : ALU32_K;
                        imm[pc] = i.value();
                    }
                }
            }
            case Endian e -> {
                // On a little-endian host "to little-endian" only truncates; the others swap.
                kind[pc] = e.kind() == ByteSwap.TO_LE ? TO_LE : SWAP;
                dst[pc] = (byte) e.dst();
                imm[pc] = e.bits();
            }
            case AddrSpaceCast c -> {
                dst[pc] = (byte) c.dst();
                src[pc] = (byte) c.src();
                if (heap == null) fault(pc, "addr_space_cast needs an extension heap, and none is bound");
                else if (c.immediate() == HeapAccess.CAST_KERN) kind[pc] = CAST_KERN;
                else if (c.immediate() == HeapAccess.CAST_USER) kind[pc] = CAST_USER;
                else fault(pc, "addr_space_cast between address spaces " + c.srcAddressSpace() + " and " + c.dstAddressSpace() + " is not supported");
            }
            case LoadImm64 l -> {
                dst[pc] = (byte) l.dst();
                switch (l.pseudo()) {
                    case LoadImm64.PLAIN -> {
                        kind[pc] = LDDW;
                        imm[pc] = l.value();
                    }
                    case LoadImm64.FUNC -> {
                        long entry = (long) pc + 1 + l.imm();
                        if (!code.isInstructionStart((int) Math.clamp(entry, -1, Integer.MAX_VALUE))) {
                            throw new EngineException("lddw at " + pc + " names function at slot " + entry + ", which is not an instruction of the program");
                        }
                        kind[pc] = LDDW;
                        imm[pc] = FunctionPointers.of((int) entry);
                        functionEntry[(int) entry] = true;
                    }
                    default -> {
                        OptionalLong value = pseudo.resolve(l);
                        if (value.isPresent()) {
                            kind[pc] = LDDW;
                            imm[pc] = value.getAsLong();
                        } else {
                            fault(pc, "lddw with pseudo source " + LoadImm64.pseudoName(l.pseudo()) + " (" + l.pseudo()
                                    + ") is not resolved: no map or BTF object is bound to it");
                        }
                    }
                }
            }
            case Load l -> {
                kind[pc] = l.signed() ? LOAD_SX : LOAD;
                dst[pc] = (byte) l.dst();
                src[pc] = (byte) l.src();
                off[pc] = l.off();
                size[pc] = (byte) l.size().bytes();
            }
            case Store s -> {
                kind[pc] = STORE_K;
                dst[pc] = (byte) s.dst();
                off[pc] = s.off();
                size[pc] = (byte) s.size().bytes();
                imm[pc] = s.imm();
            }
            case StoreReg s -> {
                kind[pc] = STORE_X;
                dst[pc] = (byte) s.dst();
                src[pc] = (byte) s.src();
                off[pc] = s.off();
                size[pc] = (byte) s.size().bytes();
            }
            case Atomic a -> {
                kind[pc] = a.op() == AtomicOp.CMPXCHG ? CMPXCHG : a.fetch() ? ATOMIC_FETCH : ATOMIC;
                fetches[pc] = a.fetch();
                atomic[pc] = a.op();
                dst[pc] = (byte) a.dst();
                src[pc] = (byte) a.src();
                off[pc] = a.off();
                size[pc] = (byte) a.size().bytes();
            }
            case Jump j -> {
                cond[pc] = j.op();
                dst[pc] = (byte) j.dst();
                target[pc] = code.branchTarget(pc);
                switch (j.src()) {
                    case Operand.Reg r -> {
                        kind[pc] = j.wide() ? JMP_X : JMP32_X;
                        src[pc] = (byte) r.reg();
                    }
                    case Operand.Imm i -> {
                        kind[pc] = j.wide() ? JMP_K : JMP32_K;
                        imm[pc] = i.value();
                    }
                }
            }
            case Goto g -> {
                kind[pc] = GOTO;
                target[pc] = code.branchTarget(pc);
            }
            case MayGoto m -> {
                kind[pc] = MAY_GOTO;
                target[pc] = code.branchTarget(pc);
            }
            case Call c -> {
                switch (c.kind()) {
                    case HELPER -> {
                        HelperTable.NamedHelper h = helpers.get(c.imm());
                        if (h == null) {
                            fault(pc, "unknown helper " + c.imm());
                        } else {
                            kind[pc] = CALL_HELPER;
                            helper[pc] = h.implementation();
                        }
                    }
                    case LOCAL -> {
                        kind[pc] = CALL_LOCAL;
                        target[pc] = code.branchTarget(pc);
                        functionEntry[target[pc]] = true;
                    }
                    case KFUNC -> {
                        HelperTable.NamedHelper k = helpers.kfunc(c.imm());
                        if (k == null) {
                            fault(pc, "kfunc with BTF id " + c.imm() + " is not bound");
                        } else {
                            kind[pc] = CALL_HELPER;
                            helper[pc] = k.implementation();
                        }
                    }
                }
            }
            case CallX c -> {
                kind[pc] = CALLX;
                dst[pc] = (byte) c.reg();
            }
            case Exit e -> kind[pc] = EXIT;
        }
    }

    /** Turns a decoded memory instruction into its heap form when the plan says so. */
    private void routeHeap(int pc, Instruction insn, HeapPlan.Mode mode) {
        if (mode == HeapPlan.Mode.ADDRESS_SPACE) return;
        boolean mixed = mode == HeapPlan.Mode.MIXED;
        confineBase[pc] = mode == HeapPlan.Mode.HEAP_GUARDED;
        kind[pc] = switch (kind[pc]) {
            case LOAD -> mixed ? MIXED_LOAD : HEAP_LOAD;
            case LOAD_SX -> mixed ? MIXED_LOAD_SX : HEAP_LOAD_SX;
            case STORE_K -> mixed ? MIXED_STORE_K : HEAP_STORE_K;
            case STORE_X -> mixed ? MIXED_STORE_X : HEAP_STORE_X;
            case ATOMIC, ATOMIC_FETCH, CMPXCHG -> mixed ? MIXED_ATOMIC : HEAP_ATOMIC;
            default -> kind[pc];
        };
    }

    /**
     * The segment offset of the heap access at {@code pc} through register {@code base}: a
     * guarded access confines the register in place, so accesses whose guard was elided reuse it.
     */
    private long heapAt(int pc, long[] r, int base) {
        long p = r[base];
        if (confineBase[pc]) {
            p &= heapMask;
            r[base] = p;
        }
        long offset = p + off[pc];
        if (heap.checked()) HeapAccess.checkAllocated(heap, offset, size[pc]);
        return HeapMemory.GUARD + offset;
    }

    private static long signExtend(long v, int size) {
        return switch (size) {
            case 1 -> (byte) v;
            case 2 -> (short) v;
            default -> (int) v;
        };
    }

    /** An atomic of the instruction at {@code pc} on the heap at segment offset {@code at}. */
    private void heapAtomic(int pc, long[] r, long at) {
        if (atomic[pc] == AtomicOp.CMPXCHG) {
            r[0] = HeapAccess.compareAndExchange(heapSegment, at, size[pc], r[0], r[src[pc]]);
            return;
        }
        long old = HeapAccess.getAndApply(heapSegment, at, size[pc], atomic[pc], r[src[pc]]);
        if (fetches[pc]) r[src[pc]] = old;
    }

    private void fault(int pc, String why) {
        kind[pc] = FAULT;
        message[pc] = why;
    }


    @Override
    public String description() {
        return "interpreter";
    }

    @Override
    public Outcome enter(Invocation invocation, long[] arguments) {
        AddressSpace memory = invocation.memory();
        Stack.Mapped stack;
        try {
            stack = Stack.mapInto(memory);
        } catch (RuntimeException e) {
            return new Outcome.Faulted(0, "cannot map the stack: " + e.getMessage());
        }
        Run run = new Run(invocation, stack.base());
        Invocation.FunctionCaller previous = invocation.bindFunctionCaller(run);
        try (stack) {
            return execute(run, 0, 0, arguments);
        } finally {
            invocation.bindFunctionCaller(previous);
        }
    }

    /**
     * The state of one program run that outlives a single {@link #execute} call: helpers with
     * callbacks re-enter the interpreter for the callee, one frame below the frame that called
     * the helper ({@link #depth} is that frame's depth, recorded at every helper call).
     */
    private final class Run implements Invocation.FunctionCaller {
        final Invocation invocation;
        final AddressSpace memory;
        final long stackBase;
        long loopBudget;
        int depth;

        Run(Invocation invocation, long stackBase) {
            this.invocation = invocation;
            this.memory = invocation.memory();
            this.stackBase = stackBase;
            this.loopBudget = invocation.loopBudget();
        }

        @Override
        public long call(long functionPointer, long r1, long r2, long r3, long r4, long r5) {
            if (!FunctionPointers.isFunctionPointer(functionPointer)) {
                throw new ExtensionFault(String.format("callback 0x%x is not a function pointer", functionPointer));
            }
            long slot = FunctionPointers.slotOf(functionPointer);
            if (slot >= length || !functionEntry[(int) slot]) {
                throw new ExtensionFault(String.format("callback 0x%x: no function starts at slot %d", functionPointer, slot));
            }
            int caller = depth;
            if (caller + 1 >= RuntimeLimits.MAX_CALL_FRAMES) throw new ExtensionFault("call depth exceeds " + RuntimeLimits.MAX_CALL_FRAMES);
            Outcome outcome;
            try {
                outcome = execute(this, (int) slot, caller + 1, new long[] {r1, r2, r3, r4, r5});
            } finally {
                depth = caller;
            }
            if (outcome instanceof Outcome.Returned r) return r.r0();
            if (outcome == null) {
                invocation.takePendingTailCall();
                throw new ExtensionFault("a callback cannot make a tail call");
            }
            throw new CallbackOutcome(outcome);
        }
    }


    /**
     * Runs from {@code start} in a frame at call depth {@code baseDepth} until that frame exits:
     * the whole program (start 0, depth 0) or a callback. Returns null when a tail call is pending.
     */
    private Outcome execute(Run run, int start, int baseDepth, long[] arguments) {
        final Invocation invocation = run.invocation;
        final AddressSpace memory = run.memory;
        final long stackBase = run.stackBase;
        final byte[] kind = this.kind;
        final byte[] dst = this.dst;
        final byte[] src = this.src;
        final long[] imm = this.imm;
        final byte[] size = this.size;
        final int[] target = this.target;
        final long[] r = new long[11];
        for (int i = 0; i < Math.min(5, arguments.length); i++) r[1 + i] = arguments[i];
        r[10] = Stack.framePointer(stackBase, baseDepth);
        // Caller state per frame: r6..r10 and the return slot.
        final long[] saved = new long[RuntimeLimits.MAX_CALL_FRAMES * 5];
        final int[] returnTo = new int[RuntimeLimits.MAX_CALL_FRAMES];
        int depth = baseDepth;
        int pc = start;
        try {
            while (true) {
                switch (kind[pc]) {
                    case ALU64_K -> {
                        r[dst[pc]] = Arithmetic.alu64(alu[pc], r[dst[pc]], imm[pc]);
                        pc++;
                    }
                    case ALU64_X -> {
                        r[dst[pc]] = Arithmetic.alu64(alu[pc], r[dst[pc]], r[src[pc]]);
                        pc++;
                    }
                    case ALU32_K -> {
                        r[dst[pc]] = Arithmetic.alu32(alu[pc], r[dst[pc]], imm[pc]);
                        pc++;
                    }
                    case ALU32_X -> {
                        r[dst[pc]] = Arithmetic.alu32(alu[pc], r[dst[pc]], r[src[pc]]);
                        pc++;
                    }
                    case TO_LE -> {
                        r[dst[pc]] = Arithmetic.toLittleEndian(r[dst[pc]], (int) imm[pc]);
                        pc++;
                    }
                    case SWAP -> {
                        r[dst[pc]] = Arithmetic.byteSwap(r[dst[pc]], (int) imm[pc]);
                        pc++;
                    }
                    case LDDW -> {
                        r[dst[pc]] = imm[pc];
                        pc += 2;
                    }
                    case LOAD -> {
                        r[dst[pc]] = memory.load(r[src[pc]] + off[pc], size[pc]);
                        pc++;
                    }
                    case LOAD_SX -> {
                        long v = memory.load(r[src[pc]] + off[pc], size[pc]);
                        r[dst[pc]] = switch (size[pc]) {
                            case 1 -> (byte) v;
                            case 2 -> (short) v;
                            default -> (int) v;
                        };
                        pc++;
                    }
                    case STORE_K -> {
                        memory.store(r[dst[pc]] + off[pc], size[pc], imm[pc]);
                        pc++;
                    }
                    case STORE_X -> {
                        memory.store(r[dst[pc]] + off[pc], size[pc], r[src[pc]]);
                        pc++;
                    }
                    case ATOMIC -> {
                        memory.getAndApply(r[dst[pc]] + off[pc], size[pc], atomic[pc], r[src[pc]]);
                        pc++;
                    }
                    case ATOMIC_FETCH -> {
                        r[src[pc]] = memory.getAndApply(r[dst[pc]] + off[pc], size[pc], atomic[pc], r[src[pc]]);
                        pc++;
                    }
                    case CMPXCHG -> {
                        r[0] = memory.compareAndExchange(r[dst[pc]] + off[pc], size[pc], r[0], r[src[pc]]);
                        pc++;
                    }
                    case HEAP_LOAD -> {
                        r[dst[pc]] = HeapAccess.load(heapSegment, heapAt(pc, r, src[pc]), size[pc]);
                        pc++;
                    }
                    case HEAP_LOAD_SX -> {
                        r[dst[pc]] = signExtend(HeapAccess.load(heapSegment, heapAt(pc, r, src[pc]), size[pc]), size[pc]);
                        pc++;
                    }
                    case HEAP_STORE_K -> {
                        HeapAccess.store(heapSegment, heapAt(pc, r, dst[pc]), size[pc], imm[pc]);
                        pc++;
                    }
                    case HEAP_STORE_X -> {
                        // The base is confined first: a register stored through itself is stored confined.
                        long at = heapAt(pc, r, dst[pc]);
                        HeapAccess.store(heapSegment, at, size[pc], r[src[pc]]);
                        pc++;
                    }
                    case HEAP_ATOMIC -> {
                        heapAtomic(pc, r, heapAt(pc, r, dst[pc]));
                        pc++;
                    }
                    case MIXED_LOAD, MIXED_LOAD_SX -> {
                        long v = HeapAccess.loadMixed(memory, heap, r[src[pc]], off[pc], size[pc]);
                        r[dst[pc]] = kind[pc] == MIXED_LOAD_SX ? signExtend(v, size[pc]) : v;
                        pc++;
                    }
                    case MIXED_STORE_K -> {
                        HeapAccess.storeMixed(memory, heap, r[dst[pc]], off[pc], size[pc], imm[pc]);
                        pc++;
                    }
                    case MIXED_STORE_X -> {
                        HeapAccess.storeMixed(memory, heap, r[dst[pc]], off[pc], size[pc], r[src[pc]]);
                        pc++;
                    }
                    case MIXED_ATOMIC -> {
                        if (atomic[pc] == AtomicOp.CMPXCHG) {
                            r[0] = HeapAccess.compareAndExchangeMixed(memory, heap, r[dst[pc]], off[pc], size[pc], r[0], r[src[pc]]);
                        } else {
                            long old = HeapAccess.getAndApplyMixed(memory, heap, r[dst[pc]], off[pc], size[pc], atomic[pc], r[src[pc]]);
                            if (fetches[pc]) r[src[pc]] = old;
                        }
                        pc++;
                    }
                    case CAST_KERN -> {
                        r[dst[pc]] = HeapAccess.castKern(heapMask, r[src[pc]]);
                        pc++;
                    }
                    case CAST_USER -> {
                        r[dst[pc]] = HeapAccess.castUser(heap.userBase(), r[src[pc]]);
                        pc++;
                    }
                    case JMP_K, JMP_X, JMP32_K, JMP32_X -> {
                        byte k = kind[pc];
                        long b = (k == JMP_K || k == JMP32_K) ? imm[pc] : r[src[pc]];
                        boolean taken = (k == JMP_K || k == JMP_X) ? cond[pc].test(r[dst[pc]], b) : cond[pc].test32(r[dst[pc]], b);
                        if (!taken) {
                            pc++;
                        } else {
                            int t = target[pc];
                            if (t <= pc && !noPoll.get(pc)) {
                                String why = invocation.cancelRequested(); // interrupts arrive as requests (Watchdog)
                                if (why != null) return new Outcome.Cancelled(pc, why, List.of());
                            }
                            pc = t;
                        }
                    }
                    case GOTO -> {
                        int t = target[pc];
                        if (t <= pc && !noPoll.get(pc)) {
                            String why = invocation.cancelRequested();
                            if (why != null) return new Outcome.Cancelled(pc, why, List.of());
                        }
                        pc = t;
                    }
                    case MAY_GOTO -> {
                        String why = noPoll.get(pc) ? null : invocation.cancelRequested();
                        if (why != null) return new Outcome.Cancelled(pc, why, List.of());
                        if (run.loopBudget > 0) {
                            run.loopBudget--;
                            pc++;
                        } else {
                            pc = target[pc];
                        }
                    }
                    case CALL_HELPER -> {
                        run.depth = depth;
                        r[0] = helper[pc].call(invocation, r[1], r[2], r[3], r[4], r[5]);
                        if (invocation.tailCallPending()) return null;
                        pc++;
                    }
                    case CALL_LOCAL, CALLX -> {
                        int entry;
                        if (kind[pc] == CALL_LOCAL) {
                            entry = target[pc];
                        } else {
                            long value = r[dst[pc]];
                            if (!FunctionPointers.isFunctionPointer(value)) {
                                run.depth = depth;
                                r[0] = callHelperByNumber(invocation, value, r);
                                if (invocation.tailCallPending()) return null;
                                pc++;
                                continue;
                            }
                            long slot = FunctionPointers.slotOf(value);
                            if (slot >= length || !functionEntry[(int) slot]) {
                                throw new ExtensionFault(String.format("callx to 0x%x: no function starts at slot %d", value, slot));
                            }
                            entry = (int) slot;
                        }
                        if (depth + 1 >= RuntimeLimits.MAX_CALL_FRAMES) {
                            throw new ExtensionFault("call depth exceeds " + RuntimeLimits.MAX_CALL_FRAMES);
                        }
                        System.arraycopy(r, 6, saved, depth * 5, 5);
                        returnTo[depth] = pc + 1;
                        depth++;
                        r[10] = Stack.framePointer(stackBase, depth);
                        pc = entry;
                    }
                    case EXIT -> {
                        if (depth == baseDepth) return Outcome.Returned.of(r[0]);
                        depth--;
                        System.arraycopy(saved, depth * 5, r, 6, 5);
                        pc = returnTo[depth];
                    }
                    case FAULT -> throw new ExtensionFault(message[pc]);
                    case FELL_OFF -> {
                        pc = lastInstruction;
                        throw new ExtensionFault("execution fell off the end of the program");
                    }
                    default -> throw new IllegalStateException("bad handler kind " + kind[pc]);
                }
            }
        } catch (ExtensionFault f) {
            return new Outcome.Faulted(pc, f.getMessage());
        } catch (CallbackOutcome c) {
            return c.outcomeAt(pc);
        } catch (RuntimeException | StackOverflowError e) {
            return new Outcome.Faulted(pc, "unexpected failure: " + e);
        }
    }


    /** {@code callx} on a value that is not a function pointer: the conformance suite's helper-number convention. */
    private long callHelperByNumber(Invocation invocation, long number, long[] r) {
        HelperTable.NamedHelper h = number >= 0 && number <= Integer.MAX_VALUE ? helpers.get((int) number) : null;
        if (h == null) {
            throw new ExtensionFault(String.format("callx to 0x%x: neither a function pointer nor a known helper number", number));
        }
        return h.implementation().call(invocation, r[1], r[2], r[3], r[4], r[5]);
    }
}
