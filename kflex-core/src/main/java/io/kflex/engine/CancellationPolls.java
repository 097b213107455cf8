package io.kflex.engine;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.verifier.BackEdgeFact;
import io.kflex.verifier.VerifiedProgram;
import java.util.BitSet;
import java.util.Optional;

/**
 * Where an engine may leave out the cancellation poll of a backward branch or a {@code may_goto}.
 * Without verifier facts every taken backward branch polls (and every {@code may_goto}). With
 * them, a backward branch whose edge the verifier proved to close a terminating loop does not,
 * nor does one of the verifier's quiet polls ({@link VerifiedProgram#quietPolls()}): each cycle
 * of the program contains a backward branch, and a cycle through a proven edge either passes a {@code may_goto}
 * (which polls) or is traversed at most {@code Verifier.MAX_UNPOLLED_ITERATIONS} times between
 * polls, counting the proven loops around it, so every cycle that can run long still passes a
 * poll. Edges the verifier did not prove — including those it could only see as forward jumps or
 * fall-throughs in an irreducible loop — keep their polls.
 */
public final class CancellationPolls {
    private CancellationPolls() {}

    /**
     * The slots of backward branches that need no poll, and of the {@code may_goto}s and other
     * backward branches the verifier found no loop relying on ({@link VerifiedProgram#quietPolls()}).
     */
    public static BitSet skippable(Code code, Optional<VerifiedProgram> verified) {
        BitSet skip = new BitSet();
        if (verified.isEmpty()) return skip;
        BitSet unproven = new BitSet();
        for (BackEdgeFact b : verified.get().backEdges()) {
            if (!b.terminating()) {
                unproven.set(b.from());
                continue;
            }
            if (b.to() > b.from() || b.from() >= code.length()) continue;
            Instruction insn = code.at(b.from());
            boolean jumpsThere = (insn instanceof Instruction.Jump || insn instanceof Instruction.Goto) && code.branchTarget(b.from()) == b.to();
            if (jumpsThere) skip.set(b.from());
        }
        skip.andNot(unproven);
        // A may_goto or backward branch whose loops are all counted is no loop's check.
        for (int pc : verified.get().quietPolls()) {
            if (pc < 0 || pc >= code.length() || unproven.get(pc)) continue;
            if (code.at(pc) instanceof Instruction.MayGoto || code.isBackwardJump(pc)) skip.set(pc);
        }
        return skip;
    }
}
