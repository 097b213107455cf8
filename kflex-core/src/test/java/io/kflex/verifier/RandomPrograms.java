package io.kflex.verifier;

import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.Call;
import java.util.List;

/** Shared pieces of the random-program generators of the verifier's property tests. */
final class RandomPrograms {
    /** A placeholder call that {@link #linkSubprogram} turns into a local call to the subprogram. */
    static final int SUBPROGRAM_MARKER = 0x7fff0000;

    private RandomPrograms() {}

    static boolean callsSubprogram(List<Instruction> program) {
        return program.stream().anyMatch(i -> i instanceof Call c && c.imm() == SUBPROGRAM_MARKER);
    }

    /** Points every marker call before slot {@code start} (where the subprogram begins) at it. */
    static void linkSubprogram(List<Instruction> program, int start) {
        for (int pc = 0; pc < start; pc++) {
            if (program.get(pc) instanceof Call c && c.imm() == SUBPROGRAM_MARKER) program.set(pc, Call.local(start - pc - 1));
        }
    }
}
