package io.kflex.runtime;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.Instruction.Load;
import io.kflex.isa.Size;
import io.kflex.verifier.AccessFact;
import io.kflex.verifier.MemoryRegion;
import io.kflex.verifier.VerifiedProgram;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Redirects a verified program's loads of context pointer fields ({@code ctx->data},
 * {@code ctx->data_end}, ...) to the 64-bit shadow slots of its {@link ContextLayout}, the
 * counterpart of Linux's {@code convert_ctx_accesses}. A load is rewritten only where the verifier
 * proved it reads exactly one pointer field of the context on every path (a constant offset);
 * every other instruction is left as it is.
 */
public final class ContextRewriter {
    private ContextRewriter() {}

    /** The program's code with every context pointer-field load redirected to its shadow slot. */
    public static Code rewrite(VerifiedProgram program, ContextLayout layout) {
        Code code = program.code();
        List<Instruction> out = new ArrayList<>(code.length());
        boolean changed = false;
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) continue;
            Instruction rewritten = rewriteOne(insn, program.accessAt(pc), layout);
            changed |= rewritten != insn;
            out.add(rewritten);
        }
        if (!changed) return code;
        try {
            return Code.of(out);
        } catch (InvalidInstructionException e) {
            throw new IllegalStateException("a one-slot load replaced by a one-slot load cannot be invalid", e);
        }
    }

    /**
     * The verified program as it will run: its code {@link #rewrite rewritten} and the facts of the
     * rewritten loads moved to the shadow slots they now read (8 bytes at the slot's offset), so
     * that facts and code describe the same program. Rewriting the result again changes nothing.
     */
    public static VerifiedProgram rewritten(VerifiedProgram program, ContextLayout layout) {
        Code code = rewrite(program, layout);
        if (code == program.code()) return program;
        Map<Integer, AccessFact> accesses = new HashMap<>(program.accesses());
        for (int pc = 0; pc < code.length(); pc++) {
            if (code.at(pc) != null && !code.at(pc).equals(program.code().at(pc))) {
                AccessFact f = program.accessAt(pc);
                long slot = layout.shadowAt(f.minOffset()).offset();
                accesses.put(pc, new AccessFact(pc, f.region(), slot, slot, 8, f.write(), f.map(), f.guardNeeded()));
            }
        }
        return new VerifiedProgram(code, program.type(), program.processedInstructions(), Collections.unmodifiableMap(accesses),
                program.backEdges(), program.cancellationPoints(), program.heldAtCancellation(), program.stackDepths(), program.log(),
                program.callMaps(), program.quietPolls());
    }

    private static Instruction rewriteOne(Instruction insn, AccessFact fact, ContextLayout layout) {
        if (!(insn instanceof Load load) || fact == null || fact.region() != MemoryRegion.CTX || fact.write()) return insn;
        if (fact.minOffset() != fact.maxOffset()) return insn;
        ContextLayout.Shadow shadow = layout.shadowAt(fact.minOffset());
        if (shadow == null || shadow.field().offset() != fact.minOffset()) return insn;
        // The register may already point into the context at an offset; keep it and move only the
        // displacement so the effective address lands on the shadow slot.
        long displacement = load.off() + (shadow.offset() - fact.minOffset());
        if (displacement < Short.MIN_VALUE || displacement > Short.MAX_VALUE) return insn;
        return new Load(Size.DW, false, load.dst(), load.src(), (short) displacement);
    }
}
