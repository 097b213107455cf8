package io.kflex.verifier;

import static io.kflex.isa.JumpOp.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.kflex.helpers.Kfuncs;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import io.kflex.maps.MapSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * A corpus of small programs in the style of PREVAIL's and Linux's verifier test suites: each
 * with the verdict it must get and, for rejections, the rule it breaks.
 */
class VerifierCorpusTest {

    static final List<MapSpec> MAPS = List.of(
            MapSpec.of("hash", MapSpec.HASH, 4, 16, 128, 0),                              // 0
            MapSpec.of("array", MapSpec.ARRAY, 4, 64, 16, 0),                             // 1
            MapSpec.of("events", MapSpec.RINGBUF, 0, 0, 4096, 0),                         // 2
            MapSpec.of(".rodata", MapSpec.ARRAY, 4, 16, 1, MapSpec.F_RDONLY_PROG),        // 3
            MapSpec.of("heap", MapSpec.ARENA, 0, 0, 16, MapSpec.F_MMAPABLE),              // 4
            MapSpec.of("progs", MapSpec.PROG_ARRAY, 4, 4, 8, 0),                          // 5
            new MapSpec("outer", MapSpec.ARRAY_OF_MAPS, 4, 4, 8, 0, 0,
                    MapSpec.of("inner", MapSpec.ARRAY, 4, 32, 4, 0), 0, 0));              // 6

    static final int HASH = 0, ARRAY = 1, RINGBUF = 2, RODATA = 3, PROGS = 5, OUTER = 6;
    static final int LOOKUP = 1, UPDATE = 2, PRANDOM = 7, KTIME = 5, TAIL_CALL = 12, REDIRECT = 23, ADJUST_HEAD = 44,
            SK_LOOKUP_TCP = 84, SK_RELEASE = 86, SPIN_LOCK = 93, SPIN_UNLOCK = 94, RB_OUTPUT = 130, RB_RESERVE = 131,
            RB_SUBMIT = 132, RB_DISCARD = 133, LOOP = 181;

    record Case(String name, ProgramType type, Code code, Rule expected) {}

    private final List<Case> cases = new ArrayList<>();

    private void accept(String name, ProgramType type, Consumer<Asm> program) { add(name, type, program, null); }

    private void reject(String name, ProgramType type, Rule rule, Consumer<Asm> program) { add(name, type, program, rule); }

    private void add(String name, ProgramType type, Consumer<Asm> program, Rule rule) {
        Asm a = new Asm();
        program.accept(a);
        cases.add(new Case(name, type, a.build(), rule));
    }

    /** {@code r0 = lookup(map, &(u32)0)}; the key lives at fp-4. */
    static Asm lookup(Asm a, int map) {
        return a.stw(10, -4, 0).movr(2, 10).add(2, -4).ldMap(1, map).call(LOOKUP);
    }

    /** r2 = data, r3 = data_end of an XDP context in r1. */
    static Asm xdpPacket(Asm a) {
        return a.ldxw(2, 1, 0).ldxw(3, 1, 4);
    }

    /** {@code r0 = sk_lookup_tcp(ctx, &tuple, 12, 0, 0)}, tuple zeroed at fp-16. */
    static Asm skLookup(Asm a) {
        return a.stdw(10, -16, 0).stw(10, -8, 0).movr(2, 10).add(2, -16).mov(3, 12).mov(4, 0).mov(5, 0).call(SK_LOOKUP_TCP);
    }

    static io.kflex.isa.Instruction kfunc(int id) { return io.kflex.isa.Instruction.Call.kfunc(id); }

    /** {@code bpf_iter_num_new(fp + slot, start, end)}. */
    static Asm iterNew(Asm a, int slot, int start, int end) {
        return a.movr(1, 10).add(1, slot).mov(2, start).mov(3, end).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW));
    }

    /** {@code while ((p = bpf_iter_num_next(fp-8))) r6 += *p;} then falls to label "out" (which the caller places). */
    static Asm iterLoop(Asm a) {
        return a.label("loop").movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).jmp(JEQ, 0, 0, "out")
                .ldxw(2, 0, 0).addr(6, 2).ja("loop");
    }

    /** {@code r0 = bpf_arena_alloc_pages(heap, NULL, 1, -1, 0)}. */
    static Asm arenaAlloc(Asm a) {
        return a.ldMap(1, 4).mov(2, 0).mov(3, 1).mov(4, -1).mov(5, 0).insn(kfunc(Kfuncs.BPF_ARENA_ALLOC_PAGES));
    }

    /** {@code r6 = ctx; r0 = kflex_malloc(size)}. */
    static Asm malloc(Asm a, int size) {
        return a.movr(6, 1).mov(1, size).insn(kfunc(Kfuncs.KFLEX_MALLOC));
    }

    @TestFactory
    Stream<DynamicTest> corpus() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name, () -> check(c)));
    }

    /** The cases of this corpus (also counted by {@link CorpusCoverageTest}). */
    List<Case> cases() {
        ProgramType XDP = ProgramType.XDP, SYSCALL = ProgramType.SYSCALL, TC = ProgramType.SCHED_CLS;

        // ---- basics, registers, stack
        accept("minimal XDP program", XDP, a -> a.ret(2));
        reject("read of uninitialised register", XDP, Rule.UNINIT_REGISTER, a -> a.movr(0, 2).exit());
        reject("exit with uninitialised r0", XDP, Rule.UNINIT_REGISTER, a -> a.exit());
        reject("write to the frame pointer", XDP, Rule.READ_ONLY, a -> a.mov(10, 0).ret(0));
        reject("read of uninitialised stack", SYSCALL, Rule.UNINIT_STACK, a -> a.ldxdw(0, 10, -8).exit());
        reject("partially initialised stack read", SYSCALL, Rule.UNINIT_STACK, a -> a.stw(10, -8, 1).ldxdw(0, 10, -8).exit());
        accept("stack write then read", SYSCALL, a -> a.stdw(10, -8, 7).ldxdw(0, 10, -8).exit());
        accept("byte stores make a readable word", SYSCALL, a -> a.st(Size.B, 10, -4, 1).st(Size.B, 10, -3, 2).st(Size.H, 10, -2, 3).ldxw(0, 10, -4).exit());
        reject("stack write below the frame", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.stdw(10, -520, 0).ret(0));
        reject("stack write above the frame pointer", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.stdw(10, 0, 0).ret(0));
        reject("misaligned stack access", SYSCALL, Rule.MISALIGNED, a -> a.stw(10, -6, 0).ret(0));
        reject("variable stack offset beyond the frame", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a
                .call(PRANDOM).and(0, 1023).movr(1, 10).alur(AluOp.SUB, 1, 0).stdw(1, -8, 0).ret(0));
        accept("bounded variable stack offset", SYSCALL, a -> a
                .stdw(10, -64, 0).stdw(10, -56, 0).stdw(10, -48, 0).stdw(10, -40, 0)
                .call(PRANDOM).and(0, 3).lsh(0, 3).movr(1, 10).add(1, -64).addr(1, 0).ldxdw(0, 1, 0).exit());

        // ---- spills
        accept("spilled context pointer keeps its type", XDP, a -> a
                .stxdw(10, -8, 1).mov(1, 0).ldxdw(1, 10, -8).ldxw(2, 1, 16).ret(0));
        reject("partial read of a spilled pointer", XDP, Rule.POINTER_LEAK, a -> a.stxdw(10, -8, 1).ldxw(0, 10, -8).ret(0));
        reject("partial spill of a pointer", XDP, Rule.POINTER_LEAK, a -> a.stxw(10, -8, 1).ret(0));
        accept("spilled constant comes back exact", XDP, a -> a.stdw(10, -8, 3).ldxdw(0, 10, -8).exit());

        // ---- XDP context and packet
        reject("ctx read past struct xdp_md", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldxw(0, 1, 24).ret(0));
        reject("write to read-only ctx field", XDP, Rule.READ_ONLY, a -> a.stw(1, 12, 0).ret(0));
        reject("partial load of ctx->data", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldx(Size.H, 2, 1, 0).ret(0));
        reject("misaligned ctx load", XDP, Rule.MISALIGNED, a -> a.ldx(Size.H, 2, 1, 13).ret(0));
        reject("variable ctx offset", XDP, Rule.OUT_OF_BOUNDS, a -> a.movr(6, 1).call(PRANDOM).and(0, 4).movr(2, 6).addr(2, 0).ldxw(0, 2, 0).ret(0));
        accept("packet read after data + 14 > data_end check", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 14).jmpr(JGT, 4, 3, "drop").ldxb(0, 2, 13).ret(2).label("drop").ret(1));
        reject("packet read without a bounds check", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a).ldxb(0, 2, 0).ret(2));
        reject("packet read one byte past the proven range", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a)
                .movr(4, 2).add(4, 14).jmpr(JGT, 4, 3, "drop").ldxb(0, 2, 14).ret(2).label("drop").ret(1));
        accept("packet range from data_end < data + N (swapped operands)", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 8).jmpr(JLT, 3, 4, "drop").ldxdw(5, 2, 0).ret(2).label("drop").ret(1));
        accept("packet range from data + N <= data_end taken branch", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 4).jmpr(JLE, 4, 3, "ok").ret(1).label("ok").ldxw(5, 2, 0).ret(2));
        accept("packet range from data_end >= data + N", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 2).jmpr(JGE, 3, 4, "ok").ret(1).label("ok").ldx(Size.H, 5, 2, 0).ret(2));
        reject("packet range applies only to the taken side", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a)
                .movr(4, 2).add(4, 4).jmpr(JLE, 4, 3, "ok").ldxw(5, 2, 0).ret(1).label("ok").ret(2));
        accept("packet range through several comparisons", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 14).jmpr(JGT, 4, 3, "drop")
                .movr(4, 2).add(4, 34).jmpr(JGT, 4, 3, "drop")
                .ldxb(5, 2, 33).ldxw(6, 2, 26).ret(2).label("drop").ret(1));
        accept("packet pointer with variable offset rechecked", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 1).jmpr(JGT, 4, 3, "drop")
                .ldxb(5, 2, 0).and(5, 15).movr(6, 2).addr(6, 5).movr(7, 6).add(7, 4).jmpr(JGT, 7, 3, "drop")
                .ldxw(0, 6, 0).ret(2).label("drop").ret(1));
        reject("variable packet offset loses the old range", XDP, Rule.OUT_OF_BOUNDS, a -> xdpPacket(a)
                .movr(4, 2).add(4, 20).jmpr(JGT, 4, 3, "drop")
                .ldxb(5, 2, 0).and(5, 15).movr(6, 2).addr(6, 5).ldxw(0, 6, 0).ret(2).label("drop").ret(1));
        accept("packet write in XDP", XDP, a -> xdpPacket(a)
                .movr(4, 2).add(4, 1).jmpr(JGT, 4, 3, "drop").st(Size.B, 2, 0, 0xff).ret(2).label("drop").ret(1));
        accept("packet meta range against data", XDP, a -> a.ldxw(2, 1, 0).ldxw(6, 1, 8)
                .movr(4, 6).add(4, 4).jmpr(JGT, 4, 2, "out").ldxw(0, 6, 0).label("out").ret(2));
        reject("pointer leaked into the packet", XDP, Rule.POINTER_LEAK, a -> xdpPacket(a)
                .movr(4, 2).add(4, 8).jmpr(JGT, 4, 3, "drop").stxdw(2, 0, 10).ret(2).label("drop").ret(1));
        reject("xdp_adjust_head invalidates packet pointers", XDP, Rule.UNINIT_REGISTER, a -> a
                .movr(6, 1).ldxw(7, 1, 0).movr(1, 6).mov(2, 4).call(ADJUST_HEAD).ldxb(0, 7, 0).ret(2));

        // ---- return values
        // Linux checks no range for XDP (programs end with `return bpf_redirect_map(...)`); the hook
        // treats values outside the verdicts as XDP_ABORTED.
        accept("XDP return value above XDP_REDIRECT", XDP, a -> a.ret(5));
        accept("XDP return value from a helper", XDP, a -> a.call(PRANDOM).exit());
        reject("cgroup_skb return value above 3", ProgramType.CGROUP_SKB, Rule.INVALID_RETURN, a -> a.ret(5));
        reject("cgroup_skb return value unknown", ProgramType.CGROUP_SKB, Rule.INVALID_RETURN, a -> a.call(PRANDOM).exit());
        accept("XDP return value bounded by a mask", XDP, a -> a.call(PRANDOM).and(0, 3).exit());
        reject("returning a pointer", SYSCALL, Rule.POINTER_LEAK, a -> a.movr(0, 10).exit());
        accept("syscall may return any scalar", SYSCALL, a -> a.call(KTIME).exit());

        // ---- other contexts
        accept("syscall ctx buffer read", SYSCALL, a -> a.ldxdw(0, 1, 4088).exit());
        reject("syscall ctx buffer overrun", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.ldxdw(0, 1, 4090).exit());
        accept("__sk_buff mark is writable in tc", TC, a -> a.stw(1, 8, 1).ret(0));
        reject("__sk_buff len is read-only", TC, Rule.READ_ONLY, a -> a.stw(1, 0, 1).ret(0));
        accept("__sk_buff packet access in tc", TC, a -> a.ldxw(2, 1, 76).ldxw(3, 1, 80)
                .movr(4, 2).add(4, 2).jmpr(JGT, 4, 3, "out").ldx(Size.H, 0, 2, 0).label("out").ret(0));

        // ---- pointer arithmetic and comparisons
        reject("multiplying a pointer", XDP, Rule.POINTER_ARITHMETIC, a -> a.alu(AluOp.MUL, 1, 2).ret(0));
        reject("32-bit arithmetic on a pointer", XDP, Rule.POINTER_ARITHMETIC, a -> a.alu32(AluOp.ADD, 10, 0).ret(0));
        reject("arithmetic on packet_end", XDP, Rule.POINTER_ARITHMETIC, a -> xdpPacket(a).add(3, 1).ret(0));
        reject("adding two pointers", XDP, Rule.POINTER_ARITHMETIC, a -> a.movr(2, 10).addr(2, 1).ret(0));
        reject("arithmetic on a possibly-NULL map value", XDP, Rule.POINTER_ARITHMETIC, a -> lookup(a, HASH).add(0, 4).ret(0));
        reject("comparing a pointer with a scalar", XDP, Rule.POINTER_LEAK, a -> a.jmp(JGT, 1, 5, "out").label("out").ret(0));
        reject("bit test of packet pointers", XDP, Rule.POINTER_LEAK, a -> xdpPacket(a).jmpr(JSET, 2, 3, "out").label("out").ret(0));
        reject("bit test of a pointer against a constant", XDP, Rule.POINTER_LEAK, a -> a.jmp(JSET, 1, 4, "out").label("out").ret(0));
        accept("NULL check on a non-NULL pointer has one side", XDP, a -> a.jmp(JEQ, 1, 0, "dead").ret(0).label("dead").ret(1));
        reject("32-bit copy of a pointer", XDP, Rule.POINTER_LEAK, a -> a.mov32r(2, 1).ret(0));
        accept("difference of two stack pointers is a number", SYSCALL, a -> a.movr(2, 10).add(2, -8).movr(0, 10).alur(AluOp.SUB, 0, 2).exit());

        // ---- maps
        reject("map value used without NULL check", XDP, Rule.INVALID_ACCESS, a -> lookup(a, HASH).ldxdw(1, 0, 0).ret(0));
        accept("map value after NULL check", XDP, a -> lookup(a, HASH)
                .jmp(JEQ, 0, 0, "out").ldxdw(1, 0, 8).stxdw(0, 0, 1).label("out").ret(0));
        accept("NULL check through a copy refines the original", XDP, a -> lookup(a, HASH)
                .movr(6, 0).jmp(JNE, 6, 0, "ok").ret(0).label("ok").ldxdw(1, 0, 0).ret(0));
        accept("OR_NULL value survives a join before its NULL check", XDP, a -> lookup(a, HASH).movr(6, 0)
                .call(PRANDOM).jmp(JEQ, 0, 0, "join").mov(7, 1).ja("join2").label("join").mov(7, 2).label("join2")
                .jmp(JEQ, 6, 0, "out").ldxdw(1, 6, 8).label("out").ret(0));
        reject("map value read past value_size", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, HASH)
                .jmp(JEQ, 0, 0, "out").ldxdw(1, 0, 16).label("out").ret(0));
        reject("map value read before the value", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, HASH)
                .jmp(JEQ, 0, 0, "out").ldxdw(1, 0, -8).label("out").ret(0));
        accept("map value with variable but bounded offset", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).and(0, 7).lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        reject("map value with too large variable offset", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).and(0, 15).lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        accept("map value index bounded by a comparison", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JGT, 0, 60, "out").addr(6, 0).ldxw(1, 6, 0).label("out").ret(0));
        reject("map value index off by one", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JGT, 0, 61, "out").addr(6, 0).ldxw(1, 6, 0).label("out").ret(0));
        accept("32-bit subregister bounds carry to 64 bits", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp32(JGT, 0, 7, "out").lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        reject("32-bit bound on a 64-bit unknown proves nothing", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(KTIME).jmp32(JGT, 0, 7, "out").lsh(0, 3).addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        accept("signed bound plus non-negative check", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(KTIME).jmp(JSGT, 0, 56, "out").jmp(JSLT, 0, 0, "out").addr(6, 0).ldxdw(1, 6, 0).label("out").ret(0));
        reject("pointer stored into a map value", XDP, Rule.POINTER_LEAK, a -> lookup(a, HASH)
                .jmp(JEQ, 0, 0, "out").stxdw(0, 0, 10).label("out").ret(0));
        reject("write to a read-only map", XDP, Rule.READ_ONLY, a -> a.ldMapValue(1, RODATA, 0).stdw(1, 0, 1).ret(0));
        accept("read of .rodata by direct value access", XDP, a -> a.ldMapValue(1, RODATA, 8).ldxdw(2, 1, 0).ret(0));
        reject("map index out of range", XDP, Rule.BAD_MAP, a -> a.ldMap(1, 17).ret(0));
        reject("lookup in a ring buffer", XDP, Rule.BAD_MAP, a -> lookup(a, RINGBUF).ret(0));
        accept("lookup in the inner map of a map of maps", XDP, a -> lookup(a, OUTER).jmp(JEQ, 0, 0, "out").movr(1, 0)
                .movr(2, 10).add(2, -4).call(LOOKUP).jmp(JEQ, 0, 0, "out").ldxdw(1, 0, 24).label("out").ret(0));
        reject("inner map value bounds come from the template", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, OUTER).jmp(JEQ, 0, 0, "out").movr(1, 0)
                .movr(2, 10).add(2, -4).call(LOOKUP).jmp(JEQ, 0, 0, "out").ldxdw(1, 0, 32).label("out").ret(0));
        reject("inner map used before its NULL check", XDP, Rule.BAD_HELPER_ARG, a -> lookup(a, OUTER).movr(1, 0)
                .movr(2, 10).add(2, -4).call(LOOKUP).ret(0));
        reject("atomic add on a packet", XDP, Rule.INVALID_ACCESS, a -> xdpPacket(a).movr(4, 2).add(4, 8).jmpr(JGT, 4, 3, "out")
                .mov(5, 1).atomicAdd(Size.DW, 2, 0, 5).label("out").ret(0));
        accept("atomic add on a map value", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").mov(1, 1)
                .atomicAdd(Size.DW, 0, 8, 1).label("out").ret(0));

        // ---- helpers
        reject("unknown helper", XDP, Rule.UNKNOWN_HELPER, a -> a.call(9999).ret(0));
        reject("helper not allowed for the program type", SYSCALL, Rule.HELPER_NOT_ALLOWED, a -> a.mov(1, 1).mov(2, 0).call(REDIRECT).exit());
        reject("scalar as map argument", XDP, Rule.BAD_HELPER_ARG, a -> a.mov(1, 0).movr(2, 10).add(2, -4).stw(10, -4, 0).call(LOOKUP).ret(0));
        reject("uninitialised key", XDP, Rule.UNINIT_STACK, a -> a.movr(2, 10).add(2, -4).ldMap(1, HASH).call(LOOKUP).ret(0));
        reject("helper call clobbers r1-r5", XDP, Rule.UNINIT_REGISTER, a -> a.mov(2, 1).call(PRANDOM).movr(0, 2).exit());
        accept("map update with stack key and value", XDP, a -> a.stw(10, -4, 0).stdw(10, -24, 0).stdw(10, -16, 0)
                .ldMap(1, HASH).movr(2, 10).add(2, -4).movr(3, 10).add(3, -24).mov(4, 0).call(UPDATE).ret(0));
        reject("map update with a value shorter than value_size", XDP, Rule.UNINIT_STACK, a -> a.stw(10, -4, 0).stdw(10, -16, 0)
                .ldMap(1, HASH).movr(2, 10).add(2, -4).movr(3, 10).add(3, -24).mov(4, 0).call(UPDATE).ret(0));
        reject("zero-size memory argument", XDP, Rule.BAD_HELPER_ARG, a -> a.stdw(10, -8, 0).movr(1, 10).add(1, -8).mov(2, 0).call(6).ret(0));
        accept("ringbuf_output of stack memory", XDP, a -> a.stdw(10, -8, 0).ldMap(1, RINGBUF).movr(2, 10).add(2, -8).mov(3, 8).mov(4, 0).call(RB_OUTPUT).ret(0));
        accept("syscall ctx buffer as helper memory", SYSCALL, a -> a.mov(2, 16).mov(3, 0).mov(4, 0).mov(5, 0).call(6).exit());
        reject("syscall ctx buffer overrun by a helper", SYSCALL, Rule.OUT_OF_BOUNDS, a -> a.add(1, 4090).mov(2, 16).call(6).exit());
        reject("XDP ctx is not helper memory", XDP, Rule.BAD_HELPER_ARG, a -> a.mov(2, 16).call(6).ret(0));
        reject("tail call to a hash map", XDP, Rule.BAD_MAP, a -> a.ldMap(2, HASH).mov(3, 0).call(TAIL_CALL).ret(0));
        accept("tail call", XDP, a -> a.ldMap(2, PROGS).mov(3, 0).call(TAIL_CALL).ret(0));

        // ---- references
        reject("socket reference never released", XDP, Rule.LEAKED_REFERENCE, a -> skLookup(a).ret(0));
        accept("socket released after NULL check", XDP, a -> skLookup(a).jmp(JEQ, 0, 0, "out").movr(1, 0).call(SK_RELEASE).label("out").ret(0));
        reject("socket released on one path only", XDP, Rule.LEAKED_REFERENCE, a -> skLookup(a).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .call(PRANDOM).jmp(JEQ, 0, 0, "out").movr(1, 6).call(SK_RELEASE).label("out").ret(0));
        reject("socket released twice", XDP, Rule.DOUBLE_RELEASE, a -> skLookup(a).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 6).call(SK_RELEASE).movr(1, 6).call(SK_RELEASE).label("out").ret(0));
        reject("socket used after release", XDP, Rule.USE_AFTER_RELEASE, a -> skLookup(a).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 6).call(SK_RELEASE).ldxw(0, 6, 4).label("out").ret(0));
        reject("release of a possibly-NULL socket", XDP, Rule.BAD_HELPER_ARG, a -> skLookup(a).movr(1, 0).call(SK_RELEASE).ret(0));
        accept("socket field read", XDP, a -> skLookup(a).jmp(JEQ, 0, 0, "out").ldxw(6, 0, 4).movr(1, 0).call(SK_RELEASE).label("out").ret(0));
        reject("socket field write", XDP, Rule.READ_ONLY, a -> skLookup(a).jmp(JEQ, 0, 0, "out").stw(0, 4, 1).movr(1, 0).call(SK_RELEASE).label("out").ret(0));
        reject("tail call while holding a reference", XDP, Rule.LEAKED_REFERENCE, a -> skLookup(a.movr(9, 1)).jmp(JEQ, 0, 0, "out").movr(6, 0)
                .movr(1, 9).ldMap(2, PROGS).mov(3, 0).call(TAIL_CALL).movr(1, 6).call(SK_RELEASE).label("out").ret(0));
        accept("ring buffer reserve, write, submit", XDP, a -> a.ldMap(1, RINGBUF).mov(2, 16).mov(3, 0).call(RB_RESERVE)
                .jmp(JEQ, 0, 0, "out").stdw(0, 8, 1).movr(1, 0).mov(2, 0).call(RB_SUBMIT).label("out").ret(0));
        reject("ring buffer record written past its size", XDP, Rule.OUT_OF_BOUNDS, a -> a.ldMap(1, RINGBUF).mov(2, 16).mov(3, 0).call(RB_RESERVE)
                .jmp(JEQ, 0, 0, "out").stdw(0, 16, 1).movr(1, 0).mov(2, 0).call(RB_SUBMIT).label("out").ret(0));
        reject("ring buffer record neither submitted nor discarded", XDP, Rule.LEAKED_REFERENCE, a -> a.ldMap(1, RINGBUF).mov(2, 16).mov(3, 0)
                .call(RB_RESERVE).jmp(JEQ, 0, 0, "out").stdw(0, 0, 1).label("out").ret(0));
        reject("ring buffer record discarded after submit", XDP, Rule.DOUBLE_RELEASE, a -> a.ldMap(1, RINGBUF).mov(2, 16).mov(3, 0)
                .call(RB_RESERVE).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6).mov(2, 0).call(RB_SUBMIT).movr(1, 6).mov(2, 0).call(RB_DISCARD)
                .label("out").ret(0));
        reject("reference acquired in a loop iteration and kept", XDP, Rule.LEAKED_REFERENCE, a -> a.mov(6, 0).label("loop")
                .ldMap(1, RINGBUF).mov(2, 8).mov(3, 0).call(RB_RESERVE).jmp(JEQ, 0, 0, "next").movr(7, 0)
                .label("next").add(6, 1).jmp(JLT, 6, 4, "loop").ret(0));

        // ---- locks
        accept("spin lock and unlock", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6).call(SPIN_LOCK)
                .stdw(6, 8, 1).movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0));
        reject("lock held at exit", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0).call(SPIN_LOCK)
                .label("out").ret(0));
        reject("nested spin lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6).call(SPIN_LOCK)
                .movr(1, 6).call(SPIN_LOCK).label("out").ret(0));
        reject("returning from a function with the lock held", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out")
                .movr(1, 0).callLocal("f").label("out").ret(0).label("f").call(SPIN_LOCK).ret(0));
        reject("helper call under a lock", XDP, Rule.LOCK_VIOLATION, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).movr(1, 6).call(SPIN_LOCK)
                .call(PRANDOM).movr(1, 6).call(SPIN_UNLOCK).label("out").ret(0));

        // ---- control flow
        reject("unreachable instruction", XDP, Rule.UNREACHABLE, a -> a.ja("end").mov(0, 1).label("end").ret(0));
        reject("falling off the end", XDP, Rule.FALL_OFF_END, a -> a.mov(0, 0));
        reject("falling into a subprogram", XDP, Rule.FALL_OFF_END, a -> a.callLocal("f").mov(0, 0).label("f").ret(0));
        reject("jump into another subprogram", XDP, Rule.BAD_JUMP, a -> a.callLocal("f").ja("inside").label("f").mov(0, 0).label("inside").exit());
        reject("direct recursion", XDP, Rule.RECURSION, a -> a.callLocal("f").exit().label("f").callLocal("f").exit());
        reject("mutual recursion", XDP, Rule.RECURSION, a -> a.callLocal("f").exit().label("f").callLocal("g").exit().label("g").callLocal("f").exit());
        reject("call chain of nine frames", SYSCALL, Rule.CALL_DEPTH, a -> {
            a.callLocal("f1").exit();
            for (int i = 1; i <= 8; i++) {
                a.label("f" + i);
                if (i < 8) a.callLocal("f" + (i + 1));
                else a.mov(0, 0);
                a.exit();
            }
        });
        accept("call chain of eight frames", SYSCALL, a -> {
            a.callLocal("f1").exit();
            for (int i = 1; i <= 7; i++) {
                a.label("f" + i);
                if (i < 7) a.callLocal("f" + (i + 1));
                else a.mov(0, 0);
                a.exit();
            }
        });
        reject("combined stack above 512 bytes", SYSCALL, Rule.STACK_SIZE, a -> a.stdw(10, -512, 0).callLocal("f").exit()
                .label("f").stdw(10, -8, 0).ret(0));
        accept("subprogram passes a value back", SYSCALL, a -> a.mov(1, 5).callLocal("f").exit().label("f").movr(0, 1).add(0, 1).exit());
        accept("subprogram writes the caller's stack", SYSCALL, a -> a.movr(1, 10).add(1, -8).callLocal("f").ldxdw(0, 10, -8).exit()
                .label("f").stdw(1, 0, 42).ret(0));
        reject("callee registers r6-r9 start uninitialised", SYSCALL, Rule.UNINIT_REGISTER, a -> a.mov(6, 1).callLocal("f").exit()
                .label("f").movr(0, 6).exit());
        reject("returning a stack pointer to the caller", SYSCALL, Rule.INVALID_RETURN, a -> a.callLocal("f").mov(0, 0).exit()
                .label("f").movr(0, 10).exit());
        accept("bpf_loop callback", SYSCALL, a -> a.stdw(10, -8, 0).mov(1, 10).ldFunc(2, "cb").movr(3, 10).add(3, -8).mov(4, 0)
                .call(LOOP).ldxdw(0, 10, -8).exit()
                .label("cb").ldxdw(3, 2, 0).add(3, 1).stxdw(2, 0, 3).ret(0));
        reject("bpf_loop callback returning 5", SYSCALL, Rule.INVALID_RETURN, a -> a.mov(1, 10).ldFunc(2, "cb").mov(3, 0).mov(4, 0)
                .call(LOOP).exit().label("cb").ret(5));

        // ---- loops
        accept("nested counted loops", SYSCALL, a -> a.mov(6, 0).mov(0, 0).label("outer").mov(7, 0).label("inner")
                .add(0, 1).add(7, 1).jmp(JLT, 7, 10, "inner").add(6, 1).jmp(JLT, 6, 10, "outer").exit());
        accept("loop indexing a map value", XDP, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).mov(7, 0).label("loop")
                .movr(1, 6).addr(1, 7).stdw(1, 0, 0).add(7, 8).jmp(JLT, 7, 64, "loop").label("out").ret(0));
        reject("loop indexing past the map value", XDP, Rule.OUT_OF_BOUNDS, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(6, 0).mov(7, 0).label("loop")
                .movr(1, 6).addr(1, 7).stdw(1, 0, 0).add(7, 8).jmp(JLE, 7, 64, "loop").label("out").ret(0));
        accept("loop with a may_goto", SYSCALL, a -> a.call(PRANDOM).label("loop").mayGoto("out").add(0, 3).ja("loop").label("out").exit());

        // ---- heap
        accept("heap pointer from addr_space_cast", SYSCALL, a -> a.call(KTIME).castKern(1, 0).ldxdw(0, 1, 0).stxdw(1, 8, 0).exit());
        reject("host pointer cast to the heap", SYSCALL, Rule.POINTER_ARITHMETIC, a -> a.castKern(2, 10).ret(0));
        reject("host pointer stored into the heap", SYSCALL, Rule.POINTER_LEAK, a -> a.call(KTIME).castKern(1, 0).stxdw(1, 0, 10).ret(0));
        accept("heap pointer stored into the heap", SYSCALL, a -> a.call(KTIME).castKern(1, 0).stxdw(1, 0, 1).ret(0));

        // ---- kfuncs: numeric iterators
        accept("bpf_for over a numeric iterator", SYSCALL, a -> iterLoop(iterNew(a.mov(6, 0), -8, 0, 100)).label("out")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).movr(0, 6).exit());
        reject("unreleased iterator", SYSCALL, Rule.LEAKED_REFERENCE, a -> iterNew(a, -8, 0, 10).ret(0));
        reject("iterator destroyed twice", SYSCALL, Rule.BAD_HELPER_ARG, a -> iterNew(a, -8, 0, 10)
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY))
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).ret(0));
        reject("iterator created twice in one slot", SYSCALL, Rule.BAD_HELPER_ARG, a -> iterNew(iterNew(a, -8, 0, 10), -8, 0, 10).ret(0));
        reject("next on an uninitialised slot", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.stdw(10, -8, 0).movr(1, 10).add(1, -8)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).ret(0));
        reject("iterator state overwritten", SYSCALL, Rule.INVALID_ACCESS, a -> iterNew(a, -8, 0, 10).stdw(10, -8, 0).ret(0));
        reject("iterator state read", SYSCALL, Rule.INVALID_ACCESS, a -> iterNew(a, -8, 0, 10).ldxw(0, 10, -4).exit());
        reject("iterator on a misaligned slot", SYSCALL, Rule.BAD_HELPER_ARG, a -> iterNew(a, -12, 0, 10).ret(0));
        reject("iterator on a map value", XDP, Rule.BAD_HELPER_ARG, a -> lookup(a, ARRAY).jmp(JEQ, 0, 0, "out").movr(1, 0).mov(2, 0).mov(3, 1)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW)).label("out").ret(0));
        reject("write through the iterator's value", SYSCALL, Rule.READ_ONLY, a -> iterNew(a, -8, 0, 10).movr(1, 10).add(1, -8)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).jmp(JEQ, 0, 0, "out").stw(0, 0, 1).label("out")
                .movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY)).ret(0));
        reject("iterator's value used after destroy", SYSCALL, Rule.USE_AFTER_RELEASE, a -> iterNew(a, -8, 0, 10).movr(1, 10).add(1, -8)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEXT)).movr(6, 0).movr(1, 10).add(1, -8).insn(kfunc(Kfuncs.BPF_ITER_NUM_DESTROY))
                .jmp(JEQ, 6, 0, "out").ldxw(0, 6, 0).exit().label("out").ret(0));
        reject("iterator left live by a function", SYSCALL, Rule.LEAKED_REFERENCE, a -> a.callLocal("f").ret(0)
                .label("f").movr(1, 10).add(1, -8).mov(2, 0).mov(3, 4).insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW)).ret(0));
        reject("iterator bound given a pointer", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(1, 10).add(1, -8).mov(2, 0).movr(3, 10)
                .insn(kfunc(Kfuncs.BPF_ITER_NUM_NEW)).ret(0));

        // ---- kfuncs: heap allocation and heap locks
        accept("arena page allocation used and freed", SYSCALL, a -> arenaAlloc(a).jmp(JEQ, 0, 0, "out").movr(6, 0).castKern(7, 6).stdw(7, 0, 1)
                .stdw(7, 4088, 2).ldMap(1, 4).movr(2, 6).mov(3, 1).insn(kfunc(Kfuncs.BPF_ARENA_FREE_PAGES)).label("out").ret(0));
        reject("arena kfunc given a hash map", SYSCALL, Rule.BAD_MAP, a -> a.ldMap(1, HASH).mov(2, 0).mov(3, 1).mov(4, -1).mov(5, 0)
                .insn(kfunc(Kfuncs.BPF_ARENA_ALLOC_PAGES)).ret(0));
        reject("arena kfunc given no map", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.mov(1, 0).mov(2, 0).mov(3, 1).mov(4, -1).mov(5, 0)
                .insn(kfunc(Kfuncs.BPF_ARENA_ALLOC_PAGES)).ret(0));
        accept("kflex_malloc, store, free", SYSCALL, a -> malloc(a, 16).jmp(JEQ, 0, 0, "out").stdw(0, 8, 7).movr(1, 0)
                .insn(kfunc(Kfuncs.KFLEX_FREE)).label("out").ret(0));
        reject("kflex_malloc with a pointer as size", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(1, 10).insn(kfunc(Kfuncs.KFLEX_MALLOC)).ret(0));
        reject("kflex_free of a host pointer", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(1, 10).insn(kfunc(Kfuncs.KFLEX_FREE)).ret(0));
        accept("any arithmetic on a heap pointer", SYSCALL, a -> malloc(a, 64).and(0, 0xfff).mov32r(0, 0).add(0, 8).stdw(0, 0, 1)
                .lsh(0, 1).exit());
        reject("heap pointer plus host pointer", SYSCALL, Rule.POINTER_ARITHMETIC, a -> malloc(a, 16).addr(0, 10).ret(0));
        accept("heap pointer stored into the context", SYSCALL, a -> malloc(a, 16).stxdw(6, 0, 0).ret(0));
        accept("two heap locks held at once", SYSCALL, a -> malloc(a, 16).movr(7, 0).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).stdw(7, 4, 1)
                .movr(1, 7).add(1, 8).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0));
        reject("heap lock held at exit", SYSCALL, Rule.LOCK_VIOLATION, a -> malloc(a, 16).movr(1, 0).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).ret(0));
        reject("heap lock held on one path", SYSCALL, Rule.LOCK_VIOLATION, a -> malloc(a, 16).movr(7, 0).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .call(PRANDOM).jmp(JEQ, 0, 0, "out").movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).label("out").ret(0));
        reject("double unlock", SYSCALL, Rule.LOCK_VIOLATION, a -> malloc(a, 16).movr(7, 0).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK))
                .movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).ret(0));
        reject("heap lock taken in a loop iteration and kept", SYSCALL, Rule.LEAKED_REFERENCE, a -> malloc(a, 16).movr(7, 0).mov(8, 0)
                .label("loop").movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).add(8, 1).jmp(JLT, 8, 4, "loop")
                .label("unlock").movr(1, 7).insn(kfunc(Kfuncs.KFLEX_SPIN_UNLOCK)).sub(8, 1).jmp(JGT, 8, 0, "unlock").ret(0));
        reject("heap lock given a host pointer", SYSCALL, Rule.BAD_HELPER_ARG, a -> a.movr(1, 10).insn(kfunc(Kfuncs.KFLEX_SPIN_LOCK)).ret(0));

        // ---- instructions the verifier does not take
        reject("callx through a number", SYSCALL, Rule.BAD_JUMP, a -> a.mov(1, 0).insn(new io.kflex.isa.Instruction.CallX(1)).ret(0));
        reject("map by file descriptor", SYSCALL, Rule.UNSUPPORTED_INSTRUCTION, a -> a
                .insn(new io.kflex.isa.Instruction.LoadImm64(1, io.kflex.isa.Instruction.LoadImm64.MAP_FD, 3, 0)).ret(0));
        reject("unknown kfunc", SYSCALL, Rule.UNKNOWN_KFUNC, a -> a.insn(io.kflex.isa.Instruction.Call.kfunc(1234)).ret(0));
        reject("unresolved weak kfunc", SYSCALL, Rule.UNKNOWN_KFUNC, a -> a.insn(io.kflex.isa.Instruction.Call.kfunc(0)).ret(0));

        return cases;
    }

    static void check(Case c) { check(c, VerifierOptions.defaults().withLogLevel(2)); }

    static void check(Case c, VerifierOptions options) {
        try {
            VerifiedProgram p = Verifier.verify(c.code, c.type, MAPS, options);
            if (c.expected != null) fail("expected rejection " + c.expected + " but the program was accepted; log:\n" + p.log());
        } catch (VerificationException e) {
            if (c.expected == null) fail("expected acceptance but got " + e.getMessage() + "\nlog:\n" + e.log());
            assertEquals(c.expected, e.rule(), () -> "wrong rule: " + e.getMessage() + "\nlog:\n" + e.log());
        }
    }
}
