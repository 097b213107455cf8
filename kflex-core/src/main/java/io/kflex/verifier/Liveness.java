package io.kflex.verifier;

import io.kflex.helpers.HelperPrototypes;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Operand;

/**
 * Register liveness (r0-r9) by backward dataflow over each subprogram: a register that every
 * path overwrites before reading cannot influence what follows, so state comparison ignores it —
 * the static counterpart of Linux's {@code REG_LIVE_READ} marks, and what makes pruning effective.
 */
final class Liveness {
    private static final int ARGS = 0b111110;    // r1-r5
    private static final int CLOBBERED = 0b111111; // r0-r5

    private final int[] liveIn;

    private Liveness(int[] liveIn) { this.liveIn = liveIn; }

    /** Registers (bit i = ri) that may be read before being written from slot {@code pc} on. */
    int liveAt(int pc) { return liveIn[pc]; }

    static Liveness compute(Code code, ControlFlowGraph cfg) {
        int n = code.length();
        int[] use = new int[n], def = new int[n], in = new int[n];
        for (int pc = 0; pc < n; pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) continue;
            use[pc] = uses(insn);
            def[pc] = defs(insn);
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int pc = n - 1; pc >= 0; pc--) {
                if (code.at(pc) == null) continue;
                int out = 0;
                for (int s : cfg.successors(pc)) out |= in[s];
                int next = use[pc] | (out & ~def[pc]);
                if (next != in[pc]) {
                    in[pc] = next;
                    changed = true;
                }
            }
        }
        return new Liveness(in);
    }

    private static int bit(int r) { return r == 10 ? 0 : 1 << r; }

    private static int operand(Operand o) { return o instanceof Operand.Reg r ? bit(r.reg()) : 0; }

    static int uses(Instruction insn) {
        return switch (insn) {
            case Alu a when a.op() == AluOp.MOV || a.op().isMovSx() -> operand(a.src());
            case Alu a when a.op() == AluOp.NEG -> bit(a.dst());
            case Alu a -> bit(a.dst()) | operand(a.src());
            case Endian e -> bit(e.dst());
            case AddrSpaceCast c -> bit(c.src());
            case LoadImm64 l -> 0;
            case Load l -> bit(l.src());
            case Store s -> bit(s.dst());
            case StoreReg s -> bit(s.dst()) | bit(s.src());
            case Atomic a -> bit(a.dst()) | bit(a.src()) | (a.op() == AtomicOp.CMPXCHG ? bit(0) : 0);
            case Jump j -> bit(j.dst()) | operand(j.src());
            case Goto g -> 0;
            case MayGoto m -> 0;
            case Call c when c.kind() == CallKind.HELPER -> HelperPrototypes.find(c.imm())
                    .map(p -> ((1 << (p.args().size() + 1)) - 1) & ARGS).orElse(ARGS);
            case Call c -> ARGS;
            case CallX c -> bit(c.reg()) | ARGS;
            case Exit e -> bit(0);
        };
    }

    static int defs(Instruction insn) {
        return switch (insn) {
            case Alu a -> bit(a.dst());
            case Endian e -> bit(e.dst());
            case AddrSpaceCast c -> bit(c.dst());
            case LoadImm64 l -> bit(l.dst());
            case Load l -> bit(l.dst());
            case Atomic a when a.fetch() -> a.op() == AtomicOp.CMPXCHG ? bit(0) : bit(a.src());
            case Call c -> CLOBBERED;
            case CallX c -> CLOBBERED;
            default -> 0;
        };
    }
}
