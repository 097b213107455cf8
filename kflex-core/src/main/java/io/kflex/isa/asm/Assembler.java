package io.kflex.isa.asm;

import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.asm.LineParser.Parsed;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Assembles eBPF source text into {@link Code}. Each line holds labels ({@code name:}) and at
 * most one instruction, in either of two syntaxes that may be mixed freely:
 * <ul>
 *   <li>LLVM's BPF syntax, as {@code llvm-objdump} and {@link Disassembler} print it:
 *       {@code w0 += w1}, {@code r1 = *(u32 *)(r10 - 4)}, {@code if r1 s> 5 goto +3},
 *       {@code lock *(u64 *)(r10 - 8) += r1}, {@code r1 = 0x1122334455667788 ll}, ...;</li>
 *   <li>the mnemonic syntax of the bpf_conformance suite: {@code add32 %r0, 1},
 *       {@code ldxdw %r0, [%r1+8]}, {@code lock fetch add [%r10-8], %r1}, {@code jne %r0, 15, label},
 *       {@code call local func}, ...</li>
 * </ul>
 * Comments start with {@code #}, {@code ;} or {@code //}. Branch targets are labels or relative
 * offsets ({@code +3}, {@code -0x2}); as in the conformance suite, the label {@code exit} names the
 * first {@code exit} instruction unless the source defines it. A disassembly listing is accepted
 * as well: a leading slot index ({@code 12:}) and a trailing target annotation ({@code <prog+0x20>})
 * are ignored, so {@code assemble(Disassembler.disassemble(code))} reproduces {@code code}.
 *
 * <p>The result is checked like decoded bytes (the same {@link io.kflex.isa.Decoder} rules and
 * jump-target checks), so whatever assembles also decodes.
 */
public final class Assembler {
    private static final Pattern COMMENT = Pattern.compile("(#|;|//).*$");
    private static final Pattern SLOT_INDEX = Pattern.compile("^\\s*\\d+:");
    private static final Pattern TARGET_ANNOTATION = Pattern.compile("\\s<[^<>\\s]*>\\s*$");

    private Assembler() {}

    /** Assembles a whole program; errors name the 1-based source line. */
    public static Code assemble(String source) throws AssemblyException {
        List<Parsed> parsed = new ArrayList<>();
        Map<String, Integer> labels = new HashMap<>();
        Map<String, Integer> labelLines = new HashMap<>();
        int firstExit = -1;
        int slot = 0;
        String[] lines = source.split("\\R", -1);
        for (int i = 0; i < lines.length; i++) {
            int lineNumber = i + 1;
            LineParser.Line line = parseLine(lines[i], lineNumber);
            for (String label : line.labels()) {
                Integer previous = labelLines.putIfAbsent(label, lineNumber);
                if (previous != null) throw new AssemblyException(lineNumber, "label '" + label + "' is already defined on line " + previous);
                labels.put(label, slot);
            }
            if (line.insn() == null) continue;
            parsed.add(line.insn());
            if (line.insn().insn() instanceof Exit && firstExit < 0) firstExit = slot;
            slot += line.insn().insn().slots();
        }
        if (parsed.isEmpty()) throw new AssemblyException(Math.max(1, lines.length), "no instructions");
        if (firstExit >= 0) labels.putIfAbsent("exit", firstExit);

        List<Instruction> instructions = new ArrayList<>(parsed.size());
        int[] lineOfSlot = new int[slot];
        slot = 0;
        for (Parsed p : parsed) {
            Instruction insn = p.insn();
            if (p.label() != null) {
                Integer target = labels.get(p.label());
                if (target == null) throw new AssemblyException(p.line(), "undefined label '" + p.label() + "'");
                insn = withOffset(insn, target - (slot + 1), p);
            }
            instructions.add(insn);
            for (int s = 0; s < insn.slots(); s++) lineOfSlot[slot + s] = p.line();
            slot += insn.slots();
        }
        try {
            Code code = Code.of(instructions);
            // Decoding the encoding applies every rule the decoder enforces (r10 is read-only,
            // reserved encodings, ...), so assembled programs are exactly the decodable ones.
            return Code.decode(code.words());
        } catch (InvalidInstructionException e) {
            int index = Math.min(Math.max(e.index(), 0), lineOfSlot.length - 1);
            String problem = e.getMessage().replaceFirst("^insn \\d+: ", "");
            throw new AssemblyException(lineOfSlot[index], problem);
        }
    }

    /**
     * Assembles one instruction in either syntax. Branches must use relative offsets, since
     * there are no labels to refer to.
     */
    public static Instruction assembleInstruction(String text) throws AssemblyException {
        LineParser.Line line = parseLine(text, 1);
        if (line.insn() == null || !line.labels().isEmpty()) throw new AssemblyException(1, "expected exactly one instruction");
        if (line.insn().label() != null) throw new AssemblyException(1, "undefined label '" + line.insn().label() + "'");
        return line.insn().insn();
    }

    private static LineParser.Line parseLine(String text, int lineNumber) throws AssemblyException {
        String stripped = COMMENT.matcher(text).replaceFirst("");
        stripped = SLOT_INDEX.matcher(stripped).replaceFirst("");
        stripped = TARGET_ANNOTATION.matcher(stripped).replaceFirst("");
        try {
            return LineParser.parse(Lexer.tokenize(stripped, lineNumber), lineNumber);
        } catch (IllegalArgumentException e) {
            // An operand combination an instruction record refuses.
            throw new AssemblyException(lineNumber, e.getMessage());
        }
    }

    private static Instruction withOffset(Instruction insn, int offset, Parsed p) throws AssemblyException {
        boolean wide = insn instanceof Call || (insn instanceof Goto g && g.longForm());
        if (!wide && (offset < Short.MIN_VALUE || offset > Short.MAX_VALUE)) {
            throw new AssemblyException(p.line(), "label '" + p.label() + "' is " + offset
                    + " slots away, too far for a 16-bit offset" + (insn instanceof Goto ? " (use gotol/ja32)" : ""));
        }
        return switch (insn) {
            case Jump j -> new Jump(j.wide(), j.op(), j.dst(), j.src(), (short) offset);
            case Goto g -> new Goto(offset, g.longForm());
            case MayGoto m -> new MayGoto((short) offset);
            case Call c -> new Call(c.kind(), offset, c.off());
            default -> throw new AssertionError("no branch: " + insn);
        };
    }
}
