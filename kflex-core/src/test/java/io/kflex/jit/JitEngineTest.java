package io.kflex.jit;

import static io.kflex.isa.Operand.imm;
import static io.kflex.isa.Operand.reg;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.RuntimeLimits;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.*;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class JitEngineTest {
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    static Alu alu64(AluOp op, int dst, io.kflex.isa.Operand src) { return new Alu(true, op, dst, src); }

    static Alu alu32(AluOp op, int dst, io.kflex.isa.Operand src) { return new Alu(false, op, dst, src); }

    static Alu mov(int dst, int value) { return alu64(AluOp.MOV, dst, imm(value)); }

    static LoadImm64 lddw(int dst, long value) { return LoadImm64.of(dst, value); }

    static Exit exit() { return new Exit(); }

    static Outcome run(JitEngine engine, HelperTable helpers, Invocation invocation, Instruction... program) {
        try {
            Code code = Code.of(program);
            Bindings bindings = Bindings.of(helpers);
            byte[] bytes = JitEngine.generate(code, bindings);
            assertThat(JitCompiler.classFile().verify(bytes)).as("verifier errors").isEmpty();
            return engine.load(code, bindings).run(invocation);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Outcome run(Instruction... program) {
        return run(new JitEngine(), HelperTable.empty(), new Invocation(new AddressSpace()), program);
    }

    static long r0(Instruction... program) {
        Outcome outcome = run(program);
        assertThat(outcome).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    /** r0 after {@code op} on 64 or 32 bits with the given operands. */
    static long aluResult(boolean wide, AluOp op, long a, long b) {
        return r0(lddw(0, a), lddw(1, b), new Alu(wide, op, 0, reg(1)), exit());
    }

    @Test
    void arithmeticOn64Bits() {
        assertThat(aluResult(true, AluOp.ADD, Long.MAX_VALUE, 1)).isEqualTo(Long.MIN_VALUE);
        assertThat(aluResult(true, AluOp.SUB, 3, 5)).isEqualTo(-2);
        assertThat(aluResult(true, AluOp.MUL, 0x1_0000_0001L, 3)).isEqualTo(0x3_0000_0003L);
        assertThat(aluResult(true, AluOp.DIV, -1, 2)).isEqualTo(Long.MAX_VALUE);
        assertThat(aluResult(true, AluOp.DIV, 7, 0)).isZero();
        assertThat(aluResult(true, AluOp.MOD, 7, 0)).isEqualTo(7);
        assertThat(aluResult(true, AluOp.MOD, -1, 10)).isEqualTo(Long.remainderUnsigned(-1, 10));
        assertThat(aluResult(true, AluOp.SDIV, -7, 2)).isEqualTo(-3);
        assertThat(aluResult(true, AluOp.SDIV, Long.MIN_VALUE, -1)).isEqualTo(Long.MIN_VALUE);
        assertThat(aluResult(true, AluOp.SMOD, Long.MIN_VALUE, -1)).isZero();
        assertThat(aluResult(true, AluOp.SMOD, -7, 0)).isEqualTo(-7);
        assertThat(aluResult(true, AluOp.SMOD, -7, 2)).isEqualTo(-1);
        assertThat(aluResult(true, AluOp.LSH, 1, 65)).isEqualTo(2);
        assertThat(aluResult(true, AluOp.RSH, -1, 60)).isEqualTo(0xf);
        assertThat(aluResult(true, AluOp.ARSH, -16, 2)).isEqualTo(-4);
        assertThat(aluResult(true, AluOp.XOR, 0xff, 0x0f)).isEqualTo(0xf0);
        assertThat(aluResult(true, AluOp.MOVSX8, 0, 0x80)).isEqualTo(-128);
        assertThat(aluResult(true, AluOp.MOVSX16, 0, 0x8000)).isEqualTo(-32768);
        assertThat(aluResult(true, AluOp.MOVSX32, 0, 0x8000_0000L)).isEqualTo(Integer.MIN_VALUE);
        assertThat(r0(mov(0, 5), alu64(AluOp.NEG, 0, imm(0)), exit())).isEqualTo(-5);
        // ALU64 immediates are sign-extended before an unsigned operation.
        assertThat(r0(mov(0, -1), alu64(AluOp.DIV, 0, imm(-1)), exit())).isEqualTo(1);
    }

    @Test
    void arithmeticOn32BitsZeroExtends() {
        assertThat(aluResult(false, AluOp.ADD, 0xffff_ffffL, 1)).isZero();
        assertThat(aluResult(false, AluOp.SUB, 0, 1)).isEqualTo(0xffff_ffffL);
        assertThat(aluResult(false, AluOp.MOV, 0, -1)).isEqualTo(0xffff_ffffL);
        assertThat(aluResult(false, AluOp.DIV, 0xffff_ffffL, 0)).isZero();
        assertThat(aluResult(false, AluOp.MOD, 0x1_2345_6789L, 0)).isEqualTo(0x2345_6789L);
        assertThat(aluResult(false, AluOp.SMOD, -7, 0)).isEqualTo(0xffff_fff9L);
        assertThat(aluResult(false, AluOp.SDIV, Integer.MIN_VALUE, -1)).isEqualTo(0x8000_0000L);
        assertThat(aluResult(false, AluOp.SMOD, Integer.MIN_VALUE, -1)).isZero();
        assertThat(aluResult(false, AluOp.SDIV, -8, 2)).isEqualTo(0xffff_fffcL);
        assertThat(aluResult(false, AluOp.LSH, 1, 33)).isEqualTo(2);
        assertThat(aluResult(false, AluOp.ARSH, 0x8000_0000L, 4)).isEqualTo(0xf800_0000L);
        assertThat(aluResult(false, AluOp.RSH, -1, 4)).isEqualTo(0x0fff_ffffL);
        assertThat(aluResult(false, AluOp.MOVSX8, 0, 0x80)).isEqualTo(0xffff_ff80L);
        assertThat(aluResult(false, AluOp.MOVSX16, 0, 0x8000)).isEqualTo(0xffff_8000L);
        assertThat(r0(lddw(0, 0x1_0000_0005L), alu32(AluOp.NEG, 0, imm(0)), exit())).isEqualTo(0xffff_fffbL);
    }

    @Test
    void byteSwaps() {
        long v = 0x0102_0304_0506_0708L;
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.TO_BE, 16, 0), exit())).isEqualTo(0x0807);
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.TO_BE, 32, 0), exit())).isEqualTo(0x0807_0605L);
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.BSWAP, 64, 0), exit())).isEqualTo(0x0807_0605_0403_0201L);
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.TO_LE, 16, 0), exit())).isEqualTo(0x0708);
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.TO_LE, 32, 0), exit())).isEqualTo(0x0506_0708L);
        assertThat(r0(lddw(0, v), new Endian(ByteSwap.TO_LE, 64, 0), exit())).isEqualTo(v);
    }

    @Test
    void loopsWithBackwardJumpsAndJmp32() {
        // r0 = sum 1..100 with a backward conditional jump.
        assertThat(r0(mov(0, 0), mov(1, 100),
                alu64(AluOp.ADD, 0, reg(1)),
                alu64(AluOp.SUB, 1, imm(1)),
                new Jump(true, JumpOp.JNE, 1, imm(0), (short) -3),
                exit())).isEqualTo(5050);
        // JMP32 only looks at the low 32 bits; unsigned and signed comparisons differ.
        assertThat(r0(lddw(1, 0x1_0000_0000L), mov(0, 1), new Jump(false, JumpOp.JEQ, 1, imm(0), (short) 1), mov(0, 2), exit())).isEqualTo(1);
        assertThat(r0(mov(1, -1), mov(0, 1), new Jump(true, JumpOp.JGT, 1, imm(5), (short) 1), mov(0, 2), exit())).isEqualTo(1);
        assertThat(r0(mov(1, -1), mov(0, 1), new Jump(true, JumpOp.JSGT, 1, imm(5), (short) 1), mov(0, 2), exit())).isEqualTo(2);
        assertThat(r0(mov(1, -1), mov(0, 1), new Jump(false, JumpOp.JLT, 1, imm(5), (short) 1), mov(0, 2), exit())).isEqualTo(2);
        assertThat(r0(mov(1, 6), mov(0, 1), new Jump(false, JumpOp.JSET, 1, imm(2), (short) 1), mov(0, 2), exit())).isEqualTo(1);
        assertThat(r0(mov(0, 1), new Goto(1, true), mov(0, 2), exit())).isEqualTo(1);
    }

    @Test
    void stackLoadsStoresAndSignExtension() {
        assertThat(r0(lddw(1, 0x8899_aabb_ccdd_eeffL),
                new StoreReg(Size.DW, 10, 1, (short) -8),
                new Load(Size.B, true, 0, 10, (short) -8), exit())).isEqualTo(-1);
        assertThat(r0(new Store(Size.W, 10, (short) -4, -2),
                new Load(Size.W, false, 0, 10, (short) -4), exit())).isEqualTo(0xffff_fffeL);
        assertThat(r0(new Store(Size.H, 10, (short) -2, 0x8001),
                new Load(Size.H, true, 0, 10, (short) -2), exit())).isEqualTo(-32767);
        // The stack starts zeroed.
        assertThat(r0(new Load(Size.DW, false, 0, 10, (short) -512), exit())).isZero();
    }

    @Test
    void atomicsFetchExchangeAndCompare() {
        assertThat(r0(new Store(Size.DW, 10, (short) -8, 40), mov(1, 2),
                new Atomic(Size.DW, AtomicOp.ADD, false, 10, 1, (short) -8),
                new Load(Size.DW, false, 0, 10, (short) -8), exit())).isEqualTo(42);
        assertThat(r0(new Store(Size.W, 10, (short) -8, 0xf0), mov(1, 0x0f),
                new Atomic(Size.W, AtomicOp.OR, true, 10, 1, (short) -8),
                alu64(AluOp.MOV, 0, reg(1)),
                new Load(Size.W, false, 2, 10, (short) -8),
                alu64(AluOp.LSH, 0, imm(16)), alu64(AluOp.OR, 0, reg(2)), exit())).isEqualTo(0xf0_0000L | 0xff);
        assertThat(r0(new Store(Size.DW, 10, (short) -8, 7), mov(1, 9),
                new Atomic(Size.DW, AtomicOp.XCHG, true, 10, 1, (short) -8),
                new Load(Size.DW, false, 0, 10, (short) -8), alu64(AluOp.MUL, 0, imm(10)), alu64(AluOp.ADD, 0, reg(1)), exit())).isEqualTo(97);
        // cmpxchg: equal → store, r0 = old; unequal → no store, r0 = old.
        assertThat(r0(new Store(Size.W, 10, (short) -4, 5), mov(0, 5), mov(1, 6),
                new Atomic(Size.W, AtomicOp.CMPXCHG, true, 10, 1, (short) -4),
                new Load(Size.W, false, 2, 10, (short) -4), alu64(AluOp.LSH, 0, imm(8)), alu64(AluOp.OR, 0, reg(2)), exit())).isEqualTo(0x506);
        assertThat(r0(new Store(Size.W, 10, (short) -4, 5), mov(0, 4), mov(1, 6),
                new Atomic(Size.W, AtomicOp.CMPXCHG, true, 10, 1, (short) -4),
                new Load(Size.W, false, 2, 10, (short) -4), alu64(AluOp.LSH, 0, imm(8)), alu64(AluOp.OR, 0, reg(2)), exit())).isEqualTo(0x505);
    }

    @Test
    void memoryPassedInR1IsReadAndWritten() {
        AddressSpace memory = new AddressSpace();
        MemorySegment data = MemorySegment.ofArray(new byte[16]);
        data.set(LE64, 0, 0x1122334455667788L);
        long base = memory.map(new Region(Region.Kind.MEMORY, data, true, "mem"));
        Outcome outcome = run(new JitEngine(), HelperTable.empty(), new Invocation(memory, base),
                new Load(Size.W, false, 0, 1, (short) 4), new StoreReg(Size.DW, 1, 0, (short) 8), exit());
        assertThat(outcome).isEqualTo(new Outcome.Returned(0x11223344L));
        assertThat(data.get(LE64, 8)).isEqualTo(0x11223344L);
    }

    @Test
    void faultsCarryTheExactPc() {
        assertThat(run(mov(1, 0), mov(0, 1), new Load(Size.DW, false, 0, 1, (short) 0), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(2);
                    assertThat(f.reason()).contains("unmapped");
                });
        assertThat(run(mov(0, 0), new Store(Size.DW, 10, (short) 0, 1), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(1));
        assertThat(run(lddw(0, 1), new StoreReg(Size.B, 10, 0, (short) -1), new Atomic(Size.DW, AtomicOp.ADD, false, 10, 0, (short) 8), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(3));
        AddressSpace memory = new AddressSpace();
        long ro = memory.map(new Region(Region.Kind.CONTEXT, MemorySegment.ofArray(new byte[8]), false, "ctx"));
        assertThat(run(new JitEngine(), HelperTable.empty(), new Invocation(memory, ro), new Store(Size.B, 1, (short) 0, 1), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isZero();
                    assertThat(f.reason()).contains("read-only");
                });
        assertThat(run(mov(0, 1))).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isZero());
    }

    @Test
    void localCallsPreserveCalleeSavedRegistersAndGetFreshFrames() {
        // main: r6 = 10; fp[-8] = 1; r1 = 5; call sub; r0 += r6 + fp[-8]; exit
        // sub:  r6 = 99; fp[-8] = 77; r0 = r1 * 2; exit
        assertThat(r0(mov(6, 10), new Store(Size.DW, 10, (short) -8, 1), mov(1, 5), Call.local(4),
                alu64(AluOp.ADD, 0, reg(6)), new Load(Size.DW, false, 2, 10, (short) -8), alu64(AluOp.ADD, 0, reg(2)), exit(),
                mov(6, 99), new Store(Size.DW, 10, (short) -8, 77), alu64(AluOp.MOV, 0, reg(1)), alu64(AluOp.MUL, 0, imm(2)), exit()))
                .isEqualTo(21);
    }

    @Test
    void codeOfAnotherSubprogramRunsInTheCurrentFrameWhenReachedWithoutACall() {
        // main calls the subprogram at 3, then falls through into it: 0 + 10 + 100, then + 10.
        assertThat(r0(mov(0, 1), Call.local(1), alu64(AluOp.ADD, 0, imm(100)),
                alu64(AluOp.ADD, 0, imm(10)), exit())).isEqualTo(120);
        // main jumps into the middle of the subprogram at 4: callee 0 + 10 + 1000, main + 100 + 1000.
        assertThat(r0(mov(0, 1), Call.local(2), alu64(AluOp.ADD, 0, imm(100)), new Goto(1, false),
                alu64(AluOp.ADD, 0, imm(10)), alu64(AluOp.ADD, 0, imm(1000)), exit())).isEqualTo(2110);
        // Falling off the end is reported at the last instruction.
        assertThat(run(mov(0, 1), Call.local(0), mov(0, 2)))
                .isEqualTo(new Outcome.Faulted(2, "execution fell off the end of the program"));
    }

    @Test
    void callDepthIsLimitedToEightFrames() {
        // f(n): if n == 0 return 0; return f(n - 1) + 1
        Instruction[] recursion = {
                mov(1, 0), Call.local(1), exit(),
                mov(0, 0), new Jump(true, JumpOp.JEQ, 1, imm(0), (short) 4),
                alu64(AluOp.SUB, 1, imm(1)), Call.local(-4), alu64(AluOp.ADD, 0, imm(1)), exit(),
                exit()};
        recursion[0] = mov(1, 6); // main + f(6) .. f(0) = 8 frames
        assertThat(r0(recursion)).isEqualTo(6);
        recursion[0] = mov(1, 7);
        assertThat(run(recursion)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(6);
            assertThat(f.reason()).isEqualTo("call depth exceeds 8");
        });
    }

    @Test
    void callxThroughAFunctionPointerOrAHelperNumber() {
        assertThat(r0(new LoadImm64(3, LoadImm64.FUNC, 4, 0), mov(1, 20), new CallX(3), exit(),
                alu64(AluOp.MOV, 0, reg(1)), alu64(AluOp.ADD, 0, imm(1)), exit())).isEqualTo(21);
        // A function pointer lives in the never-mapped top window.
        assertThat(r0(new LoadImm64(0, LoadImm64.FUNC, 2, 0), exit(), exit())).isEqualTo(0xffff_ffff_0000_0003L);
        // A pointer into the code window where no function starts faults at the callx.
        assertThat(run(lddw(3, 0xffff_ffff_0000_0001L), new CallX(3), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(2));
        HelperTable helpers = HelperTable.builder().add(5, "identity", (inv, a, b, c, d, e) -> a).build();
        assertThat(run(new JitEngine(), helpers, new Invocation(new AddressSpace()), mov(1, 33), mov(3, 5), new CallX(3), exit()))
                .isEqualTo(new Outcome.Returned(33));
        assertThat(run(new JitEngine(), helpers, new Invocation(new AddressSpace()), mov(3, 6), new CallX(3), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(1);
                    assertThat(f.reason()).contains("neither a function pointer nor a known helper");
                });
    }

    @Test
    void helpersAreCalledByNumberAndTheirFaultsAttributed() {
        HelperTable helpers = HelperTable.builder()
                .add(1, "sum", (inv, a, b, c, d, e) -> a + b + c + d + e)
                .add(2, "refuse", (inv, a, b, c, d, e) -> { throw new ExtensionFault("refused " + a); })
                .add(3, "buggy", (inv, a, b, c, d, e) -> { throw new IllegalStateException("oops"); })
                .build();
        Invocation inv = new Invocation(new AddressSpace(), 1, 2, 3, 4, 5);
        assertThat(run(new JitEngine(), helpers, inv, Call.helper(1), exit())).isEqualTo(new Outcome.Returned(15));
        assertThat(run(new JitEngine(), helpers, new Invocation(new AddressSpace(), 9), mov(0, 0), Call.helper(2), exit()))
                .isEqualTo(new Outcome.Faulted(1, "refused 9"));
        assertThat(run(new JitEngine(), helpers, new Invocation(new AddressSpace()), Call.helper(3), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.reason()).contains("oops"));
        assertThat(run(new JitEngine(), helpers, new Invocation(new AddressSpace()), mov(0, 0), mov(0, 0), Call.helper(77), exit()))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
                    assertThat(f.pc()).isEqualTo(2);
                    assertThat(f.reason()).contains("77");
                });
    }

    @Test
    void mayGotoJumpsOnceTheBudgetIsExhausted() {
        // r0 counts loop iterations; may_goto leaves the loop when the budget is gone.
        Instruction[] loop = {mov(0, 0), new MayGoto((short) 2), alu64(AluOp.ADD, 0, imm(1)), new Goto(-3, false), exit()};
        assertThat(run(new JitEngine(), HelperTable.empty(), new Invocation(new AddressSpace()).withLoopBudget(100), loop))
                .isEqualTo(new Outcome.Returned(100));
        assertThat(r0(loop)).isEqualTo(RuntimeLimits.DEFAULT_LOOP_BUDGET);
    }

    @Test
    void anInfiniteLoopIsCancelledFromAnotherThread() throws Exception {
        Invocation inv = new Invocation(new AddressSpace());
        Code code = Code.of(mov(0, 0), alu64(AluOp.ADD, 0, imm(1)), new Goto(-2, false), exit());
        var executable = new JitEngine().load(code, Bindings.of(HelperTable.empty()));
        CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> executable.run(inv));
        Thread.sleep(50);
        inv.requestCancel("watchdog");
        assertThat(outcome.get(1, TimeUnit.SECONDS)).isEqualTo(new Outcome.Cancelled(2, "watchdog", List.of()));
    }

    @Test
    void anInterruptOfAWatchedThreadCancelsAtTheNextBackwardBranch() throws Exception {
        Code code = Code.of(mov(0, 0), new Jump(true, JumpOp.JEQ, 0, imm(0), (short) -1), exit());
        var executable = new JitEngine().load(code, Bindings.of(HelperTable.empty()));
        CompletableFuture<Outcome> result = new CompletableFuture<>();
        try (io.kflex.runtime.Watchdog watchdog = new io.kflex.runtime.Watchdog()) {
            Thread runner = Thread.ofPlatform().start(() -> {
                Invocation inv = new Invocation(new AddressSpace());
                try (var watch = watchdog.watch(inv, java.time.Duration.ofMinutes(1))) {
                    result.complete(executable.run(inv));
                }
            });
            Thread.sleep(50);
            runner.interrupt();
            assertThat(result.get(5, TimeUnit.SECONDS)).isInstanceOfSatisfying(Outcome.Cancelled.class, c -> {
                assertThat(c.pc()).isEqualTo(1);
                assertThat(c.reason()).isEqualTo("interrupted");
            });
        }
    }

    @Test
    void largeProgramsAreSplitUnderTheCompileLimit() throws Exception {
        // ~3000 instructions with loops and stack traffic: far over 8000 bytes as one method.
        List<Instruction> program = new ArrayList<>();
        program.add(mov(0, 0));
        program.add(mov(6, 3));
        int loopStart = program.size();
        for (int i = 0; i < 600; i++) {
            program.add(alu64(AluOp.ADD, 0, imm(i)));
            program.add(new StoreReg(Size.DW, 10, 0, (short) -8));
            program.add(new Load(Size.DW, false, 1, 10, (short) -8));
            program.add(alu64(AluOp.XOR, 0, reg(1)));
            program.add(alu64(AluOp.ADD, 0, imm(1)));
        }
        program.add(alu64(AluOp.SUB, 6, imm(1)));
        program.add(new Jump(true, JumpOp.JNE, 6, imm(0), (short) (loopStart - program.size() - 1)));
        program.add(exit());
        Code code = Code.of(program);
        Bindings bindings = Bindings.of(HelperTable.empty());
        JitCompiler compiler = new JitCompiler(code, bindings);
        JitExecutable executable = new JitEngine().load(compiler);
        assertThat(executable.splitSubprograms()).isEqualTo(1);
        byte[] bytes = executable.classBytes();
        assertThat(JitCompiler.classFile().verify(bytes)).isEmpty();
        assertThat(JitCompiler.largestMethod(bytes)).isLessThanOrEqualTo(JitCompiler.HUGE_METHOD_LIMIT);
        // x ^ x = 0 after each group, so r0 ends as 3 * 1 (last group: 0 ^ 0 + 1).
        assertThat(executable.run(new Invocation(new AddressSpace()))).isEqualTo(new Outcome.Returned(1));
    }

    /** A loop with a local call, padded so that it is worth splitting; faults at the returned pc when r1 starts large. */
    private static List<Instruction> splittable(int counter) {
        List<Instruction> p = new ArrayList<>(List.of(mov(0, 0), mov(1, counter)));
        for (int i = 0; i < 30; i++) p.add(alu64(AluOp.ADD, 3, imm(i)));
        p.addAll(List.of(
                alu64(AluOp.ADD, 0, reg(1)), alu64(AluOp.SUB, 1, imm(1))));
        for (int i = 0; i < 30; i++) p.add(alu64(AluOp.XOR, 4, reg(3)));
        p.addAll(List.of(
                Call.local(6),
                new Jump(true, JumpOp.JNE, 1, imm(0), (short) -34),
                new Jump(true, JumpOp.JGT, 0, imm(1000), (short) 1),
                exit(),
                mov(2, 0), new Load(Size.B, false, 0, 2, (short) 0), exit(),
                alu64(AluOp.MOV, 0, reg(1)), alu64(AluOp.MUL, 0, imm(2)), alu64(AluOp.ADD, 0, imm(1)), alu64(AluOp.SUB, 0, imm(1)), exit()));
        return p;
    }

    @Test
    void splitRegionsKeepSemanticsFaultsAndCalls() throws Exception {
        // Small method limits force many regions: jumps across regions, calls and faults inside.
        Code code = Code.of(splittable(10));
        // The call follows the decrement and overwrites r0, so the last iteration leaves r0 = 2 * 0.
        Outcome expected = new JitEngine().load(code, Bindings.of(HelperTable.empty())).run(new Invocation(new AddressSpace()));
        assertThat(expected).isEqualTo(new Outcome.Returned(0));
        int whole = JitCompiler.largestMethod(JitEngine.generate(code, Bindings.of(HelperTable.empty())));
        for (int limit : new int[] {whole / 2, whole * 3 / 4, whole - 1}) {
            JitExecutable split = new JitEngine().load(new JitCompiler(code, Bindings.of(HelperTable.empty()), limit));
            assertThat(split.splitSubprograms()).as("limit %d of %d", limit, whole).isPositive();
            assertThat(JitCompiler.largestMethod(split.classBytes())).isLessThanOrEqualTo(limit);
            assertThat(JitCompiler.classFile().verify(split.classBytes())).isEmpty();
            assertThat(split.run(new Invocation(new AddressSpace()))).isEqualTo(expected);
        }
        // Make the callee return 5000 so that the JGT after the loop fires and the load faults.
        List<Instruction> faulting = splittable(10);
        faulting.set(1, mov(1, 2000));
        faulting.set(faulting.size() - 3, alu64(AluOp.MOV, 0, imm(5000))); // callee: r0 = 5000
        code = Code.of(faulting);
        int loadPc = faulting.indexOf(new Load(Size.B, false, 0, 2, (short) 0));
        JitExecutable split = new JitEngine().load(new JitCompiler(code, Bindings.of(HelperTable.empty()), whole / 2));
        assertThat(split.splitSubprograms()).isPositive();
        assertThat(split.run(new Invocation(new AddressSpace())))
                .isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(loadPc));
    }
}
