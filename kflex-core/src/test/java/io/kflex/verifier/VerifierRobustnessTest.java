package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
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
import net.jqwik.api.statistics.Statistics;

/** Arbitrary programs get a verdict — acceptance or a {@link VerificationException} — and nothing else. */
class VerifierRobustnessTest {

    private static final VerifierOptions OPTIONS = VerifierOptions.defaults().withLogLevel(2).withMaxProcessed(50_000)
            .withTimeBudget(Duration.ofSeconds(5));

    @Provide
    Arbitrary<List<Instruction>> programs() {
        Arbitrary<Integer> reg = Arbitraries.integers().between(0, 10);
        Arbitrary<Integer> imm = Arbitraries.oneOf(Arbitraries.integers().between(-20, 20), Arbitraries.integers(),
                Arbitraries.of(0, 1, 4, 8, 14, 64, 100, -8, -16, -512));
        Arbitrary<Short> off = Arbitraries.oneOf(Arbitraries.shorts().between((short) -24, (short) 24), Arbitraries.of((short) -8, (short) -4, (short) 0));
        Arbitrary<Short> jump = Arbitraries.shorts().between((short) -4, (short) 6);
        Arbitrary<Operand> operand = Arbitraries.oneOf(reg.map(Operand::reg), imm.map(Operand::imm));
        Arbitrary<Size> size = Arbitraries.of(Size.class);
        Arbitrary<Instruction> insn = Arbitraries.oneOf(
                Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(AluOp.class), reg, operand).as(Alu::new),
                Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(AluOp.ADD, AluOp.MOV), reg, operand).as(Alu::new),
                Combinators.combine(size, reg, reg, off).as((s, d, r, o) -> new Load(s, false, d, r, o)),
                Combinators.combine(size, reg, off, imm).as(Store::new),
                Combinators.combine(size, reg, reg, off).as(StoreReg::new),
                Combinators.combine(Arbitraries.of(Size.W, Size.DW), Arbitraries.of(AtomicOp.ADD, AtomicOp.XCHG), reg, reg, off)
                        .as((s, op, d, r, o) -> new Atomic(s, op, op.alwaysFetches(), d, r, o)),
                Combinators.combine(Arbitraries.of(true, false), Arbitraries.of(JumpOp.class), reg, operand, jump).as(Jump::new),
                jump.map(o -> new Goto(o, false)),
                jump.map(MayGoto::new),
                Arbitraries.of(1, 2, 3, 5, 6, 7, 12, 23, 44, 84, 86, 93, 94, 130, 131, 132, 181, 999).map(Call::helper),
                Arbitraries.integers().between(-3, 5).map(Call::local),
                Combinators.combine(reg, Arbitraries.integers().between(0, 7), Arbitraries.integers().between(0, 6))
                        .as((d, p, i) -> (Instruction) new LoadImm64(d, p == 7 ? 0 : p, i, p == 6 ? 4 : i)),
                Combinators.combine(reg, reg).as((d, s) -> new AddrSpaceCast(d, s, 0, 1)),
                Combinators.combine(reg, reg).as((d, s) -> new AddrSpaceCast(d, s, 1, 0)),
                // Kfunc calls, with a frame pointer minus 8 or 16 in r1 often enough to create iterators.
                Arbitraries.of(new java.util.ArrayList<>(io.kflex.helpers.Kfuncs.ids().values())).map(Call::kfunc),
                Arbitraries.of(io.kflex.helpers.Kfuncs.BPF_ITER_NUM_NEW, io.kflex.helpers.Kfuncs.BPF_ITER_NUM_NEXT,
                        io.kflex.helpers.Kfuncs.BPF_ITER_NUM_DESTROY, 0, 4242).map(Call::kfunc),
                Arbitraries.of(-8, -16).map(o -> (Instruction) new Alu(true, AluOp.ADD, 1, Operand.imm(o))),
                Arbitraries.just(new Alu(true, AluOp.MOV, 1, Operand.reg(10))),
                Combinators.combine(Arbitraries.of(ByteSwap.class), Arbitraries.of(16, 32, 64), reg).as(Endian::new),
                Arbitraries.just(new Exit()));
        return insn.list().ofMinSize(1).ofMaxSize(24).map(l -> {
            List<Instruction> out = new ArrayList<>(l);
            out.add(new Alu(true, AluOp.MOV, 0, Operand.imm(0)));
            out.add(new Exit());
            return out;
        });
    }

    @Property(tries = 1500)
    void everyProgramGetsAVerdict(@ForAll("programs") List<Instruction> program, @ForAll("types") ProgramType type) {
        Code code;
        try {
            code = Code.of(program);
        } catch (InvalidInstructionException e) {
            Assume.that(false);
            return;
        }
        try {
            VerifiedProgram p = Verifier.verify(code, type, VerifierCorpusTest.MAPS, OPTIONS);
            assertThat(p.processedInstructions()).isPositive();
            Statistics.collect("accepted");
        } catch (VerificationException e) {
            assertThat(e.rule()).isNotNull();
            assertThat(e.getMessage()).isNotBlank();
            Statistics.collect(e.rule().name());
        }
    }

    @Provide
    Arbitrary<ProgramType> types() { return Arbitraries.of(ProgramType.XDP, ProgramType.SYSCALL, ProgramType.SCHED_CLS); }
}
