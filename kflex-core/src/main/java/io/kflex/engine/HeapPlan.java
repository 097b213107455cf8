package io.kflex.engine;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.verifier.AccessFact;
import io.kflex.verifier.MemoryRegion;
import io.kflex.verifier.VerifiedProgram;
import java.util.Arrays;

/**
 * How each memory instruction of a program reaches memory, decided once at load time from the
 * verifier's facts and the bound heap: through the address space, as a guarded heap access (the
 * base register is confined in place: {@code base &= mask}), as a heap access whose guard the
 * verifier elided (the base is a sanitised offset plus a displacement within the guard distance
 * on every path: sanitised by an earlier guarded access or by {@code addr_space_cast}, which the
 * engines perform as {@link HeapAccess#castKern(long, long)}), or — where the region differs
 * between paths — by testing the base at run time. Both engines follow it.
 */
public final class HeapPlan {
    /** How one instruction accesses memory. */
    public enum Mode { ADDRESS_SPACE, HEAP_GUARDED, HEAP_ELIDED, MIXED }

    private static final HeapPlan NONE = new HeapPlan(null, new Mode[0], 0, 0);

    private final HeapMemory heap;
    private final Mode[] modes;
    private final int guarded, elided;

    private HeapPlan(HeapMemory heap, Mode[] modes, int guarded, int elided) {
        this.heap = heap;
        this.modes = modes;
        this.guarded = guarded;
        this.elided = elided;
    }

    /**
     * The plan for {@code code} under {@code bindings}. Without a heap, or without facts, every
     * access goes through the address space.
     *
     * @throws EngineException when the facts were computed for other code
     */
    public static HeapPlan of(Code code, Bindings bindings) throws EngineException {
        if (bindings.heap().isEmpty() || bindings.verified().isEmpty()) return NONE;
        VerifiedProgram facts = bindings.verified().get();
        checkSameProgram(facts, code);
        HeapMemory heap = bindings.heap().get();
        long size = heap.size();
        if (size <= 0 || Long.bitCount(size) != 1 || size > AddressSpace.WINDOW_SIZE || heap.mask() != size - 1
                || heap.segment().byteSize() != size + 2 * HeapMemory.GUARD) {
            throw new EngineException("heap of " + size + " bytes with mask 0x" + Long.toHexString(heap.mask()) + " and a segment of "
                    + heap.segment().byteSize() + " bytes does not have the GUARD + size + GUARD layout");
        }
        Mode[] modes = new Mode[code.length()];
        Arrays.fill(modes, Mode.ADDRESS_SPACE);
        int guarded = 0, elided = 0;
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (!isMemory(insn)) continue;
            AccessFact fact = facts.accessAt(pc);
            if (fact == null) continue; // never reached by the verifier: runs as it would unverified
            if (fact.region() == MemoryRegion.HEAP) {
                modes[pc] = fact.guardNeeded() ? Mode.HEAP_GUARDED : Mode.HEAP_ELIDED;
                if (fact.guardNeeded()) guarded++;
                else elided++;
            } else if (fact.region() == MemoryRegion.MIXED) {
                modes[pc] = Mode.MIXED;
            }
        }
        return new HeapPlan(heap, modes, guarded, elided);
    }

    /**
     * The facts must describe {@code code}: the same slots, and the same instructions except
     * non-heap memory accesses a runtime may have rewritten in place (context field loads
     * redirected to their shadow slots).
     */
    public static void checkSameProgram(VerifiedProgram facts, Code code) throws EngineException {
        Code verified = facts.code();
        if (verified.length() != code.length()) {
            throw new EngineException("the verifier's facts belong to a program of " + verified.length() + " slots, not " + code.length());
        }
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction was = verified.at(pc), is = code.at(pc);
            if (java.util.Objects.equals(was, is)) continue;
            AccessFact fact = facts.accessAt(pc);
            boolean rewrittenAccess = isMemory(was) && isMemory(is) && fact != null
                    && fact.region() != MemoryRegion.HEAP && fact.region() != MemoryRegion.MIXED;
            if (!rewrittenAccess) {
                throw new EngineException("the verifier's facts belong to a different program: slot " + pc + " differs");
            }
        }
    }

    private static boolean isMemory(Instruction insn) {
        return insn instanceof Instruction.Load || insn instanceof Instruction.Store || insn instanceof Instruction.StoreReg
                || insn instanceof Instruction.Atomic;
    }

    /** The heap, or null when none is bound. */
    public HeapMemory heap() { return heap; }

    public Mode mode(int pc) { return pc < modes.length ? modes[pc] : Mode.ADDRESS_SPACE; }

    /** Heap accesses compiled with a guard. */
    public int guarded() { return guarded; }

    /** Heap accesses compiled without one, as the verifier proved them confined already. */
    public int elided() { return elided; }
}
