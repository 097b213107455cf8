package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.BoundedRuns;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.helpers.HelperTable;
import io.kflex.interp.Interpreter;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.isa.asm.Disassembler;
import io.kflex.loader.ProgramType;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

/**
 * The verifier's promise, checked on the real interpreter: a random program the verifier
 * accepts runs without a single host-memory fault.
 *
 * <p>A <em>host-memory fault</em> is any access outside the regions the invocation owns — its
 * stack (mapped by the engine for the run) and the 4 KiB context buffer of a SYSCALL program,
 * here the only two. The interpreter's {@link AddressSpace} bounds-checks every load, store and
 * atomic against those regions and turns a stray access into {@link Outcome.Faulted}; so the
 * property is: verified ⇒ the outcome is never {@code Faulted}. (It may be {@code Cancelled}:
 * loops without a termination proof are accepted, and runs that take too long are asked to
 * cancel, as the runtime's watchdog would. A run that ignores the request fails the property
 * with the program, rather than hanging the build: every loop that can run long must reach a
 * cancellation check.) The programs mix scalar arithmetic, branches and loops, stack and
 * context accesses at constant and variable offsets (many of them out of bounds, so the
 * verifier has something to reject), pointer arithmetic and copies, spills, atomics, helper
 * calls and local calls.
 */
class VerifiedProgramsNeverFaultTest {

    private static final VerifierOptions OPTIONS = VerifierOptions.defaults().withLogLevel(0).withMaxProcessed(10_000)
            .withTimeBudget(Duration.ofSeconds(5));
    static final HelperTable HELPERS = HelperTable.builder()
            .add(5, "ktime_get_ns", (inv, a, b, c, d, e) -> System.nanoTime())
            .add(7, "get_prandom_u32", (inv, a, b, c, d, e) -> java.util.concurrent.ThreadLocalRandom.current().nextInt() & 0xffffffffL)
            .build();
    /** When a run is asked to cancel, as a watchdog would; and how long it may then ignore the request before the property fails. */
    private static final Duration CANCEL_AFTER = Duration.ofMillis(100), RUNAWAY_AFTER = Duration.ofSeconds(10);
    private static final int SUBPROGRAM_MARKER = RandomPrograms.SUBPROGRAM_MARKER;

    @Provide
    Arbitrary<List<Instruction>> programs() {
        Arbitrary<Integer> reg = Arbitraries.integers().between(0, 9);
        Arbitrary<Integer> imm = Arbitraries.oneOf(Arbitraries.integers().between(-70, 70), Arbitraries.integers(),
                Arbitraries.of(0, 1, 7, 8, 63, 64, -8, -512, 4088, 4096, 0x7fffffff, Integer.MIN_VALUE));
        Arbitrary<Operand> operand = Arbitraries.oneOf(reg.map(Operand::reg), imm.map(Operand::imm));
        // Bases: r10 (stack), r8 (the context, kept from r1), r9 (whatever a piece left there).
        Arbitrary<Integer> base = Arbitraries.of(10, 10, 8, 9);
        Arbitrary<Short> off = Arbitraries.oneOf(Arbitraries.shorts().between((short) -72, (short) 16),
                Arbitraries.of((short) -512, (short) -513, (short) -504, (short) 4088, (short) 4092, (short) 4096, (short) 0, (short) -8));
        Arbitrary<List<Instruction>> alu = Combinators.combine(Arbitraries.of(true, true, false), Arbitraries.of(AluOp.class), reg, operand)
                .as((w, op, d, s) -> List.<Instruction>of(new Alu(w, op, d, s)));
        Arbitrary<List<Instruction>> jump = Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(JumpOp.class), reg, operand,
                Arbitraries.frequencyOf(Tuple.of(4, Arbitraries.shorts().between((short) 0, (short) 6)),
                        Tuple.of(1, Arbitraries.shorts().between((short) -5, (short) -1)))).as((w, op, d, s, o) -> List.<Instruction>of(new Jump(w, op, d, s, o)));
        // Mostly in-bounds, aligned accesses (stack slots below r10, the start of the context), sometimes anything.
        Arbitrary<Tuple.Tuple2<Integer, Short>> place = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.integers().between(1, 8).map(k -> Tuple.of(10, (short) (-8 * k)))),
                Tuple.of(2, Arbitraries.integers().between(0, 8).map(k -> Tuple.of(8, (short) (8 * k)))),
                Tuple.of(1, Arbitraries.of(4080, 4088, 4092, 4094, 4095, 4096, 4100).map(o -> Tuple.of(8, (short) (int) o))),
                Tuple.of(1, Arbitraries.of(-520, -516, -513, -512, -508, -504, -1, 0, 4).map(o -> Tuple.of(10, (short) (int) o))),
                Tuple.of(2, Combinators.combine(base, off).as(Tuple::of)));
        Arbitrary<List<Instruction>> load = Combinators.combine(Arbitraries.of(Size.class), reg, place)
                .as((sz, d, p) -> List.<Instruction>of(new Load(sz, false, d, p.get1(), p.get2())));
        Arbitrary<List<Instruction>> store = Combinators.combine(Arbitraries.of(Size.class), place, reg)
                .as((sz, p, s) -> List.<Instruction>of(new StoreReg(sz, p.get1(), s, p.get2())));
        Arbitrary<List<Instruction>> storeImm = Combinators.combine(Arbitraries.of(Size.class), base, off, imm)
                .as((sz, b, o, k) -> List.<Instruction>of(new Store(sz, b, o, k)));
        // r9 = base + (rX & mask) + K: variable offsets, bounded or not.
        Arbitrary<List<Instruction>> variable = Combinators.combine(reg, Arbitraries.of(7, 56, 63, 255, 4095, -1), Arbitraries.of(10, 8),
                Arbitraries.of(-64, -8, 0, 4032, -600)).as((x, mask, b, k) -> List.<Instruction>of(
                new Alu(true, AluOp.MOV, 9, Operand.reg(x)), new Alu(true, AluOp.AND, 9, Operand.imm(mask)),
                new Alu(true, AluOp.ADD, 9, Operand.reg(b)), new Alu(true, AluOp.ADD, 9, Operand.imm(k))));
        // r9 = base + K: constant pointer arithmetic.
        Arbitrary<List<Instruction>> moved = Combinators.combine(Arbitraries.of(10, 8), imm).as((b, k) -> List.<Instruction>of(
                new Alu(true, AluOp.MOV, 9, Operand.reg(b)), new Alu(true, AluOp.ADD, 9, Operand.imm(k))));
        // Spill r9 and fill it back, maybe after disturbing the slot.
        Arbitrary<List<Instruction>> spill = Combinators.combine(Arbitraries.of(-8, -16, -64), Arbitraries.of(true, false))
                .as((slot, disturb) -> {
                    List<Instruction> l = new ArrayList<>();
                    l.add(new StoreReg(Size.DW, 10, 9, (short) (int) slot));
                    if (disturb) l.add(new Store(Size.W, 10, (short) (slot + 4), 0));
                    l.add(new Load(Size.DW, false, 9, 10, (short) (int) slot));
                    return l;
                });
        Arbitrary<List<Instruction>> atomic = Combinators.combine(Arbitraries.of(Size.W, Size.DW),
                Arbitraries.of(AtomicOp.ADD, AtomicOp.OR, AtomicOp.XCHG, AtomicOp.CMPXCHG), base, reg, off)
                .as((sz, op, b, s, o) -> List.<Instruction>of(new Atomic(sz, op, op.alwaysFetches(), b, s, o)));
        Arbitrary<List<Instruction>> control = Arbitraries.oneOf(
                Arbitraries.shorts().between((short) -4, (short) 4).map(o -> List.<Instruction>of(new Goto(o, false))),
                Arbitraries.shorts().between((short) -4, (short) 4).map(o -> List.<Instruction>of(new MayGoto(o))),
                Arbitraries.of(5, 7).map(id -> withArguments(Call.helper(id))),
                Arbitraries.just(withArguments(new Call(CallKind.LOCAL, SUBPROGRAM_MARKER, (short) 0))),
                Combinators.combine(Arbitraries.of(ByteSwap.class), Arbitraries.of(16, 32, 64), reg)
                        .as((k, bits, d) -> List.<Instruction>of(new Endian(k, bits, d))));
        Arbitrary<List<Instruction>> piece = Arbitraries.frequencyOf(Tuple.of(6, alu), Tuple.of(3, jump), Tuple.of(3, load), Tuple.of(3, store),
                Tuple.of(1, storeImm), Tuple.of(2, variable), Tuple.of(2, moved), Tuple.of(1, spill), Tuple.of(1, atomic), Tuple.of(2, control));
        return Combinators.combine(piece.list().ofMinSize(1).ofMaxSize(16), piece.list().ofMaxSize(6)).as((pieces, subPieces) -> {
            List<Instruction> out = new ArrayList<>();
            // Prelude: r8 = ctx; some stack written; unknown values in r6, r7.
            out.add(new Alu(true, AluOp.MOV, 8, Operand.reg(1)));
            out.add(Call.helper(7));
            out.add(new Alu(true, AluOp.MOV, 6, Operand.reg(0)));
            out.add(Call.helper(5));
            out.add(new Alu(true, AluOp.MOV, 7, Operand.reg(0)));
            for (int off2 = -64; off2 < 0; off2 += 8) out.add(new StoreReg(Size.DW, 10, off2 % 16 == 0 ? 6 : 7, (short) off2));
            for (int r = 2; r <= 5; r++) out.add(new Alu(true, AluOp.MOV, r, Operand.imm(r * 5 - 12)));
            out.add(new Alu(true, AluOp.MOV, 9, Operand.reg(10)));
            out.add(new Alu(true, AluOp.ADD, 9, Operand.imm(-16)));
            pieces.forEach(out::addAll);
            out.add(new Alu(true, AluOp.MOV, 0, Operand.imm(0)));
            out.add(new Exit());
            if (RandomPrograms.callsSubprogram(out)) {
                // The subprogram gets r1-r5 from its caller (r1 may be the caller's stack or the context).
                int start = out.size();
                out.add(new Alu(true, AluOp.MOV, 9, Operand.reg(1)));
                out.add(new Alu(true, AluOp.MOV, 8, Operand.reg(2)));
                subPieces.forEach(out::addAll);
                out.add(new Alu(true, AluOp.MOV, 0, Operand.imm(1)));
                out.add(new Exit());
                RandomPrograms.linkSubprogram(out, start);
            }
            return out;
        });
    }

    static String describe(Code code, VerifiedProgram verified) {
        return Disassembler.of(Disassembler.Radix.DECIMAL).listing(code, pc -> null) + "back-edges: " + verified.backEdges();
    }

    /** A call, then r1-r5 (clobbered by it) set again so the pieces after it can use them. */
    private static List<Instruction> withArguments(Instruction call) {
        List<Instruction> l = new ArrayList<>();
        l.add(call);
        l.add(new Alu(true, AluOp.MOV, 1, Operand.reg(8)));
        for (int r = 2; r <= 5; r++) l.add(new Alu(true, AluOp.MOV, r, Operand.imm(r - 1)));
        return l;
    }

    @Property(tries = 2000)
    void acceptedProgramsNeverTouchMemoryTheyDoNotOwn(@ForAll("programs") List<Instruction> program) throws EngineException {
        Code code;
        try {
            code = Code.of(program);
        } catch (InvalidInstructionException e) {
            Assume.that(false);
            return;
        }
        VerifiedProgram verified;
        try {
            verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(), OPTIONS);
        } catch (VerificationException e) {
            Statistics.collect("rejected");
            Statistics.label("rules").collect(e.rule());
            return;
        }
        Executable executable = new Interpreter().load(code, Bindings.of(HELPERS).withVerified(verified));
        // A shared, automatically freed arena: the run happens on a worker thread, and a runaway
        // one may still hold the buffer after the property has failed.
        AddressSpace memory = new AddressSpace();
        long ctx = memory.map(new Region(Region.Kind.CONTEXT, Arena.ofAuto().allocate(ContextDescriptor.SYSCALL_BUFFER_SIZE), true, "ctx"));
        Invocation invocation = new Invocation(memory, ctx);
        Outcome outcome = BoundedRuns.run(executable, invocation, CANCEL_AFTER, RUNAWAY_AFTER, () -> describe(code, verified));
        assertThat(outcome).as(() -> "outcome of a verified program:\n" + describe(code, verified)).isNotInstanceOf(Outcome.Faulted.class);
        Statistics.collect(outcome instanceof Outcome.Cancelled ? "accepted, cancelled" : "accepted, returned");
    }
}
