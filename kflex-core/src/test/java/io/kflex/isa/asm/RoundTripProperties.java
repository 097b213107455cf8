package io.kflex.isa.asm;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.isa.Code;
import io.kflex.isa.Encoder;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.Tuple.Tuple2;

/** The disassembler's text assembles back to the same bytes, for every instruction form. */
class RoundTripProperties {

    @Provide
    Arbitrary<Instruction> instructions() {
        return InstructionArbitraries.any();
    }

    @Property(tries = 3000)
    void everyInstructionReadsBackFromHexText(@ForAll("instructions") Instruction insn) throws Exception {
        String text = Disassembler.disassemble(insn);
        assertThat(Assembler.assembleInstruction(text)).as(text).isEqualTo(insn);
    }

    @Property(tries = 1000)
    void everyInstructionReadsBackFromDecimalText(@ForAll("instructions") Instruction insn) throws Exception {
        String text = Disassembler.of(Disassembler.Radix.DECIMAL).format(insn);
        assertThat(Encoder.encode(Assembler.assembleInstruction(text))).as(text).containsExactly(Encoder.encode(insn));
    }

    @Provide
    Arbitrary<List<Tuple2<Instruction, Integer>>> programs() {
        return net.jqwik.api.Combinators.combine(InstructionArbitraries.any(), Arbitraries.integers().between(0, 1000))
                .as(Tuple::of)
                .list().ofMinSize(1).ofMaxSize(60);
    }

    /** Whole programs, with branches retargeted to real instruction starts so they form valid Code. */
    @Property(tries = 300)
    void listingsAssembleToTheSameProgram(@ForAll("programs") List<Tuple2<Instruction, Integer>> body) throws Exception {
        List<Instruction> insns = new ArrayList<>(body.stream().map(Tuple2::get1).toList());
        insns.add(new Exit());
        List<Integer> starts = new ArrayList<>();
        int slot = 0;
        for (Instruction insn : insns) {
            starts.add(slot);
            slot += insn.slots();
        }
        List<Instruction> fixed = new ArrayList<>();
        for (int i = 0; i < insns.size(); i++) {
            int choice = i < body.size() ? body.get(i).get2() : 0;
            int offset = starts.get(Math.floorMod(choice, starts.size())) - starts.get(i) - 1;
            fixed.add(switch (insns.get(i)) {
                case Jump j -> new Jump(j.wide(), j.op(), j.dst(), j.src(), (short) offset);
                case Goto g -> new Goto(offset, g.longForm());
                case MayGoto m -> new MayGoto((short) offset);
                case Call c when c.kind() == CallKind.LOCAL -> Call.local(offset);
                case Instruction other -> other;
            });
        }
        Code code = Code.of(fixed);
        String listing = Disassembler.disassemble(code);
        assertThat(Assembler.assemble(listing).words()).as(listing).containsExactly(code.words());
        String annotated = Disassembler.of(Disassembler.Radix.DECIMAL).listing(code, pc -> pc % 3 == 0 ? "source line " + pc + " # with a comment" : null);
        assertThat(Assembler.assemble(annotated).words()).as(annotated).containsExactly(code.words());
    }
}
