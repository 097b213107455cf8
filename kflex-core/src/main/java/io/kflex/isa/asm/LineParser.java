package io.kflex.isa.asm;

import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Operand;
import io.kflex.isa.Registers;
import io.kflex.isa.Size;
import io.kflex.isa.asm.Lexer.Kind;
import io.kflex.isa.asm.Lexer.Token;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Parses the tokens of one source line into label definitions and at most one instruction.
 * Two dialects are accepted, line by line: LLVM's BPF syntax ({@code r0 += w1} is rejected,
 * {@code w0 += w1} is 32-bit) and the mnemonic syntax of the bpf_conformance suite
 * ({@code add32 %r0, %r1}). Branches to labels are returned with offset 0 and the label name, for
 * {@link Assembler} to resolve once every label is known.
 */
final class LineParser {

    /** One instruction as parsed; when {@code label} is set its branch offset is still to be filled in. */
    record Parsed(int line, Instruction insn, String label) {}

    /** The labels defined on a line and its instruction, which may be null. */
    record Line(List<String> labels, Parsed insn) {}

    private record Reg(int num, char style) {
        boolean narrow() { return style == 'w'; }

        String name() { return (style == '%' ? "%r" : String.valueOf(style)) + num; }
    }

    private record Mem(Size size, boolean signed, int reg, short off) {}

    /** A branch target: a relative offset or a label. */
    private record Target(long offset, String label) {}

    private static final Pattern REGISTER = Pattern.compile("(%r|r|w)(\\d+)");
    private static final Pattern LLVM_SWAP = Pattern.compile("(be|le|bswap)(16|32|64)");
    private static final Pattern TYPE = Pattern.compile("([us])(8|16|32|64)");

    private static final Map<String, AluOp> ASSIGN_OPS = Map.ofEntries(
            Map.entry("+=", AluOp.ADD), Map.entry("-=", AluOp.SUB), Map.entry("*=", AluOp.MUL),
            Map.entry("/=", AluOp.DIV), Map.entry("s/=", AluOp.SDIV), Map.entry("|=", AluOp.OR),
            Map.entry("&=", AluOp.AND), Map.entry("<<=", AluOp.LSH), Map.entry(">>=", AluOp.RSH),
            Map.entry("%=", AluOp.MOD), Map.entry("s%=", AluOp.SMOD), Map.entry("^=", AluOp.XOR),
            Map.entry("s>>=", AluOp.ARSH));

    private static final Map<String, JumpOp> COMPARISONS = Map.ofEntries(
            Map.entry("==", JumpOp.JEQ), Map.entry(">", JumpOp.JGT), Map.entry(">=", JumpOp.JGE),
            Map.entry("&", JumpOp.JSET), Map.entry("!=", JumpOp.JNE), Map.entry("s>", JumpOp.JSGT),
            Map.entry("s>=", JumpOp.JSGE), Map.entry("<", JumpOp.JLT), Map.entry("<=", JumpOp.JLE),
            Map.entry("s<", JumpOp.JSLT), Map.entry("s<=", JumpOp.JSLE));

    private static final Map<String, AtomicOp> LOCK_OPS = Map.of(
            "+=", AtomicOp.ADD, "|=", AtomicOp.OR, "&=", AtomicOp.AND, "^=", AtomicOp.XOR);

    /** Names of the {@code lddw} pseudo sources, as the disassembler prints them. */
    static final List<String> PSEUDO_NAMES = java.util.stream.IntStream.rangeClosed(0, LoadImm64.MAP_IDX_VALUE).mapToObj(LoadImm64::pseudoName).toList();

    private static final BigInteger MIN_S32 = BigInteger.valueOf(Integer.MIN_VALUE);
    private static final BigInteger MAX_U32 = BigInteger.valueOf(0xffffffffL);
    private static final BigInteger MIN_S64 = BigInteger.valueOf(Long.MIN_VALUE);
    private static final BigInteger MAX_U64 = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private final List<Token> tokens;
    private final int line;
    private int pos;

    private LineParser(List<Token> tokens, int line) {
        this.tokens = tokens;
        this.line = line;
    }

    static Line parse(List<Token> tokens, int line) throws AssemblyException {
        return new LineParser(tokens, line).line();
    }

    private Line line() throws AssemblyException {
        List<String> labels = new ArrayList<>();
        while (pos + 1 < tokens.size() && tokens.get(pos).kind() == Kind.WORD && tokens.get(pos + 1).is(":")) {
            labels.add(tokens.get(pos).text());
            pos += 2;
        }
        if (atEnd()) return new Line(labels, null);
        Parsed insn = statement();
        if (!atEnd()) throw error("unexpected '" + peek() + "' after the instruction");
        return new Line(labels, insn);
    }

    // ---------------------------------------------------------------- dispatch

    private Parsed statement() throws AssemblyException {
        Token first = peek();
        if (first.kind() != Kind.WORD) {
            if (first.is("*")) return store();
            throw error("expected an instruction, found '" + first + "'");
        }
        String word = first.text();
        if (isRegister(first) && pos + 1 < tokens.size() && tokens.get(pos + 1).kind() == Kind.OP) {
            return assignment();
        }
        return switch (word) {
            case "if" -> conditionalJump();
            case "goto", "ja" -> { next(); yield shortGoto(); }
            case "gotol", "ja32" -> { next(); Target t = target(32); yield branch(new Goto((int) t.offset(), true), t); }
            case "may_goto" -> { next(); Target t = target(16); yield branch(new MayGoto((short) t.offset()), t); }
            case "exit" -> { next(); yield plain(new Exit()); }
            case "call" -> { next(); yield call(); }
            case "callx" -> { next(); yield plain(new CallX(register().num())); }
            case "lock" -> { next(); yield peekIs("*") ? llvmLock() : mnemonicLock(); }
            default -> mnemonic();
        };
    }

    // ---------------------------------------------------------------- LLVM syntax

    /** Every LLVM form that starts with {@code dst =} or {@code dst op=}. */
    private Parsed assignment() throws AssemblyException {
        Reg dst = register();
        Token op = next();
        AluOp aluOp = ASSIGN_OPS.get(op.text());
        if (aluOp != null) {
            return plain(new Alu(!dst.narrow(), aluOp, dst.num(), source(dst)));
        }
        if (!op.is("=")) throw error("expected '=' or an assignment operator after " + dst.name() + ", found '" + op + "'");
        if (peekIs("*")) return load(dst);
        if (peekIs("(")) return signExtendingMove(dst);
        if (peekIs("-") && pos + 1 < tokens.size() && isRegister(tokens.get(pos + 1))) {
            next();
            Reg src = register();
            requireSame(dst, src, "neg");
            return plain(new Alu(!dst.narrow(), AluOp.NEG, dst.num(), new Operand.Imm(0)));
        }
        if (peek().kind() == Kind.WORD && !isRegister(peek())) {
            String fn = next().text();
            return switch (fn) {
                case "addr_space_cast" -> addrSpaceCast(dst);
                case "xchg_64", "xchg32_32" -> xchg(dst, fn);
                case "cmpxchg_64", "cmpxchg32_32" -> cmpxchg(dst, fn);
                default -> {
                    if (fn.startsWith("atomic_fetch_")) yield atomicFetch(dst, fn);
                    int pseudo = PSEUDO_NAMES.indexOf(fn);
                    if (pseudo > 0) yield pseudoLoad(dst, pseudo);
                    Matcher swap = LLVM_SWAP.matcher(fn);
                    if (swap.matches()) yield byteSwap(dst, swap.group(1), Integer.parseInt(swap.group(2)));
                    throw error("unknown operation '" + fn + "'");
                }
            };
        }
        if (isRegister(peek())) {
            Reg src = register();
            requireWidth(dst, src);
            return plain(new Alu(!dst.narrow(), AluOp.MOV, dst.num(), new Operand.Reg(src.num())));
        }
        BigInteger value = number();
        if (peekIs("ll")) {
            next();
            if (dst.narrow()) throw error("a 64-bit immediate load needs an r register, not " + dst.name());
            return plain(LoadImm64.of(dst.num(), imm64(value)));
        }
        return plain(new Alu(!dst.narrow(), AluOp.MOV, dst.num(), new Operand.Imm(imm32(value))));
    }

    private Operand source(Reg dst) throws AssemblyException {
        if (isRegister(peek())) {
            Reg src = register();
            requireWidth(dst, src);
            return new Operand.Reg(src.num());
        }
        return new Operand.Imm(imm32(number()));
    }

    /** {@code r0 = (s8)r1}: a sign-extending move. */
    private Parsed signExtendingMove(Reg dst) throws AssemblyException {
        expect("(");
        Token type = next();
        Matcher m = TYPE.matcher(type.text());
        if (!m.matches() || !m.group(1).equals("s") || m.group(2).equals("64")) {
            throw error("expected (s8), (s16) or (s32), found '(" + type + "'");
        }
        expect(")");
        Reg src = register();
        requireWidth(dst, src);
        AluOp op = switch (m.group(2)) {
            case "8" -> AluOp.MOVSX8;
            case "16" -> AluOp.MOVSX16;
            default -> AluOp.MOVSX32;
        };
        if (op == AluOp.MOVSX32 && dst.narrow()) throw error("(s32) sign extension needs r registers");
        return plain(new Alu(!dst.narrow(), op, dst.num(), new Operand.Reg(src.num())));
    }

    private Parsed byteSwap(Reg dst, String kind, int bits) throws AssemblyException {
        Reg src = register();
        if (src.num() != dst.num()) throw error(kind + bits + " converts a register in place: " + dst.name() + " = " + kind + bits + " " + dst.name());
        ByteSwap swap = switch (kind) {
            case "be" -> ByteSwap.TO_BE;
            case "le" -> ByteSwap.TO_LE;
            default -> ByteSwap.BSWAP;
        };
        return plain(new Endian(swap, bits, dst.num()));
    }

    /** {@code r1 = addr_space_cast(r2, dst_as, src_as)}. */
    private Parsed addrSpaceCast(Reg dst) throws AssemblyException {
        expect("(");
        Reg src = register();
        expect(",");
        int dstAs = imm32(number());
        expect(",");
        int srcAs = imm32(number());
        expect(")");
        if (dstAs < 0 || dstAs > 0xffff || srcAs < 0 || srcAs > 0xffff) throw error("address spaces are 16-bit numbers");
        return plain(new AddrSpaceCast(dst.num(), src.num(), dstAs, srcAs));
    }

    /** The numbers of an argument list {@code (a)} or {@code (a, b)}; {@code second} is null for one. */
    private record Arguments(BigInteger first, BigInteger second) {}

    private Arguments oneOrTwoArguments() throws AssemblyException {
        expect("(");
        BigInteger first = number(), second = null;
        if (peekIs(",")) {
            next();
            second = number();
        }
        expect(")");
        return new Arguments(first, second);
    }

    /** {@code r1 = map_value(fd, offset) ll} and the other {@code lddw} pseudo forms. */
    private Parsed pseudoLoad(Reg dst, int pseudo) throws AssemblyException {
        Arguments args = oneOrTwoArguments();
        int imm = imm32(args.first());
        int next = args.second() == null ? 0 : imm32(args.second());
        expect("ll");
        if (dst.narrow()) throw error("a 64-bit immediate load needs an r register, not " + dst.name());
        return plain(new LoadImm64(dst.num(), pseudo, imm, next));
    }

    private Parsed load(Reg dst) throws AssemblyException {
        Mem mem = llvmMemory();
        if (mem.signed() && dst.narrow()) throw error("a sign-extending load writes all 64 bits: use r" + dst.num());
        if (mem.size() == Size.DW && dst.narrow()) throw error("a 64-bit load needs an r register, not " + dst.name());
        return plain(new Load(mem.size(), mem.signed(), dst.num(), mem.reg(), mem.off()));
    }

    private Parsed store() throws AssemblyException {
        Mem mem = llvmMemory();
        if (mem.signed()) throw error("stores take an unsigned type (u8, u16, u32, u64)");
        expect("=");
        if (isRegister(peek())) {
            Reg src = register();
            if (mem.size() == Size.DW && src.narrow()) throw error("a 64-bit store needs an r register, not " + src.name());
            return plain(new StoreReg(mem.size(), mem.reg(), src.num(), mem.off()));
        }
        return plain(new Store(mem.size(), mem.reg(), mem.off(), imm32(number())));
    }

    /** {@code lock *(u64 *)(r10 - 8) += r1}. */
    private Parsed llvmLock() throws AssemblyException {
        Mem mem = llvmMemory();
        Size size = atomicSize(mem);
        Token op = next();
        AtomicOp atomicOp = LOCK_OPS.get(op.text());
        if (atomicOp == null) throw error("expected +=, |=, &= or ^= after lock, found '" + op + "'");
        Reg src = register();
        // LLVM releases before 19 print the 32-bit form with an r register; both spellings mean the same.
        if (size == Size.DW && src.narrow()) throw error("a 64-bit atomic needs an r register, not " + src.name());
        return plain(new Atomic(size, atomicOp, false, mem.reg(), src.num(), mem.off()));
    }

    /** {@code r1 = atomic_fetch_add((u64 *)(r10 - 8), r1)}. */
    private Parsed atomicFetch(Reg dst, String fn) throws AssemblyException {
        AtomicOp op = switch (fn.substring("atomic_fetch_".length())) {
            case "add" -> AtomicOp.ADD;
            case "or" -> AtomicOp.OR;
            case "and" -> AtomicOp.AND;
            case "xor" -> AtomicOp.XOR;
            default -> throw error("unknown operation '" + fn + "'");
        };
        expect("(");
        Mem mem = llvmPointer();
        Size size = atomicSize(mem);
        expect(",");
        Reg src = register();
        expect(")");
        requireSame(dst, src, fn);
        requireAtomicWidth(dst, size);
        return plain(new Atomic(size, op, true, mem.reg(), src.num(), mem.off()));
    }

    /** {@code r1 = xchg_64(r10 - 8, r1)} and {@code w1 = xchg32_32(r10 - 8, w1)}. */
    private Parsed xchg(Reg dst, String fn) throws AssemblyException {
        Size size = fn.equals("xchg_64") ? Size.DW : Size.W;
        expect("(");
        Reg base = register();
        short off = optionalOffset();
        expect(",");
        Reg src = register();
        expect(")");
        requireSame(dst, src, fn);
        requireAtomicWidth(dst, size);
        return plain(new Atomic(size, AtomicOp.XCHG, true, base.num(), src.num(), off));
    }

    /** {@code r0 = cmpxchg_64(r10 - 8, r0, r1)}: r0 is both the expected and the returned value. */
    private Parsed cmpxchg(Reg dst, String fn) throws AssemblyException {
        Size size = fn.equals("cmpxchg_64") ? Size.DW : Size.W;
        expect("(");
        Reg base = register();
        short off = optionalOffset();
        expect(",");
        Reg expected = register();
        expect(",");
        Reg src = register();
        expect(")");
        if (dst.num() != 0 || expected.num() != 0) throw error(fn + " compares with and returns r0: r0 = " + fn + "(ptr, r0, src)");
        requireAtomicWidth(dst, size);
        requireAtomicWidth(expected, size);
        requireAtomicWidth(src, size);
        return plain(new Atomic(size, AtomicOp.CMPXCHG, true, base.num(), src.num(), off));
    }

    /** {@code *(u32 *)(r1 + 4)}; the offset may be left out. */
    private Mem llvmMemory() throws AssemblyException {
        expect("*");
        return llvmPointer();
    }

    /** {@code (u32 *)(r1 + 4)}: a typed pointer, the operand of the atomic_fetch functions. */
    private Mem llvmPointer() throws AssemblyException {
        expect("(");
        Token type = next();
        Matcher m = TYPE.matcher(type.text());
        if (!m.matches()) throw error("expected a type such as u32, found '" + type + "'");
        expect("*");
        expect(")");
        expect("(");
        Reg base = register();
        short off = optionalOffset();
        expect(")");
        boolean signed = m.group(1).equals("s");
        Size size = Size.ofBytes(Integer.parseInt(m.group(2)) / 8);
        if (signed && size == Size.DW) throw error("there is no s64 access; use u64");
        if (base.narrow()) throw error("an address is a 64-bit register: use r" + base.num());
        return new Mem(size, signed, base.num(), off);
    }

    private short optionalOffset() throws AssemblyException {
        if (!peekIs("+") && !peekIs("-")) return 0;
        return off16(number());
    }

    private Parsed conditionalJump() throws AssemblyException {
        next();
        Reg dst = register();
        Token op = next();
        JumpOp jumpOp = COMPARISONS.get(op.text());
        if (jumpOp == null) throw error("expected a comparison after " + dst.name() + ", found '" + op + "'");
        Operand src = source(dst);
        expect("goto");
        Target t = target(16);
        return branch(new Jump(!dst.narrow(), jumpOp, dst.num(), src, (short) t.offset()), t);
    }

    private Parsed shortGoto() throws AssemblyException {
        Target t = target(16);
        return branch(new Goto((int) t.offset(), false), t);
    }

    /**
     * {@code call 5} (helper), {@code call %r2} (callx), {@code call local L}, {@code call pc+3},
     * {@code call L} (local), {@code call helper 5}, {@code call runtime 7} and {@code call kfunc(7)}.
     */
    private Parsed call() throws AssemblyException {
        Token t = peek();
        if (t.kind() == Kind.NUMBER || t.is("-") || t.is("+")) return plain(Call.helper(imm32(number())));
        if (isRegister(t)) return plain(new CallX(register().num()));
        if (t.kind() != Kind.WORD) throw error("expected a call target, found '" + t + "'");
        switch (t.text()) {
            case "local" -> {
                next();
                Target target = target(32);
                return branch(Call.local((int) target.offset()), target);
            }
            case "pc" -> {
                next();
                if (!peekIs("+") && !peekIs("-")) throw error("expected pc+N or pc-N");
                return plain(Call.local(imm32Signed(number())));
            }
            case "helper" -> {
                next();
                return plain(Call.helper(imm32(number())));
            }
            case "runtime" -> {
                next();
                return plain(Call.kfunc(imm32(number())));
            }
            case "kfunc" -> {
                next();
                Arguments args = oneOrTwoArguments();
                short off = args.second() == null ? 0 : off16(args.second());
                return plain(new Call(CallKind.KFUNC, imm32(args.first()), off));
            }
            default -> {
                next();
                return branch(Call.local(0), new Target(0, t.text()));
            }
        }
    }

    // ---------------------------------------------------------------- conformance mnemonics

    private static final Pattern ALU_MNEMONIC = Pattern.compile("(add|sub|mul|div|sdiv|or|and|lsh|rsh|neg|mod|smod|xor|mov|arsh)(32|64)?");
    private static final Pattern MOVSX_MNEMONIC = Pattern.compile("movsx(8|16|32)(32|64)?");
    private static final Pattern SWAP_MNEMONIC = Pattern.compile("(be|le|swap|bswap)(16|32|64)");
    private static final Pattern JUMP_MNEMONIC = Pattern.compile("(jeq|jgt|jge|jset|jne|jsgt|jsge|jlt|jle|jslt|jsle)(32)?");
    private static final Pattern LOAD_MNEMONIC = Pattern.compile("ldx(s?)(b|h|w|dw)");
    private static final Pattern STORE_MNEMONIC = Pattern.compile("st(x?)(b|h|w|dw)");

    private Parsed mnemonic() throws AssemblyException {
        String m = next().text();
        Matcher matcher;
        if ((matcher = ALU_MNEMONIC.matcher(m)).matches()) {
            AluOp op = AluOp.valueOf(matcher.group(1).toUpperCase(java.util.Locale.ROOT));
            boolean wide = !"32".equals(matcher.group(2));
            Reg dst = register();
            if (op == AluOp.NEG) return plain(new Alu(wide, op, dst.num(), new Operand.Imm(0)));
            expect(",");
            return plain(new Alu(wide, op, dst.num(), mnemonicSource()));
        }
        if ((matcher = MOVSX_MNEMONIC.matcher(m)).matches()) {
            AluOp op = switch (matcher.group(1)) {
                case "8" -> AluOp.MOVSX8;
                case "16" -> AluOp.MOVSX16;
                default -> AluOp.MOVSX32;
            };
            boolean wide = !"32".equals(matcher.group(2));
            if (op == AluOp.MOVSX32 && !wide) throw error("movsx32 is a 64-bit operation (movsx3264)");
            Reg dst = register();
            expect(",");
            Reg src = register();
            return plain(new Alu(wide, op, dst.num(), new Operand.Reg(src.num())));
        }
        if ((matcher = SWAP_MNEMONIC.matcher(m)).matches()) {
            ByteSwap kind = switch (matcher.group(1)) {
                case "be" -> ByteSwap.TO_BE;
                case "le" -> ByteSwap.TO_LE;
                default -> ByteSwap.BSWAP;
            };
            return plain(new Endian(kind, Integer.parseInt(matcher.group(2)), register().num()));
        }
        if ((matcher = JUMP_MNEMONIC.matcher(m)).matches()) {
            JumpOp op = JumpOp.valueOf(matcher.group(1).toUpperCase(java.util.Locale.ROOT));
            Reg dst = register();
            expect(",");
            Operand src = mnemonicSource();
            expect(",");
            Target t = target(16);
            return branch(new Jump(matcher.group(2) == null, op, dst.num(), src, (short) t.offset()), t);
        }
        if ((matcher = LOAD_MNEMONIC.matcher(m)).matches()) {
            boolean signed = !matcher.group(1).isEmpty();
            Size size = sizeOf(matcher.group(2));
            if (signed && size == Size.DW) throw error("there is no ldxsdw; ldxdw loads all 64 bits");
            Reg dst = register();
            expect(",");
            Mem mem = bracketMemory(size);
            return plain(new Load(size, signed, dst.num(), mem.reg(), mem.off()));
        }
        if ((matcher = STORE_MNEMONIC.matcher(m)).matches()) {
            Size size = sizeOf(matcher.group(2));
            Mem mem = bracketMemory(size);
            expect(",");
            if (!matcher.group(1).isEmpty()) return plain(new StoreReg(size, mem.reg(), register().num(), mem.off()));
            return plain(new Store(size, mem.reg(), mem.off(), imm32(number())));
        }
        if (m.equals("lddw")) {
            Reg dst = register();
            expect(",");
            return plain(LoadImm64.of(dst.num(), imm64(number())));
        }
        throw new AssemblyException(line, "unknown mnemonic '" + m + "'");
    }

    private Operand mnemonicSource() throws AssemblyException {
        if (isRegister(peek())) return new Operand.Reg(register().num());
        return new Operand.Imm(imm32(number()));
    }

    /** {@code lock [fetch] add[32] [%r10-8], %r1}; also {@code lock fetch_add ...}. */
    private Parsed mnemonicLock() throws AssemblyException {
        boolean fetch = false;
        if (peekIs("fetch")) {
            next();
            fetch = true;
        }
        String name = expectWord("an atomic operation");
        if (name.startsWith("fetch_")) {
            fetch = true;
            name = name.substring("fetch_".length());
        }
        Size size = Size.DW;
        if (name.endsWith("32")) {
            size = Size.W;
            name = name.substring(0, name.length() - 2);
        } else if (name.endsWith("64")) {
            name = name.substring(0, name.length() - 2);
        }
        AtomicOp op = switch (name) {
            case "add" -> AtomicOp.ADD;
            case "or" -> AtomicOp.OR;
            case "and" -> AtomicOp.AND;
            case "xor" -> AtomicOp.XOR;
            case "xchg" -> AtomicOp.XCHG;
            case "cmpxchg" -> AtomicOp.CMPXCHG;
            default -> throw error("unknown atomic operation '" + name + "'");
        };
        Mem mem = bracketMemory(size);
        expect(",");
        Reg src = register();
        return plain(new Atomic(size, op, fetch || op.alwaysFetches(), mem.reg(), src.num(), mem.off()));
    }

    /** {@code [%r1+2]}, {@code [%r10-8]} or {@code [%r1]}. */
    private Mem bracketMemory(Size size) throws AssemblyException {
        expect("[");
        Reg base = register();
        short off = optionalOffset();
        expect("]");
        if (base.narrow()) throw error("an address is a 64-bit register: use r" + base.num());
        return new Mem(size, false, base.num(), off);
    }

    private static Size sizeOf(String suffix) {
        return switch (suffix) {
            case "b" -> Size.B;
            case "h" -> Size.H;
            case "w" -> Size.W;
            default -> Size.DW;
        };
    }

    // ---------------------------------------------------------------- operands

    private static boolean isRegister(Token t) {
        return t.kind() == Kind.WORD && REGISTER.matcher(t.text()).matches();
    }

    private Reg register() throws AssemblyException {
        Token t = next();
        Matcher m = REGISTER.matcher(t.text());
        if (t.kind() != Kind.WORD || !m.matches()) throw error("expected a register, found '" + t + "'");
        String digits = m.group(2);
        if (digits.length() > 2 || Integer.parseInt(digits) > Registers.FP) throw error("invalid register '" + t + "' (r0 to r10)");
        char style = m.group(1).equals("%r") ? '%' : m.group(1).charAt(0);
        return new Reg(Integer.parseInt(digits), style);
    }

    private void requireWidth(Reg dst, Reg src) throws AssemblyException {
        if (dst.narrow() != src.narrow() && src.style() != '%' && dst.style() != '%') {
            throw error("operands of different widths: " + dst.name() + " and " + src.name() + " (use r for 64-bit, w for 32-bit)");
        }
    }

    private void requireSame(Reg dst, Reg src, String what) throws AssemblyException {
        if (dst.num() != src.num() || dst.narrow() != src.narrow()) {
            throw error(what + " writes back to its operand: " + dst.name() + " and " + src.name() + " must be the same register");
        }
    }

    private void requireAtomicWidth(Reg reg, Size size) throws AssemblyException {
        if ((size == Size.W) != reg.narrow()) {
            throw error((size == Size.W ? "a 32-bit atomic uses w registers, not " : "a 64-bit atomic uses r registers, not ") + reg.name());
        }
    }

    private Size atomicSize(Mem mem) throws AssemblyException {
        if (mem.signed() || (mem.size() != Size.W && mem.size() != Size.DW)) throw error("atomic operations are on u32 or u64");
        return mem.size();
    }

    /** A label, or a relative offset that must fit a signed field of {@code bits} bits. */
    private Target target(int bits) throws AssemblyException {
        Token t = peek();
        if (t.is("+") || t.is("-")) {
            BigInteger offset = number();
            if (offset.bitLength() > bits - 1) throw error("branch offset " + offset + " out of range for " + bits + " bits");
            return new Target(offset.longValue(), null);
        }
        if (t.kind() == Kind.WORD && !isRegister(t)) {
            next();
            return new Target(0, t.text());
        }
        throw error("expected a label or a relative offset such as +3, found '" + t + "'");
    }

    private Parsed branch(Instruction insn, Target t) {
        return new Parsed(line, insn, t.label());
    }

    private Parsed plain(Instruction insn) {
        return new Parsed(line, insn, null);
    }

    /** A number with an optional sign: decimal or 0x-prefixed hexadecimal. */
    private BigInteger number() throws AssemblyException {
        boolean negative = false;
        if (peekIs("-") || peekIs("+")) negative = next().is("-");
        Token t = next();
        if (t.kind() != Kind.NUMBER) throw error("expected a number, found '" + t + "'");
        String text = t.text().toLowerCase(java.util.Locale.ROOT);
        BigInteger value;
        try {
            value = text.startsWith("0x") ? new BigInteger(text.substring(2), 16) : new BigInteger(text, 10);
        } catch (NumberFormatException e) {
            throw error("invalid number '" + t + "'");
        }
        return negative ? value.negate() : value;
    }

    /** A 32-bit immediate, given signed or as its unsigned bit pattern ({@code 0xffffffff} is -1). */
    private int imm32(BigInteger v) throws AssemblyException {
        if (v.compareTo(MIN_S32) < 0 || v.compareTo(MAX_U32) > 0) throw error("immediate " + v + " out of range for 32 bits");
        return v.intValue();
    }

    private int imm32Signed(BigInteger v) throws AssemblyException {
        if (v.bitLength() > 31) throw error("offset " + v + " out of range for 32 bits");
        return v.intValue();
    }

    private long imm64(BigInteger v) throws AssemblyException {
        if (v.compareTo(MIN_S64) < 0 || v.compareTo(MAX_U64) > 0) throw error("immediate " + v + " out of range for 64 bits");
        return v.longValue();
    }

    private short off16(BigInteger v) throws AssemblyException {
        if (v.bitLength() > 15) throw error("offset " + v + " out of range for 16 bits");
        return v.shortValue();
    }

    // ---------------------------------------------------------------- cursor

    private boolean atEnd() { return pos >= tokens.size(); }

    private Token peek() throws AssemblyException {
        if (atEnd()) throw error("unexpected end of line");
        return tokens.get(pos);
    }

    private boolean peekIs(String text) { return !atEnd() && tokens.get(pos).is(text); }

    private Token next() throws AssemblyException {
        Token t = peek();
        pos++;
        return t;
    }

    private void expect(String text) throws AssemblyException {
        if (atEnd()) throw error("expected '" + text + "' at the end of the line");
        Token t = next();
        if (!t.is(text)) throw error("expected '" + text + "', found '" + t + "'");
    }

    private String expectWord(String what) throws AssemblyException {
        Token t = next();
        if (t.kind() != Kind.WORD) throw error("expected " + what + ", found '" + t + "'");
        return t.text();
    }

    private AssemblyException error(String problem) {
        return new AssemblyException(line, problem);
    }
}
