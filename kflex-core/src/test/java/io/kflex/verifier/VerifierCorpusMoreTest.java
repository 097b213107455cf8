package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static io.kflex.verifier.VerifierCorpusTest.*;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.helpers.Kfuncs;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction.AddrSpaceCast;
import io.kflex.isa.Instruction.Goto;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The second half of the PREVAIL-style corpus ({@link VerifierCorpusTest} has the first): by
 * theme — registers and ALU, stack and spills, contexts of several program types, packets and
 * {@code bpf_xdp_adjust_head}, maps (maps of maps, {@code .rodata}, variable offsets), helper
 * arguments, references (sockets, ring-buffer records, tail calls), locks, callbacks
 * ({@code bpf_loop}, {@code bpf_for_each_map_elem}), control flow, return ranges per program
 * type, {@code callx}, loops, the heap and kfuncs, and the complexity limits. Same maps and
 * helpers as the first half.
 */
class VerifierCorpusMoreTest {

    static final int DELETE = 3, PRINTK = 6, SK_LOOKUP_UDP = 85, POP = 88, FOR_EACH = 164;
    static final ProgramType XDP = ProgramType.XDP, SYSCALL = ProgramType.SYSCALL, TC = ProgramType.SCHED_CLS;

    private final List<Case> cases = new ArrayList<>();
    private VerifierOptions nextOptions;

    private void accept(String name, ProgramType type, Consumer<Asm> program) { add(name, type, program, null); }

    private void reject(String name, ProgramType type, Rule rule, Consumer<Asm> program) { add(name, type, program, rule); }

    private void add(String name, ProgramType type, Consumer<Asm> program, Rule rule) {
        Asm a = new Asm();
        program.accept(a);
        cases.add(new Case(name, type, a.build(), rule, nextOptions));
        nextOptions = null;
    }

    /** A case verified with other options than the corpus default. */
    record Case(String name, ProgramType type, Code code, Rule expected, VerifierOptions options) {}

    /** {@code r0 = ringbuf_reserve(events, size, 0)}. */
    static Asm reserve(Asm a, int size) { return a.ldMap(1, RINGBUF).mov(2, size).mov(3, 0).call(RB_RESERVE); }

    /** r2 = data, r3 = data_end of a {@code __sk_buff} in r1. */
    static Asm skbPacket(Asm a) { return a.ldxw(2, 1, 76).ldxw(3, 1, 80); }

    /** A chain main → f1 → … → f{depth}; the last one runs {@code leaf}. */
    static Asm chain(Asm a, int depth, Consumer<Asm> leaf) {
        a.callLocal("f1").exit();
        for (int i = 1; i <= depth; i++) {
            a.label("f" + i);
            if (i < depth) a.callLocal("f" + (i + 1)).exit();
            else leaf.accept(a);
        }
        return a;
    }

    static io.kflex.isa.Instruction kfunc(int id) { return io.kflex.isa.Instruction.Call.kfunc(id); }

    @TestFactory
    Stream<DynamicTest> corpus() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> check(c)));
    }

    List<Case> cases() {
        registersAndAlu();
        stackAndSpills();
        contexts();
        packets();
        maps();
        helpers();
        references();
        locks();
        callbacks();
        controlFlow();
        returnRanges();
        callx();
        loops();
        heapAndKfuncs();
        limits();
        return cases;
    }

    private void registersAndAlu() {
        reject("add with an uninitialised source", SYSCALL, Rule.UNINIT_REGISTER, a -> a.mov(0, 1).addr(0, 3).exit());
        reject("store of an uninitialised register", SYSCALL, Rule.UNINIT_REGISTER, a -> a.stxdw(10, -8, 4).ret(0));
        reject("branch on an uninitialised register", SYSCALL, Rule.UNINIT_REGISTER, a -> a.jmp(JEQ, 5, 0, "x").label("x").ret(0));
        reject("load through an uninitialised base", SYSCALL, Rule.UNINIT_REGISTER, a -> a.ldxdw(0, 7, 0).exit());
        accept("division and modulo by zero are defined", SYSCALL, a -> a.mov(0, 5).mov(1, 0).alur(AluOp.DIV, 0, 1).alur(AluOp.MOD, 0, 1).exit());
        accept("32-bit move zero-extends", XDP, a -> a.lddw(0, -1L).mov32r(0, 0).jmp(JGT, 0, 0, "big").ret(0).label("big").ret(1));
        reject("dividing a pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.movr(0, 10).alu(AluOp.DIV, 0, 2).ret(0));
        reject("32-bit add on a stack pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.movr(1, 10).alu32(AluOp.ADD, 1, -8).ret(0));
        reject("scalar minus pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.mov(0, 0).alur(AluOp.SUB, 0, 10).ret(0));
        reject("pointer plus pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.movr(1, 10).addr(1, 10).ret(0));
        reject("arithmetic on a map pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.ldMap(1, HASH).add(1, 8).ret(0));
        reject("arithmetic on a possibly-NULL ring buffer record", XDP, Rule.POINTER_ARITHMETIC, a -> reserve(a, 16).add(0, 4).ret(0));
        reject("packet_end minus a constant", XDP, Rule.POINTER_ARITHMETIC, a -> xdpPacket(a).sub(3, 1).ret(0));
        reject("bitwise and on the context pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.and(1, -8).ret(0));
        reject("negating a pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.movr(2, 10).alu(AluOp.NEG, 2, 0).ret(0));
        reject("32-bit copy of the frame pointer", SYSCALL, Rule.POINTER_LEAK, a -> a.mov32r(0, 10).ret(0));
        accept("stack pointer difference used as a number", SYSCALL, a -> a.movr(1, 10).add(1, -16).movr(0, 10).alur(AluOp.SUB, 0, 1).add(0, 1).exit());
        reject("difference of unrelated pointers", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.movr(0, 10).alur(AluOp.SUB, 0, 1).ret(0));
        reject("returning the frame pointer", SYSCALL, Rule.POINTER_LEAK, a -> a.movr(0, 10).exit());
        reject("returning the context", SYSCALL, Rule.POINTER_LEAK, a -> a.movr(0, 1).exit());
        reject("pointer compared with a non-zero constant", SYSCALL, Rule.POINTER_LEAK, a -> a.jmp(JEQ, 1, 5, "x").label("x").ret(0));
        reject("bit test of a pointer", SYSCALL, Rule.POINTER_LEAK, a -> a.jmp(JSET, 10, 1, "x").label("x").ret(0));
        reject("32-bit comparison of a pointer", SYSCALL, Rule.POINTER_LEAK, a -> a.jmp32(JEQ, 1, 0, "x").label("x").ret(0));
        reject("comparison of unrelated pointers", SYSCALL, Rule.POINTER_LEAK, a -> a.jmpr(JEQ, 1, 10, "x").label("x").ret(0));
        accept("comparison of two stack pointers", SYSCALL, a -> a.movr(2, 10).add(2, -8).jmpr(JGT, 2, 10, "x").label("x").ret(0));
        accept("copy of r10 as a base register", SYSCALL, a -> a.movr(1, 10).stdw(1, -8, 0).ldxdw(0, 1, -8).exit());
    }

    private void stackAndSpills() {
        reject("byte just past a written word", SYSCALL, Rule.UNINIT_STACK, a -> a.stw(10, -8, 1).ldxb(0, 10, -4).exit());
        reject("variable-offset read over an uninitialised slot", SYSCALL, Rule.UNINIT_STACK, a -> a.stdw(10, -16, 0)
                .call(PRANDOM).and(0, 1).lsh(0, 3).movr(1, 10).add(1, -16).addr(1, 0).ldxdw(0, 1, 0).exit());
        accept("variable-offset read over initialised slots", SYSCALL, a -> a.stdw(10, -16, 0).stdw(10, -8, 0)
                .call(PRANDOM).and(0, 1).lsh(0, 3).movr(1, 10).add(1, -16).addr(1, 0).ldxdw(0, 1, 0).exit());
        reject("misaligned 8-byte stack store", SYSCALL, Rule.MISALIGNED, a -> a.stdw(10, -12, 0).ret(0));
        reject("misaligned halfword stack load", SYSCALL, Rule.MISALIGNED, a -> a.stdw(10, -8, 0).ldx(Size.H, 0, 10, -3).exit());
        reject("variable stack offset not a multiple of the size", SYSCALL, Rule.MISALIGNED, a -> a.stdw(10, -16, 0).stdw(10, -8, 0)
                .call(PRANDOM).and(0, 7).movr(1, 10).add(1, -16).addr(1, 0).ldxdw(0, 1, 0).exit());
        reject("stack byte below the frame", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.ldxb(0, 10, -513).exit());
        reject("stack pointer moved below the frame", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.movr(1, 10).add(1, -600).stdw(1, 0, 0).ret(0));
        accept("spilled map value pointer keeps its bounds", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").stxdw(10, -16, 0)
                .ldxdw(1, 10, -16).ldxdw(2, 1, 56).label("out").ret(0));
        accept("spilled NULL-able pointer refined through its register", XDP, a -> lookup(a, HASH).stxdw(10, -16, 0).jmp(JEQ, 0, 0, "out")
                .ldxdw(1, 10, -16).ldxdw(2, 1, 8).label("out").ret(0));
        reject("spilled NULL-able pointer used without a check", XDP, Rule.INVALID_ACCESS, a -> lookup(a, HASH).stxdw(10, -16, 0)
                .ldxdw(1, 10, -16).ldxdw(2, 1, 0).ret(0));
        reject("partially overwritten spilled pointer is unreadable", SYSCALL, Rule.UNINIT_STACK, a -> a.stxdw(10, -8, 1).stw(10, -8, 0)
                .ldxdw(0, 10, -8).exit());
        reject("spilled pointer passed as helper memory", SYSCALL, Rule.POINTER_LEAK, a -> a.stxdw(10, -8, 1).movr(1, 10).add(1, -8)
                .mov(2, 8).call(PRINTK).exit());
        accept("slot spilled twice keeps the latest value", SYSCALL, a -> a.stxdw(10, -8, 1).stdw(10, -8, 5).ldxdw(0, 10, -8).exit());
        reject("filled number used as a pointer", SYSCALL, Rule.INVALID_ACCESS, a -> a.stdw(10, -8, 0).ldxdw(1, 10, -8).ldxdw(0, 1, 0).exit());
        accept("helper fills uninitialised stack", SYSCALL, a -> a.ldMap(1, HASH).movr(2, 10).add(2, -16).call(POP).ldxdw(0, 10, -16).exit());
        accept("spilled context survives a helper call", XDP, a -> a.stxdw(10, -8, 1).call(PRANDOM).ldxdw(1, 10, -8).ldxw(0, 1, 12).ret(0));
    }

    private void contexts() {
        ProgramType socket = ProgramType.SOCKET_FILTER;
        reject("XDP data field written", XDP, Rule.READ_ONLY, a -> a.stw(1, 0, 0).ret(0));
        accept("TC writes skb->mark", TC, a -> a.stw(1, 8, 1).ret(0));
        reject("TC writes skb->len", TC, Rule.READ_ONLY, a -> a.stw(1, 0, 1).ret(0));
        reject("socket filter writes skb->mark", socket, Rule.READ_ONLY, a -> a.stw(1, 8, 1).ret(0));
        accept("socket filter writes skb->cb", socket, a -> a.stw(1, 48, 1).ret(0));
        reject("socket filter has no direct packet access", socket, Rule.OUT_OF_BOUNDS, a -> a.ldxw(2, 1, 76).ret(0));
        reject("ctx read at a negative offset", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldxw(0, 1, -4).ret(0));
        reject("syscall ctx read past 4 KiB", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.ldxw(0, 1, 4096).exit());
        accept("syscall ctx written in place", SYSCALL, a -> a.stdw(1, 8, 1).ldxdw(0, 1, 8).exit());
        reject("pointer stored into the syscall ctx", SYSCALL, Rule.POINTER_LEAK, a -> a.stxdw(1, 0, 10).ret(0));
        reject("context pointer stored into skb->cb", TC, Rule.POINTER_LEAK, a -> a.stxdw(1, 48, 1).ret(0));
        reject("atomic add on the context", SYSCALL, Rule.INVALID_ACCESS, a -> a.mov(2, 1).atomicAdd(Size.DW, 1, 0, 2).ret(0));
        reject("misaligned skb field load", TC, Rule.MISALIGNED, a -> a.ldx(Size.H, 0, 1, 9).ret(0));
        reject("ctx load straddling two fields", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldxdw(0, 1, 12).ret(0));
        accept("ctx pointer moved by a constant", XDP, a -> a.add(1, 12).ldxw(0, 1, 0).ret(0));
        reject("helper given a moved ctx", XDP, Rule.BAD_HELPER_ARG, a -> a.add(1, 4).ldMap(2, PROGS).mov(3, 0).call(TAIL_CALL).ret(0));
        accept("TC reads the 16-byte remote_ip6 by words", TC, a -> a.ldxw(2, 1, 100).ldxw(3, 1, 112).ret(0));
    }

    private void packets() {
        ProgramType skSkb = ProgramType.SK_SKB;
        reject("packet pointer used after bpf_xdp_adjust_head", XDP, Rule.UNINIT_REGISTER, a -> a.movr(6, 1).ldxw(7, 1, 0).ldxw(8, 1, 4)
                .movr(9, 7).add(9, 14).jmpr(JGT, 9, 8, "drop").movr(1, 6).mov(2, 0).call(ADJUST_HEAD).ldxb(0, 7, 0).ret(2)
                .label("drop").ret(1));
        reject("spilled packet pointer invalidated by bpf_xdp_adjust_head", XDP, Rule.UNINIT_STACK, a -> a.movr(6, 1).ldxw(7, 1, 0)
                .stxdw(10, -8, 7).movr(1, 6).mov(2, 0).call(ADJUST_HEAD).ldxdw(7, 10, -8).ret(2));
        accept("packet reloaded and rechecked after bpf_xdp_adjust_head", XDP, a -> a.movr(6, 1).mov(2, 4).call(ADJUST_HEAD)
                .movr(1, 6).ldxw(2, 1, 0).ldxw(3, 1, 4).movr(4, 2).add(4, 1).jmpr(JGT, 4, 3, "drop").ldxb(0, 2, 0).ret(2)
                .label("drop").ret(1));
        accept("sk_skb writes the packet (direct write, as in Linux)", skSkb, a -> skbPacket(a).movr(4, 2).add(4, 1).jmpr(JGT, 4, 3, "out")
                .st(Size.B, 2, 0, 1).label("out").ret(0));
        accept("TC writes the packet", TC, a -> skbPacket(a).movr(4, 2).add(4, 1).jmpr(JGT, 4, 3, "out").st(Size.B, 2, 0, 1).label("out").ret(0));
        accept("packet metadata checked against data", XDP, a -> a.ldxw(2, 1, 8).ldxw(3, 1, 0).movr(4, 2).add(4, 4).jmpr(JGT, 4, 3, "out")
                .ldxw(0, 2, 0).label("out").ret(2));
        reject("packet metadata without a check", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldxw(2, 1, 8).ldxw(0, 2, 0).ret(2));
        reject("packet metadata compared with data_end", XDP, Rule.POINTER_LEAK, a -> a.ldxw(2, 1, 8).ldxw(3, 1, 4).movr(4, 2).add(4, 4)
                .jmpr(JGT, 4, 3, "out").ldxw(0, 2, 0).label("out").ret(2));
        reject("packet read at a negative offset", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a).movr(4, 2).add(4, 14).jmpr(JGT, 4, 3, "drop")
                .ldxb(0, 2, -1).ret(2).label("drop").ret(1));
        accept("packet range shared by an earlier copy", XDP, a -> xdpPacket(a).movr(5, 2).movr(4, 2).add(4, 14).jmpr(JGT, 4, 3, "drop")
                .ldxb(0, 5, 13).ret(2).label("drop").ret(1));
        accept("packet read through a moved pointer inside the range", XDP, a -> xdpPacket(a).movr(4, 2).add(4, 20).jmpr(JGT, 4, 3, "drop")
                .movr(6, 2).add(6, 10).ldxw(0, 6, 6).ret(2).label("drop").ret(1));
        reject("packet read on the unchecked side of JGE", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a).movr(4, 2).add(4, 8).jmpr(JGE, 4, 3, "bad")
                .ret(2).label("bad").ldxdw(0, 2, 0).ret(1));
        reject("load through packet_end", XDP, Rule.INVALID_ACCESS, a -> xdpPacket(a).ldxb(0, 3, 0).ret(2));
        accept("helper reads checked packet memory", XDP, a -> xdpPacket(a).movr(4, 2).add(4, 8).jmpr(JGT, 4, 3, "drop")
                .ldMap(1, RINGBUF).mov(3, 8).mov(4, 0).call(RB_OUTPUT).ret(2).label("drop").ret(1));
        reject("helper reads past the proven packet range", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a).movr(4, 2).add(4, 8).jmpr(JGT, 4, 3, "drop")
                .ldMap(1, RINGBUF).mov(3, 16).mov(4, 0).call(RB_OUTPUT).ret(2).label("drop").ret(1));
        accept("packet range through a 16-byte then a 4-byte header check", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 16).jmpr(JGT, 4, 3, "drop").ldxb(5, 2, 15).movr(6, 2).add(6, 16)
                .movr(4, 6).add(4, 4).jmpr(JGT, 4, 3, "drop").ldxw(0, 6, 0).ret(2).label("drop").ret(1));
        reject("range of one packet pointer does not cover a newer variable one", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a)
                .movr(4, 2).add(4, 64).jmpr(JGT, 4, 3, "drop").ldxb(5, 2, 0).and(5, 7).movr(6, 2).addr(6, 5).ldxb(0, 6, 0).ret(2)
                .label("drop").ret(1));
    }

    private void maps() {
        accept("inner map value written within the template's size", XDP, a -> lookup(a, OUTER).jmp(JEQ, 0, 0, "out").movr(1, 0)
                .movr(2, 10).add(2, -4).call(LOOKUP).jmp(JEQ, 0, 0, "out").stdw(0, 24, 1).label("out").ret(0));
        reject("dereferencing an inner map pointer", XDP, Rule.INVALID_ACCESS, a -> lookup(a, OUTER).jmp(JEQ, 0, 0, "out")
                .ldxdw(1, 0, 0).label("out").ret(0));
        reject("ring buffer reserve on an array map", XDP, Rule.BAD_MAP, a -> a.ldMap(1, ARRAY).mov(2, 8).mov(3, 0).call(RB_RESERVE).ret(0));
        reject("map update on a program array", XDP, Rule.BAD_MAP, a -> a.stw(10, -4, 0).stw(10, -8, 0).ldMap(1, PROGS).movr(2, 10).add(2, -4)
                .movr(3, 10).add(3, -8).mov(4, 0).call(UPDATE).ret(0));
        reject("direct value access into a hash map", XDP, Rule.BAD_MAP, a -> a.ldMapValue(1, HASH, 0).ret(0));
        reject("direct value access past the value", XDP, Rule.BAD_MAP, a -> a.ldMapValue(1, ARRAY, 64).ret(0));
        accept("direct value access to an array map", XDP, a -> a.ldMapValue(1, ARRAY, 8).stdw(1, 0, 1).ret(0));
        reject("direct value read past the value", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldMapValue(1, ARRAY, 60).ldxdw(0, 1, 0).ret(0));
        reject(".rodata written by a helper", SYSCALL, Rule.READ_ONLY, a -> a.ldMap(1, HASH).ldMapValue(2, RODATA, 0).call(POP).exit());
        reject(".rodata atomic add", SYSCALL, Rule.READ_ONLY, a -> a.ldMapValue(1, RODATA, 0).mov(2, 1).atomicAdd(Size.DW, 1, 0, 2).ret(0));
        accept("map value index bounded by an unsigned compare, then scaled", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JGE, 0, 8, "out").lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        reject("map value index with only an upper signed bound", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(KTIME).jmp(JSGT, 0, 56, "out").addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        accept("map value offset from a masked byte of the value", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .ldxb(1, 6, 0).and(1, 0x38).addr(6, 1).ldxdw(2, 6, 0).label("out").ret(0));
        accept("two bounded variable offsets added", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).and(0, 15).movr(7, 0).call(PRANDOM).and(0, 31).addr(6, 7).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        reject("two variable offsets adding up past the value", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).and(0, 31).movr(7, 0).call(PRANDOM).and(0, 31).addr(6, 7).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        accept("variable offset then a constant one inside the value", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).and(0, 24).addr(6, 0).add(6, 16).ldxdw(1, 6, 16).label("out").ret(0));
        reject("map value pointer stored into the value", XDP, Rule.POINTER_LEAK, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out")
                .stxdw(0, 0, 0).label("out").ret(0));
        reject("context pointer stored into a map value", XDP, Rule.POINTER_LEAK, a -> lookup(a.movr(9, 1), ARRAY).jmp(JEQ, 0, 0, "out")
                .stxdw(0, 8, 9).label("out").ret(0));
        accept("heap pointer stored into a map value", SYSCALL, a -> lookup(malloc(a, 16).movr(7, 0), ARRAY).jmp(JEQ, 0, 0, "out")
                .stxdw(0, 0, 7).label("out").ret(0));
        reject("map key partly initialised", XDP, Rule.UNINIT_STACK, a -> a.st(Size.B, 10, -4, 0).movr(2, 10).add(2, -4).ldMap(1, HASH)
                .call(LOOKUP).ret(0));
        reject("map key too close to the frame pointer", XDP, Rule.OUT_OF_BOUNDS, a -> a.stdw(10, -8, 0).movr(2, 10).add(2, -2).ldMap(1, HASH)
                .call(LOOKUP).ret(0));
        reject("map key given as a number", XDP, Rule.BAD_HELPER_ARG, a -> a.mov(2, 0).ldMap(1, HASH).call(LOOKUP).ret(0));
        accept("map key taken from another map's value", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(2, 0).ldMap(1, HASH)
                .call(LOOKUP).label("out").ret(0));
        accept("map delete with a stack key", XDP, a -> a.stw(10, -4, 0).movr(2, 10).add(2, -4).ldMap(1, HASH).call(DELETE).ret(0));
        reject("map value of one map passed as another's value", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, HASH).jmp(JEQ, 0, 0, "out")
                .movr(3, 0).movr(2, 10).add(2, -4).ldMap(1, ARRAY).mov(4, 0).call(UPDATE).label("out").ret(0));
    }

    private void helpers() {
        reject("bpf_xdp_adjust_head in a TC program", TC, Rule.HELPER_NOT_ALLOWED, a -> a.mov(2, 0).call(ADJUST_HEAD).ret(0));
        reject("socket lookup in a syscall program", SYSCALL, Rule.HELPER_NOT_ALLOWED, a -> skLookup(a).ret(0));
        reject("helper number 0", XDP, Rule.UNKNOWN_HELPER, a -> a.call(0).ret(0));
        reject("a Linux helper the host does not provide", XDP, Rule.UNKNOWN_HELPER, a -> a.call(4).ret(0));
        reject("bpf_loop given a number as callback", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.mov(1, 10).mov(2, 0).mov(3, 0).mov(4, 0).call(LOOP).exit());
        reject("bpf_loop context that is not on the stack", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(9, 1).mov(1, 10).ldFunc(2, "cb")
                .movr(3, 9).mov(4, 0).call(LOOP).exit().label("cb").ret(0));
        reject("memory size from an unbounded register", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.stdw(10, -8, 0).call(KTIME).movr(2, 0)
                .movr(1, 10).add(1, -8).call(PRINTK).exit());
        reject("helper reads past the stack slot", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.stdw(10, -8, 0).movr(1, 10).add(1, -8).mov(2, 16)
                .call(PRINTK).exit());
        accept("helper reads a bounded variable size", SYSCALL, a -> a.stdw(10, -16, 0).stdw(10, -8, 0).call(PRANDOM).and(0, 15).add(0, 1)
                .movr(2, 0).movr(1, 10).add(1, -16).mov(3, 0).mov(4, 0).mov(5, 0).call(PRINTK).exit());
        reject("ring buffer reserve of a variable size", XDP, Rule.BAD_HELPER_ARG, a -> a.call(PRANDOM).movr(2, 0).ldMap(1, RINGBUF).mov(3, 0)
                .call(RB_RESERVE).ret(0));
        reject("spin lock on a stack pointer", XDP, Rule.BAD_HELPER_ARG, a -> a.stdw(10, -8, 0).movr(1, 10).add(1, -8).call(SPIN_LOCK).ret(0));
        reject("spin lock at a misaligned offset", XDP, Rule.BAD_HELPER_ARG, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0).add(1, 2)
                .call(SPIN_LOCK).label("out").ret(0));
        reject("tail call given a map value as program array", XDP, Rule.BAD_HELPER_ARG, a -> lookup(a.movr(9, 1), ARRAY).jmp(JEQ, 0, 0, "out")
                .movr(2, 0).movr(1, 9).mov(3, 0).call(TAIL_CALL).label("out").ret(0));
        reject("helper argument never set", XDP, Rule.UNINIT_REGISTER, a -> a.ldMap(1, HASH).call(LOOKUP).ret(0));
        accept("bpf_redirect in XDP", XDP, a -> a.mov(1, 1).mov(2, 0).call(REDIRECT).ret(4));
        accept("sk_lookup_udp with a 12-byte tuple", XDP, a -> a.stdw(10, -16, 0).stw(10, -8, 0).movr(2, 10).add(2, -16).mov(3, 12)
                .mov(4, 0).mov(5, 0).call(SK_LOOKUP_UDP).jmp(JEQ, 0, 0, "out").movr(1, 0).call(SK_RELEASE).label("out").ret(0));
        reject("socket lookup tuple of size zero", XDP, Rule.BAD_HELPER_ARG, a -> a.stdw(10, -16, 0).movr(2, 10).add(2, -16).mov(3, 0)
                .mov(4, 0).mov(5, 0).call(SK_LOOKUP_TCP).ret(0));
    }

    private void references() {
        accept("socket acquired by a subprogram, released by its caller", XDP, a -> skLookup(a.callLocal("f").jmp(JEQ, 0, 0, "out").movr(1, 0)
                .call(SK_RELEASE).label("out").ret(0).label("f")).exit());
        reject("ring buffer record submitted twice", XDP, Rule.DOUBLE_RELEASE, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 6).mov(2, 0).call(RB_SUBMIT).movr(1, 6).mov(2, 0).call(RB_SUBMIT).label("out").ret(0));
        reject("socket released by a subprogram and again by the caller", XDP, Rule.DOUBLE_RELEASE, a -> skLookup(a).jmp(JEQ, 0, 0, "out")
                .movr(6, 0).movr(1, 6).callLocal("f").movr(1, 6).call(SK_RELEASE).label("out").ret(0)
                .label("f").call(SK_RELEASE).ret(0));
        reject("ring buffer record written after submit", XDP, Rule.USE_AFTER_RELEASE, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 6).mov(2, 0).call(RB_SUBMIT).stdw(6, 0, 1).label("out").ret(0));
        reject("ring buffer record given to a helper after discard", XDP, Rule.USE_AFTER_RELEASE, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out")
                .movr(6, 0).movr(1, 6).mov(2, 0).call(RB_DISCARD).ldMap(1, RINGBUF).movr(2, 6).mov(3, 8).mov(4, 0).call(RB_OUTPUT)
                .label("out").ret(0));
        reject("spilled socket used after release", XDP, Rule.USE_AFTER_RELEASE, a -> skLookup(a).jmp(JEQ, 0, 0, "out").stxdw(10, -24, 0)
                .movr(1, 0).call(SK_RELEASE).ldxdw(1, 10, -24).ldxw(0, 1, 4).label("out").ret(0));
        reject("ring buffer record held across a tail call", XDP, Rule.LEAKED_REFERENCE, a -> reserve(a.movr(9, 1), 16).jmp(JEQ, 0, 0, "out")
                .movr(6, 0).movr(1, 9).ldMap(2, PROGS).mov(3, 0).call(TAIL_CALL).movr(1, 6).mov(2, 0).call(RB_DISCARD).label("out").ret(0));
        accept("tail call after releasing the reference", XDP, a -> skLookup(a.movr(9, 1)).jmp(JEQ, 0, 0, "tail").movr(1, 0).call(SK_RELEASE)
                .label("tail").movr(1, 9).ldMap(2, PROGS).mov(3, 0).call(TAIL_CALL).ret(0));
        reject("ring buffer record discarded on one path only", XDP, Rule.LEAKED_REFERENCE, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JEQ, 0, 0, "out").movr(1, 6).mov(2, 0).call(RB_DISCARD).label("out").ret(0));
        accept("ring buffer record discarded on error, submitted otherwise", XDP, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JEQ, 0, 0, "discard").stdw(6, 0, 1).movr(1, 6).mov(2, 0).call(RB_SUBMIT).ja("out")
                .label("discard").movr(1, 6).mov(2, 0).call(RB_DISCARD).label("out").ret(0));
        reject("ring buffer submit of a moved record pointer", XDP, Rule.BAD_HELPER_ARG, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").add(0, 8)
                .movr(1, 0).mov(2, 0).call(RB_SUBMIT).label("out").ret(0));
        reject("ring buffer submit of a map value", XDP, Rule.BAD_HELPER_ARG, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0).mov(2, 0)
                .call(RB_SUBMIT).label("out").ret(0));
        reject("ring buffer submit of a possibly-NULL record", XDP, Rule.BAD_HELPER_ARG, a -> reserve(a, 16).movr(1, 0).mov(2, 0)
                .call(RB_SUBMIT).ret(0));
        reject("ring buffer record read before its start", XDP, Rule.OUT_OF_BOUNDS, a -> reserve(a, 16).jmp(JEQ, 0, 0, "out").ldxdw(1, 0, -8)
                .movr(1, 0).mov(2, 0).call(RB_DISCARD).label("out").ret(0));
        reject("write into a zero-size ring buffer record", XDP, Rule.OUT_OF_BOUNDS, a -> reserve(a, 0).jmp(JEQ, 0, 0, "out").stw(0, 0, 1)
                .movr(1, 0).mov(2, 0).call(RB_DISCARD).label("out").ret(0));
        reject("socket acquired in a loop iteration and kept", XDP, Rule.LEAKED_REFERENCE, a -> skLookup(a.movr(9, 1).mov(6, 0).label("loop")
                .movr(1, 9)).jmp(JEQ, 0, 0, "next").movr(7, 0).label("next").add(6, 1).jmp(JLT, 6, 4, "loop").ret(0));
        accept("ring buffer record reserved and discarded in every iteration", XDP, a -> a.mov(6, 0).label("loop").ldMap(1, RINGBUF).mov(2, 8)
                .mov(3, 0).call(RB_RESERVE).jmp(JEQ, 0, 0, "next").movr(1, 0).mov(2, 0).call(RB_DISCARD).label("next").add(6, 1)
                .jmp(JLT, 6, 4, "loop").ret(0));
        reject("arithmetic on a socket pointer", XDP, Rule.POINTER_ARITHMETIC, a -> skLookup(a).jmp(JEQ, 0, 0, "out").add(0, 8).movr(1, 0)
                .call(SK_RELEASE).label("out").ret(0));
    }

    private void locks() {
        reject("unlock without a lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0).call(SPIN_UNLOCK)
                .label("out").ret(0));
        reject("unlock of a different lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6)
                .call(SPIN_LOCK).movr(1, 6).add(1, 4).call(SPIN_UNLOCK).label("out").ret(0));
        reject("local call while holding a lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6)
                .call(SPIN_LOCK).callLocal("f").movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0).label("f").ret(0));
        reject("kfunc call while holding a bpf_spin_lock", SYSCALL, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 6).call(SPIN_LOCK).mov(1, 8).insn(kfunc(Kfuncs.KFLEX_MALLOC)).movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0));
        accept("several heap locks held across a local call", SYSCALL, a -> malloc(a, 16).movr(7, 0).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).callLocal("f")
                .movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0)
                .label("f").ret(0));
        reject("heap unlock in a callee with no lock held", SYSCALL, Rule.LOCK_VIOLATION, a -> malloc(a, 16).movr(1, 0).callLocal("f").ret(0)
                .label("f").insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0));
        accept("heap lock taken and released in every loop iteration", SYSCALL, a -> malloc(a, 16).movr(7, 0).mov(8, 0).label("loop")
                .movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).stdw(7, 8, 1).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK))
                .add(8, 1).jmp(JLT, 8, 4, "loop").ret(0));
        accept("three heap locks released in any order", SYSCALL, a -> malloc(a, 32).movr(7, 0)
                .movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .movr(1, 7).add(1, 16).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).movr(1, 7).add(1, 16).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK))
                .movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0));
        reject("bpf_spin_lock held when a loop iterates", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .mov(7, 0).label("loop").movr(1, 6).call(SPIN_LOCK).add(7, 1).jmp(JLT, 7, 4, "loop").movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0));
        accept("bpf_spin_lock taken and released in every loop iteration", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .mov(7, 0).label("loop").movr(1, 6).call(SPIN_LOCK).stdw(6, 8, 1).movr(1, 6).call(SPIN_UNLOCK).add(7, 1).jmp(JLT, 7, 4, "loop")
                .label("out").ret(0));
    }

    private void callbacks() {
        accept("for_each_map_elem callback reads the value", SYSCALL, a -> a.ldMap(1, ARRAY).ldFunc(2, "cb").mov(3, 0).mov(4, 0).call(FOR_EACH)
                .ret(0).label("cb").ldxdw(0, 3, 56).ret(0));
        reject("for_each_map_elem callback reads past the value", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.ldMap(1, ARRAY).ldFunc(2, "cb").mov(3, 0)
                .mov(4, 0).call(FOR_EACH).ret(0).label("cb").ldxdw(0, 3, 64).ret(0));
        reject("for_each_map_elem callback writes the key", SYSCALL, Rule.READ_ONLY, a -> a.ldMap(1, ARRAY).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(FOR_EACH).ret(0).label("cb").stw(2, 0, 1).ret(0));
        accept("for_each_map_elem callback writes the value", SYSCALL, a -> a.ldMap(1, HASH).ldFunc(2, "cb").mov(3, 0).mov(4, 0).call(FOR_EACH)
                .ret(0).label("cb").stdw(3, 8, 1).ret(0));
        accept("for_each_map_elem callback updates the caller's stack", SYSCALL, a -> a.stdw(10, -8, 0).ldMap(1, ARRAY).ldFunc(2, "cb")
                .movr(3, 10).add(3, -8).mov(4, 0).call(FOR_EACH).ldxdw(0, 10, -8).exit()
                .label("cb").ldxdw(5, 4, 0).add(5, 1).stxdw(4, 0, 5).ret(0));
        reject("for_each_map_elem callback returning 2", SYSCALL, Rule.INVALID_RETURN, a -> a.ldMap(1, ARRAY).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(FOR_EACH).ret(0).label("cb").ret(2));
        reject("for_each_map_elem over a ring buffer", SYSCALL, Rule.BAD_MAP, a -> a.ldMap(1, RINGBUF).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(FOR_EACH).ret(0).label("cb").ret(0));
        reject("bpf_loop callback returning an unbounded value", SYSCALL, Rule.INVALID_RETURN, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").call(KTIME).exit());
        accept("bpf_loop callback returning 1 to stop", SYSCALL, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").call(PRANDOM).and(0, 1).exit());
        reject("bpf_loop callback reads r3", SYSCALL, Rule.UNINIT_REGISTER, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").movr(0, 3).exit());
        reject("bpf_loop callback dereferences a NULL context", SYSCALL, Rule.INVALID_ACCESS, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").ldxdw(0, 2, 0).ret(0));
        reject("bpf_loop callback reads beyond its context", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.stdw(10, -8, 0).mov(1, 10).ldFunc(2, "cb")
                .movr(3, 10).add(3, -8).mov(4, 0).call(LOOP).exit().label("cb").ldxdw(0, 2, 8).ret(0));
        reject("bpf_loop callback reads an uninitialised context slot", SYSCALL, Rule.UNINIT_STACK, a -> a.stdw(10, -8, 0).mov(1, 10).ldFunc(2, "cb")
                .movr(3, 10).add(3, -16).mov(4, 0).call(LOOP).exit().label("cb").ldxdw(0, 2, 0).ret(0));
        reject("bpf_loop callback acquires a reference", SYSCALL, Rule.LEAKED_REFERENCE, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").ldMap(1, RINGBUF).mov(2, 8).mov(3, 0).call(RB_RESERVE).ret(0));
        accept("bpf_loop callback index bounds a map value access", SYSCALL, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").stxdw(10, -16, 0)
                .mov(1, 8).ldFunc(2, "cb").movr(3, 10).add(3, -16).mov(4, 0).call(LOOP).label("out").ret(0)
                .label("cb").jmp(JGE, 1, 8, "stop").lsh(1, 3).ldxdw(3, 2, 0).addr(3, 1).stdw(3, 0, 1).ret(0).label("stop").ret(1));
        reject("bpf_loop callback index used unchecked", SYSCALL, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").stxdw(10, -16, 0)
                .mov(1, 8).ldFunc(2, "cb").movr(3, 10).add(3, -16).mov(4, 0).call(LOOP).label("out").ret(0)
                .label("cb").lsh(1, 3).ldxdw(3, 2, 0).addr(3, 1).stdw(3, 0, 1).ret(0));
        reject("callback at the ninth frame", SYSCALL, Rule.CALL_DEPTH, a -> chain(a, 7, b -> b.mov(1, 1).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit()).label("cb").ret(0));
    }

    private void controlFlow() {
        reject("function reference into the middle of lddw", SYSCALL, Rule.BAD_JUMP, a -> a.insn(new LoadImm64(1, LoadImm64.FUNC, 2, 0))
                .lddw(2, 5).mov(0, 0).exit());
        reject("function reference past the end", SYSCALL, Rule.BAD_JUMP, a -> a.insn(new LoadImm64(1, LoadImm64.FUNC, 100, 0)).mov(0, 0).exit());
        reject("subprogram without exit", SYSCALL, Rule.FALL_OFF_END, a -> a.callLocal("f").exit().label("f").mov(0, 0));
        reject("conditional jump as the last instruction", SYSCALL, Rule.FALL_OFF_END, a -> a.label("s").mov(0, 0).jmp(JEQ, 0, 1, "s"));
        reject("lddw as the last instruction", SYSCALL, Rule.FALL_OFF_END, a -> a.lddw(0, 1));
        reject("instruction after the final exit", SYSCALL, Rule.UNREACHABLE, a -> a.ret(0).mov(0, 1).exit());
        reject("exit after an endless loop", SYSCALL, Rule.UNREACHABLE, a -> a.mov(0, 0).label("l").add(0, 1).ja("l").exit());
        accept("endless loop (a cancellation point)", SYSCALL, a -> a.mov(0, 0).label("l").add(0, 1).ja("l"));
        reject("recursion through a callback", SYSCALL, Rule.RECURSION, a -> a.mov(1, 1).ldFunc(2, "cb").mov(3, 0).mov(4, 0).call(LOOP).exit()
                .label("cb").mov(1, 1).ldFunc(2, "cb").mov(3, 0).mov(4, 0).call(LOOP).ret(0));
        reject("three frames of 192 bytes", SYSCALL, Rule.STACK_SIZE, a -> a.stdw(10, -192, 0).callLocal("f").exit()
                .label("f").stdw(10, -192, 0).callLocal("g").exit().label("g").stdw(10, -192, 0).ret(0));
        accept("two frames of 256 bytes", SYSCALL, a -> a.stdw(10, -256, 0).callLocal("f").exit().label("f").stdw(10, -256, 0).ret(0));
        reject("frames rounded up to 32 bytes", SYSCALL, Rule.STACK_SIZE, a -> a.stdw(10, -264, 0).callLocal("f").exit()
                .label("f").stdw(10, -232, 0).ret(0));
        reject("callback stack on top of its caller's", SYSCALL, Rule.STACK_SIZE, a -> a.stdw(10, -480, 0).mov(1, 1).ldFunc(2, "cb").mov(3, 0)
                .mov(4, 0).call(LOOP).exit().label("cb").stdw(10, -64, 0).ret(0));
        accept("eight frames each using stack", SYSCALL, a -> chain(a.stdw(10, -32, 0), 7, b -> b.stdw(10, -32, 0).ret(0)));
    }

    private void returnRanges() {
        accept("XDP returning -1 (Linux checks no XDP return range)", XDP, a -> a.ret(-1));
        accept("XDP returning XDP_REDIRECT", XDP, a -> a.ret(4));
        accept("XDP returning 5 (Linux checks no XDP return range)", XDP, a -> a.ret(5));
        accept("XDP returning a helper result unchecked (Linux checks no XDP return range)", XDP, a -> a.mov(1, 1).mov(2, 0).call(REDIRECT).exit());
        accept("XDP returning a helper result checked", XDP, a -> a.mov(1, 1).mov(2, 0).call(REDIRECT).jmp(JGT, 0, 4, "drop").exit()
                .label("drop").ret(1));
        accept("XDP return value bounded only in 32 bits (Linux checks no XDP return range)", XDP, a -> a.call(KTIME).jmp32(JGT, 0, 4, "drop").exit()
                .label("drop").ret(1));
        accept("XDP return value masked", XDP, a -> a.call(PRANDOM).and(0, 3).exit());
        reject("cgroup_skb returning 4", ProgramType.CGROUP_SKB, Rule.INVALID_RETURN, a -> a.ret(4));
        accept("cgroup_skb returning 3", ProgramType.CGROUP_SKB, a -> a.ret(3));
        reject("sk_lookup returning 2", ProgramType.SK_LOOKUP, Rule.INVALID_RETURN, a -> a.ret(2));
        accept("sk_lookup returning 1", ProgramType.SK_LOOKUP, a -> a.ret(1));
        reject("sk_reuseport returning a value in [0, 3]", ProgramType.SK_REUSEPORT, Rule.INVALID_RETURN, a -> a.call(PRANDOM).and(0, 3).exit());
        accept("TC may return any value", TC, a -> a.ret(-1));
        accept("syscall programs may return any value", SYSCALL, a -> a.call(KTIME).exit());
        accept("XDP return value from only one checked path (Linux checks no XDP return range)", XDP, a -> a.call(PRANDOM).jmp(JEQ, 0, 7, "odd").ret(2)
                .label("odd").exit());
    }

    private void callx() {
        accept("callx of a function pointer", SYSCALL, a -> a.ldFunc(1, "f").callx(1).exit().label("f").ret(7));
        accept("callx of a spilled and filled function pointer", SYSCALL, a -> a.ldFunc(6, "f").stxdw(10, -8, 6).mov(6, 0).ldxdw(2, 10, -8)
                .callx(2).exit().label("f").ret(7));
        accept("callx passes arguments like a call", SYSCALL, a -> a.mov(1, 5).ldFunc(3, "f").callx(3).exit().label("f").movr(0, 1).add(0, 1).exit());
        accept("callx of a function pointer passed to a subprogram", SYSCALL, a -> a.ldFunc(1, "g").callLocal("f").exit()
                .label("f").callx(1).exit().label("g").ret(3));
        accept("callx of a function pointer chosen on a branch", SYSCALL, a -> a.call(PRANDOM).ldFunc(6, "f").jmp(JEQ, 0, 0, "call")
                .ldFunc(6, "g").label("call").callx(6).exit().label("f").ret(1).label("g").ret(2));
        reject("callx through a helper number", SYSCALL, Rule.BAD_JUMP, a -> a.mov(1, PRANDOM).callx(1).exit());
        reject("callx through the context pointer", SYSCALL, Rule.BAD_JUMP, a -> a.callx(1).exit());
        reject("callx of an uninitialised register", SYSCALL, Rule.UNINIT_REGISTER, a -> a.callx(3).exit());
        reject("callx into itself", SYSCALL, Rule.RECURSION, a -> a.ldFunc(1, "f").callx(1).exit().label("f").ldFunc(2, "f").callx(2).exit());
        reject("recursion closed by a function pointer passed down", SYSCALL, Rule.RECURSION, a -> a.ldFunc(1, "f").callLocal("f").exit()
                .label("f").callLocal("g").exit().label("g").callx(1).exit());
        reject("callx adds a ninth frame", SYSCALL, Rule.CALL_DEPTH, a -> chain(a.ldFunc(1, "leaf"), 7, b -> b.callx(1).exit()).label("leaf").ret(0));
        reject("stack of a callx callee counts on its caller's chain", SYSCALL, Rule.STACK_SIZE, a -> a.stdw(10, -416, 0).ldFunc(1, "g")
                .callLocal("f").exit().label("f").callx(1).exit().label("g").stdw(10, -96, 0).ret(0));
        reject("function pointer arithmetic", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.ldFunc(1, "f").add(1, 1).callx(1).exit().label("f").ret(0));
        reject("function pointer returned to the host", SYSCALL, Rule.POINTER_LEAK, a -> a.ldFunc(0, "f").exit().label("f").ret(0));
        reject("callx callee checks like a local call", SYSCALL, Rule.UNINIT_REGISTER, a -> a.mov(6, 1).ldFunc(1, "f").callx(1).exit()
                .label("f").movr(0, 6).exit());
        reject("callx while holding a bpf_spin_lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6)
                .call(SPIN_LOCK).ldFunc(2, "f").callx(2).movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0).label("f").ret(0));
    }

    private void loops() {
        accept("walk of a heap list without a bound", SYSCALL, a -> a.call(KTIME).castKern(1, 0).label("loop").jmp(JEQ, 1, 0, "out")
                .ldxdw(2, 1, 0).castKern(1, 2).ja("loop").label("out").ret(0));
        accept("nested walks of heap lists", SYSCALL, a -> a.call(KTIME).castKern(6, 0).mov(0, 0).label("outer").jmp(JEQ, 6, 0, "out")
                .ldxdw(2, 6, 8).castKern(7, 2).label("inner").jmp(JEQ, 7, 0, "next").ldxdw(3, 7, 16).addr(0, 3).ldxdw(2, 7, 0).castKern(7, 2)
                .ja("inner").label("next").ldxdw(2, 6, 0).castKern(6, 2).ja("outer").label("out").exit());
        accept("heap list walk that also counts", SYSCALL, a -> a.call(KTIME).castKern(1, 0).mov(6, 0).label("loop").jmp(JEQ, 1, 0, "out")
                .add(6, 1).ldxdw(2, 1, 0).castKern(1, 2).ja("loop").label("out").movr(0, 6).exit());
        accept("loop bounded by a value read from the map", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).ldxw(8, 6, 0).mov(7, 0)
                .label("loop").jmpr(JGE, 7, 8, "out").jmp(JGE, 7, 60, "out").movr(1, 6).addr(1, 7).stw(1, 0, 0).add(7, 4).ja("loop")
                .label("out").ret(0));
        accept("countdown loop", SYSCALL, a -> a.mov(6, 10).mov(0, 0).label("loop").add(0, 3).sub(6, 1).jmp(JNE, 6, 0, "loop").exit());
        accept("loop counter kept in a stack slot", SYSCALL, a -> a.stdw(10, -8, 0).label("loop").ldxdw(1, 10, -8).add(1, 1).stxdw(10, -8, 1)
                .jmp(JLT, 1, 100, "loop").movr(0, 1).exit());
        accept("loop until a random event", SYSCALL, a -> a.mov(6, 0).label("loop").add(6, 1).call(PRANDOM).jmp(JNE, 0, 0, "loop").movr(0, 6).exit());
        reject("register set only inside the loop read after it", SYSCALL, Rule.UNINIT_REGISTER, a -> a.mov(6, 0).label("loop")
                .jmp(JGE, 6, 4, "out").mov(7, 1).add(6, 1).ja("loop").label("out").movr(0, 7).exit());
        reject("stack slot read before the loop writes it", SYSCALL, Rule.UNINIT_STACK, a -> a.mov(6, 0).label("loop").ldxdw(1, 10, -8)
                .stdw(10, -8, 1).add(6, 1).jmp(JLT, 6, 4, "loop").ret(0));
        accept("nested may_goto loops", SYSCALL, a -> a.mov(0, 0).label("outer").mayGoto("out").label("inner").mayGoto("next").add(0, 1)
                .ja("inner").label("next").ja("outer").label("out").exit());
        reject("loop writes the stack at a growing offset", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.movr(6, 10).label("loop").add(6, -8)
                .stdw(6, 0, 0).call(PRANDOM).jmp(JNE, 0, 0, "loop").ret(0));
    }

    private void heapAndKfuncs() {
        reject("addr_space_cast of a map value", XDP, Rule.POINTER_ARITHMETIC, a -> lookup(a, ARRAY).castKern(1, 0).ret(0));
        reject("addr_space_cast between unknown address spaces", SYSCALL, Rule.UNSUPPORTED_INSTRUCTION, a -> a.mov(2, 0)
                .insn(new AddrSpaceCast(1, 2, 2, 1)).ret(0));
        reject("lddw of a BTF id", SYSCALL, Rule.UNSUPPORTED_INSTRUCTION, a -> a.insn(new LoadImm64(1, LoadImm64.BTF_ID, 5, 0)).ret(0));
        reject("lddw of a map value by file descriptor", SYSCALL, Rule.UNSUPPORTED_INSTRUCTION, a -> a.insn(new LoadImm64(1, LoadImm64.MAP_VALUE, 3, 0))
                .ret(0));
        accept("heap pointer returned to the host", SYSCALL, a -> malloc(a, 16).exit());
        reject("kflex_spin_lock on a map value", SYSCALL, Rule.BAD_HELPER_ARG, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0)
                .insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).label("out").ret(0));
        reject("arena pages freed into an array map", SYSCALL, Rule.BAD_MAP, a -> a.ldMap(1, ARRAY).mov(2, 0).mov(3, 1)
                .insn(kfunc(Kfuncs.BPF_ARENA_FREE_PAGES)).ret(0));
        reject("kfunc id just past the known ones", SYSCALL, Rule.UNKNOWN_KFUNC, a -> a.insn(kfunc(Kfuncs.FIRST_ID + 1000)).ret(0));
        reject("iterator created in a loop iteration and kept", SYSCALL, Rule.LEAKED_REFERENCE, a -> a.mov(6, 0).label("loop")
                .movr(1, 10).add(1, -8).mov(2, 0).mov(3, 4).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW)).add(6, 1).jmp(JLT, 6, 2, "loop").ret(0));
        accept("nested bpf_for loops", SYSCALL, a -> iterNew(a.mov(6, 0), -8, 0, 10).label("outer").movr(1, 10).add(1, -8)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).jmp(JEQ, 0, 0, "done")
                .movr(1, 10).add(1, -16).mov(2, 0).mov(3, 10).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW))
                .label("inner").movr(1, 10).add(1, -16).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).jmp(JEQ, 0, 0, "innerDone")
                .ldxw(2, 0, 0).addr(6, 2).ja("inner")
                .label("innerDone").movr(1, 10).add(1, -16).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).ja("outer")
                .label("done").movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).movr(0, 6).exit());
        reject("iterator value read past its int", SYSCALL, Rule.OUT_OF_BOUNDS, a -> iterNew(a, -8, 0, 10).movr(1, 10).add(1, -8)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).jmp(JEQ, 0, 0, "out").ldxw(2, 0, 4).label("out")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).ret(0));
        accept("heap pointer loaded from the heap and cast again", SYSCALL, a -> malloc(a, 16).jmp(JEQ, 0, 0, "out").ldxdw(1, 0, 0)
                .castKern(1, 1).ldxdw(2, 1, 8).label("out").ret(0));
        reject("heap pointer loaded from the heap used without a cast", SYSCALL, Rule.INVALID_ACCESS, a -> malloc(a, 16).ldxdw(1, 0, 0)
                .ldxdw(2, 1, 8).ret(0));
        reject("stack pointer given to kflex_free", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.KFLEX_FREE)).ret(0));
    }

    private void limits() {
        nextOptions = VerifierOptions.defaults().withMaxProcessed(100);
        reject("more instructions than the processed limit", SYSCALL, Rule.TOO_COMPLEX, a -> {
            for (int i = 0; i < 150; i++) a.mov(0, i);
            a.exit();
        });
        nextOptions = VerifierOptions.defaults().withTimeBudget(Duration.ofNanos(1));
        reject("longer than the time budget", SYSCALL, Rule.TOO_COMPLEX, a -> {
            for (int i = 0; i < 1500; i++) a.mov(0, i);
            a.exit();
        });
        nextOptions = VerifierOptions.defaults().withMaxProcessed(2000);
        reject("paths that double at every branch", SYSCALL, Rule.TOO_COMPLEX, a -> {
            // Each diamond leaves a different value in r6..r9 and slots that are read at the end.
            for (int i = 0; i < 16; i++) {
                a.call(PRANDOM).jmp(JEQ, 0, 0, "else" + i).stdw(10, -8 * (i + 1), 1).ja("join" + i)
                        .label("else" + i).stdw(10, -8 * (i + 1), 2).label("join" + i);
            }
            a.mov(0, 0);
            for (int i = 0; i < 16; i++) a.ldxdw(1, 10, -8 * (i + 1)).addr(0, 1);
            a.exit();
        });
    }

    static void check(Case c) {
        VerifierOptions options = c.options != null ? c.options.withLogLevel(2) : VerifierOptions.defaults().withLogLevel(2);
        VerifierCorpusTest.check(new VerifierCorpusTest.Case(c.name, c.type, c.code, c.expected), options);
    }

    @Test
    void jumpIntoTheMiddleOfLddwIsRefusedBeforeVerification() {
        // Code itself refuses such a stream (Code.decode and Code.of), so the verifier never sees one.
        assertThatThrownBy(() -> Code.of(new Goto(1, false), LoadImm64.of(0, 1), new io.kflex.isa.Instruction.Exit()))
                .isInstanceOf(InvalidInstructionException.class).hasMessageContaining("middle of lddw");
    }
}
