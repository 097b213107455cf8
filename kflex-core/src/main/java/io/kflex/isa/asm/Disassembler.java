package io.kflex.isa.asm;

import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.Operand;
import io.kflex.isa.Size;
import java.util.function.IntFunction;

/**
 * Prints instructions in LLVM's BPF syntax, as {@code llvm-objdump -d --mcpu=v4} (LLVM 19) does:
 * {@code w0 += w1}, {@code r1 = *(u32 *)(r10 - 0x4)}, {@code if r1 > 0x5 goto +0x3}, ... Branch
 * offsets are printed relative ({@code +N}/{@code -N}), without objdump's target annotation.
 *
 * <p>Where LLVM's text is ambiguous it is made exact, so that {@link Assembler} reads back the same
 * bytes: LLVM prints local calls and kfunc calls like helper calls ({@code call -0x1}); here they
 * are {@code call pc-0x1} (the kernel's notation) and {@code call kfunc(0x1e)}. The {@code lddw}
 * pseudo forms, which LLVM prints as plain constants, read {@code r1 = map_fd(0x3) ll},
 * {@code r1 = map_value(0x3, 0x10) ll} and so on.
 */
public final class Disassembler {

    /** How immediates and offsets are written: hexadecimal as LLVM 19 does by default, or decimal. */
    public enum Radix { HEX, DECIMAL }

    private final Radix radix;
    /** Names helper calls ({@code call bpf_map_lookup_elem#1}) when set; null prints the bare number. */
    private final IntFunction<String> helperNames;

    private Disassembler(Radix radix, IntFunction<String> helperNames) {
        this.radix = radix;
        this.helperNames = helperNames;
    }

    private static final Disassembler HEX = new Disassembler(Radix.HEX, null);
    private static final Disassembler DECIMAL = new Disassembler(Radix.DECIMAL, null);

    public static Disassembler of(Radix radix) {
        return radix == Radix.HEX ? HEX : DECIMAL;
    }

    /**
     * This disassembler, but helper calls also name the helper, as Linux's verifier log does
     * ({@code call bpf_map_lookup_elem#1}). Such text is for people: {@link Assembler} does not
     * read it back.
     */
    public Disassembler withHelperNames(IntFunction<String> names) {
        return new Disassembler(radix, java.util.Objects.requireNonNull(names));
    }

    /** One instruction in hexadecimal LLVM syntax. */
    public static String disassemble(Instruction insn) {
        return HEX.format(insn);
    }

    /** A listing of {@code code} with slot indices, like {@code llvm-objdump -d --no-show-raw-insn}. */
    public static String disassemble(Code code) {
        return HEX.listing(code, pc -> null);
    }

    /** One instruction. */
    public String format(Instruction insn) {
        return switch (insn) {
            case Alu a -> alu(a);
            case Endian e -> "r" + e.dst() + " = " + switch (e.kind()) {
                case TO_LE -> "le";
                case TO_BE -> "be";
                case BSWAP -> "bswap";
            } + e.bits() + " r" + e.dst();
            case AddrSpaceCast c -> "r" + c.dst() + " = addr_space_cast(r" + c.src() + ", "
                    + number(c.dstAddressSpace()) + ", " + number(c.srcAddressSpace()) + ")";
            case LoadImm64 l -> l.pseudo() == LoadImm64.PLAIN
                    ? "r" + l.dst() + " = " + number(l.value()) + " ll"
                    : "r" + l.dst() + " = " + LineParser.PSEUDO_NAMES.get(l.pseudo()) + "(" + number(l.imm())
                            + (l.nextImm() != 0 ? ", " + number(l.nextImm()) : "") + ") ll";
            case Load l -> register(l.dst(), !l.signed() && l.size() != Size.DW) + " = *("
                    + (l.signed() ? "s" + l.size().bytes() * 8 : l.size().cType()) + " *)" + address(l.src(), l.off());
            case Store s -> memory(s.size(), s.dst(), s.off()) + " = " + number(s.imm());
            case StoreReg s -> memory(s.size(), s.dst(), s.off()) + " = " + register(s.src(), s.size() != Size.DW);
            case Atomic a -> atomic(a);
            case Jump j -> "if " + register(j.dst(), !j.wide()) + " " + j.op().llvmOperator() + " "
                    + operand(j.src(), !j.wide()) + " goto " + relative(j.off());
            case Goto g -> (g.longForm() ? "gotol " : "goto ") + relative(g.offset());
            case MayGoto m -> "may_goto " + relative(m.off());
            case Call c -> switch (c.kind()) {
                case HELPER -> helperNames == null ? "call " + number(c.imm()) : "call " + helperNames.apply(c.imm()) + "#" + c.imm();
                case LOCAL -> "call pc" + relative(c.imm());
                case KFUNC -> "call kfunc(" + number(c.imm()) + (c.off() != 0 ? ", " + number(c.off()) : "") + ")";
            };
            case CallX c -> "callx r" + c.reg();
            case Exit e -> "exit";
        };
    }

    /**
     * A listing with one line per instruction, {@code "%8d:\t<insn>"} as objdump prints it. Before
     * each instruction, {@code annotator} may supply text for that slot (a source line, say): it
     * is printed as {@code ;}-comment lines, which {@link Assembler} skips.
     */
    public String listing(Code code, IntFunction<String> annotator) {
        StringBuilder out = new StringBuilder();
        for (int pc = 0; pc < code.length(); pc++) {
            Instruction insn = code.at(pc);
            if (insn == null) continue;
            String note = annotator.apply(pc);
            if (note != null) {
                for (String line : note.split("\\R")) out.append("; ").append(line).append('\n');
            }
            out.append(String.format("%8d:\t", pc)).append(format(insn)).append('\n');
        }
        return out.toString();
    }

    private String alu(Alu a) {
        String dst = register(a.dst(), !a.wide());
        return switch (a.op()) {
            case NEG -> dst + " = -" + dst;
            case MOVSX8, MOVSX16, MOVSX32 -> dst + " = (s" + a.op().movSxBits() + ")" + operand(a.src(), !a.wide());
            default -> dst + " " + a.op().llvmOperator() + " " + operand(a.src(), !a.wide());
        };
    }

    private String atomic(Atomic a) {
        boolean narrow = a.size() == Size.W;
        String src = register(a.src(), narrow);
        String bits = narrow ? "32" : "64";
        return switch (a.op()) {
            case XCHG -> src + " = " + (narrow ? "xchg32_32(" : "xchg_64(") + "r" + a.dst() + offset(a.off()) + ", " + src + ")";
            case CMPXCHG -> register(0, narrow) + " = " + (narrow ? "cmpxchg32_32(" : "cmpxchg_64(") + "r" + a.dst() + offset(a.off())
                    + ", " + register(0, narrow) + ", " + src + ")";
            default -> a.fetch()
                    ? src + " = atomic_fetch_" + a.op().mnemonic() + "((u" + bits + " *)" + address(a.dst(), a.off()) + ", " + src + ")"
                    : "lock " + memory(a.size(), a.dst(), a.off()) + " " + lockOperator(a.op()) + " " + src;
        };
    }

    private static String lockOperator(AtomicOp op) {
        return switch (op) {
            case ADD -> "+=";
            case OR -> "|=";
            case AND -> "&=";
            case XOR -> "^=";
            default -> throw new AssertionError(op);
        };
    }

    private String memory(Size size, int base, short off) {
        return "*(" + size.cType() + " *)" + address(base, off);
    }

    private String address(int base, short off) {
        return "(r" + base + offset(off) + ")";
    }

    /** {@code " + 0x4"} / {@code " - 0x4"}, as LLVM writes a base-plus-offset address. */
    private String offset(short off) {
        return off < 0 ? " - " + magnitude(-(long) off) : " + " + magnitude(off);
    }

    private String relative(long off) {
        return off < 0 ? "-" + magnitude(-off) : "+" + magnitude(off);
    }

    private String operand(Operand op, boolean narrow) {
        return switch (op) {
            case Operand.Reg r -> register(r.reg(), narrow);
            case Operand.Imm k -> number(k.value());
        };
    }

    private static String register(int reg, boolean narrow) {
        return (narrow ? "w" : "r") + reg;
    }

    private String number(long value) {
        if (value >= 0) return magnitude(value);
        // Long.MIN_VALUE has no positive counterpart: print its magnitude as unsigned.
        return "-" + (radix == Radix.HEX ? "0x" + Long.toHexString(-value) : Long.toUnsignedString(-value));
    }

    private String magnitude(long value) {
        return radix == Radix.HEX ? "0x" + Long.toHexString(value) : Long.toString(value);
    }
}
