package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.TestObjects;
import io.kflex.engine.Outcome;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.LoadException;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfMap;
import io.kflex.verifier.VerificationException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.stream.Stream;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The Java host API end to end: open → load (verify, rewrite, engine) → run, on both engines. */
class KFlexRuntimeTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    private static KFlexRuntime runtime(String engine) {
        return KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(2)).build();
    }

    /** struct calc_args { u32 op; u32 pad; s64 a, b, result; } */
    private static byte[] calc(int op, long a, long b) {
        return ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(op).putInt(0).putLong(a).putLong(b).putLong(0).array();
    }

    private static long result(byte[] ctx) {
        return ByteBuffer.wrap(ctx).order(ByteOrder.LITTLE_ENDIAN).getLong(24);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aSyscallProgramComputesInItsContextLikeBpfProgTestRun(String engine) throws Exception {
        try (KFlexRuntime runtime = runtime(engine); Extension ext = runtime.open(TestObjects.object("syscall_ctx.bpf.o"))) {
            LoadedProgram calc = ext.load("calc");
            TestRunResult r = calc.testRun(TestRun.once().withContext(calc(3, -7, 2)));
            assertThat(r.outcome()).isEqualTo(new Outcome.Returned(0));
            assertThat(result(r.ctxOut())).isEqualTo(-3);
            assertThat(result(calc.testRun(TestRun.once().withContext(calc(6, 0x0102030405060708L, 0))).ctxOut())).isEqualTo(0x0807060504030201L);
            TestRunResult unknown = calc.testRun(TestRun.once().withContext(calc(99, 1, 1)));
            assertThat(unknown.retval()).as("a u32, as BPF_PROG_TEST_RUN reports it").isEqualTo(0xffff_ffeaL);
            assertThat(unknown.outcome()).as("clang returns an int with a 32-bit move").isEqualTo(new Outcome.Returned(0xffff_ffeaL));
            TestRunResult repeated = calc.testRun(TestRun.once().withContext(calc(0, 40, 2)).withRepeat(50));
            assertThat(repeated.runs()).isEqualTo(50);
            assertThat(result(repeated.ctxOut())).isEqualTo(42);
            assertThat(calc.stats().runCount()).isEqualTo(53);
            assertThat(calc.stats().cancellations()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void tailCallTargetsInTheObjectsProgArrayAreLoadedWithTheirCaller(String engine) throws Exception {
        try (KFlexRuntime runtime = runtime(engine); Extension ext = runtime.open(TestObjects.object("tail_call.bpf.o"))) {
            LoadedProgram dispatch = ext.load("dispatch");
            assertThat(ext.programs()).containsKeys("dispatch", "stage_drop", "stage_tx", "stage_chain");
            byte[] frame = new byte[64];
            // The selector is the frame's first byte (see tail_call.bpf.c).
            int[] expected = {1, 3, 2, 1, 2};
            for (int b = 0; b < expected.length; b++) {
                frame[0] = (byte) b;
                assertThat(dispatch.testRun(TestRun.once().withData(frame)).retval()).as("selector %d", b).isEqualTo(expected[b]);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void programsOfOneObjectShareItsMapsWithTheHost(String engine) throws Exception {
        try (KFlexRuntime runtime = runtime(engine); Extension ext = runtime.open(TestObjects.object("globals.bpf.o"))) {
            LoadedProgram globals = ext.load("globals");
            TestRunResult first = globals.testRun(TestRun.once().withContext(new byte[8]));
            assertThat(first.retval()).isEqualTo(1233);
            assertThat(first.ctxOut()[4]).isEqualTo((byte) 1);
            TestRunResult second = globals.testRun(TestRun.once().withContext(new byte[] {1, 0, 0, 0, 0, 0, 0, 0}));
            assertThat(second.retval()).as("global state persists between runs").isEqualTo(2234);
            assertThat(second.ctxOut()[4]).isEqualTo((byte) 2);
            BpfMap bss = ext.maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst().orElseThrow();
            assertThat(bss.lookup(new byte[4]).orElseThrow()[0]).as("the host reads the extension's globals").isEqualTo((byte) 2);
        }
    }

    @Test
    void aRejectedProgramIsAVerificationErrorAndEmitsAJfrEvent() throws Exception {
        java.nio.file.Path dump = java.nio.file.Files.createTempFile("kflex", ".jfr");
        try (jdk.jfr.Recording recording = new jdk.jfr.Recording()) {
            recording.enable("io.kflex.VerificationFailed");
            recording.enable("io.kflex.ProgramLoaded");
            recording.start();
            try (KFlexRuntime runtime = runtime("jit"); Extension leak = runtime.open(TestObjects.object("sk_leak.bpf.o"));
                 Extension ok = runtime.open(TestObjects.object("xdp_pong.bpf.o"))) {
                assertThatThrownBy(() -> leak.load("leaky_owner")).isInstanceOf(VerificationException.class)
                        .hasMessageContaining("unreleased reference");
                ok.load("xdp_pong");
            }
            recording.stop();
            recording.dump(dump);
            var events = RecordingFile.readAllEvents(dump);
            assertThat(events).anySatisfy(e -> {
                assertThat(e.getEventType().getName()).isEqualTo("io.kflex.VerificationFailed");
                assertThat(e.getString("program")).isEqualTo("leaky_owner");
                assertThat(e.getString("rule")).isEqualTo("LEAKED_REFERENCE");
            });
            assertThat(events).map(RecordedEvent::getEventType).map(t -> t.getName()).contains("io.kflex.ProgramLoaded");
        } finally {
            java.nio.file.Files.deleteIfExists(dump);
        }
    }

    @Test
    void rawInstructionsLoadAsAProgramAndUnknownNamesAreClearErrors() throws Exception {
        try (KFlexRuntime runtime = runtime("jit");
             Extension ext = runtime.open("answer", ProgramType.SYSCALL, Assembler.assemble("r0 = 42\nexit\n"))) {
            assertThat(ext.load("answer").testRun(TestRun.once()).retval()).isEqualTo(42);
            assertThatThrownBy(() -> ext.load("question")).isInstanceOf(LoadException.class).hasMessageContaining("no program named 'question'");
        }
        assertThatThrownBy(() -> KFlexRuntime.builder().engine("turbo")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("turbo");
    }

    @Test
    void theHeapPolicyConfiguresEveryArenaAndHeapsGetDistinctUserWindows() throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().budget(Duration.ofSeconds(2)).heapPolicy(c -> c.withChecked(true).withMemoryLimit(1 << 20)).build();
             Extension a = runtime.open(TestObjects.object("heap_list.bpf.o"));
             Extension b = runtime.open(TestObjects.object("heap_list.bpf.o"))) {
            assertThat(a.maps().heap().checked()).isTrue();
            assertThat(a.maps().heap().memoryLimit()).isEqualTo(1 << 20);
            assertThat(a.maps().heap().userBase()).as("two default heaps cannot share a window").isNotEqualTo(b.maps().heap().userBase());
            byte[] n10 = {10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
            for (Extension ext : new Extension[] {a, b}) {
                TestRunResult r = ext.load("build_and_walk").testRun(TestRun.once().withContext(n10));
                assertThat(r.outcome()).isEqualTo(new Outcome.Returned(10));
            }
        }
    }

    /** Runs {@code program} once with a cancellation already requested, bypassing the watchdog. */
    private static Outcome runCancelledFromTheStart(LoadedProgram program, byte[] ctx) {
        var memory = program.newAddressSpace();
        var segment = java.lang.foreign.MemorySegment.ofArray(new long[512]);
        java.lang.foreign.MemorySegment.copy(ctx, 0, segment, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, ctx.length);
        long address = memory.map(new io.kflex.engine.Region(io.kflex.engine.Region.Kind.CONTEXT, segment, true, "ctx"));
        var invocation = new io.kflex.engine.Invocation(memory, address);
        invocation.requestCancel("requested before the start");
        return program.executable().run(invocation);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void onlyLoopsWithoutATerminationProofAreCancellationPoints(String engine) throws Exception {
        try (KFlexRuntime runtime = runtime(engine);
             Extension mix = runtime.open(TestObjects.object("bench_hashmix.bpf.o"));
             Extension collatz = runtime.open(TestObjects.object("loop_bounded.bpf.o"))) {
            // seed 0, 1000 iterations of a bpf_for loop, proven to end within 2^23 iterations: its
            // back-edge does not poll, so a run cancelled from the start goes through the whole loop
            // and stops only at the backward branch that the exhausted iterator (r0 == NULL after
            // bpf_iter_num_next) takes out of it — not a back-edge, so it polls. (hashmix_bounded's
            // constant bound is tested on a copy of its counter, which the verifier cannot relate to
            // the counter: it sees up to 2^32 iterations, and that loop polls.)
            byte[] args = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(0).putInt(1000).array();
            LoadedProgram bounded = mix.load("hashmix_bpf_for");
            assertThat(bounded.verified().cancellationPoints()).isEmpty();
            assertThat(bounded.verified().backEdges()).singleElement().satisfies(b -> assertThat(b.terminating()).isTrue());
            assertThat(runCancelledFromTheStart(bounded, args)).isInstanceOfSatisfying(Outcome.Cancelled.class, c -> {
                io.kflex.isa.Code code = bounded.program().code();
                assertThat(code.at(c.pc())).isInstanceOfSatisfying(io.kflex.isa.Instruction.Jump.class, j -> {
                    assertThat(j.op()).isEqualTo(io.kflex.isa.JumpOp.JEQ);
                    assertThat(j.dst()).isZero();
                    assertThat(j.src()).isEqualTo(io.kflex.isa.Operand.imm(0));
                });
                assertThat(code.at(c.pc() - 1)).isInstanceOfSatisfying(io.kflex.isa.Instruction.Call.class,
                        call -> assertThat(call.kind()).isEqualTo(io.kflex.isa.Instruction.CallKind.KFUNC));
                assertThat(bounded.verified().backEdges().getFirst().from()).isNotEqualTo(c.pc());
            });
            // hashmix_bounded's loop may run 2^32 times: its back-edge polls and the run stops there.
            LoadedProgram unbounded = mix.load("hashmix_bounded");
            assertThat(unbounded.verified().cancellationPoints()).hasSize(1);
            Outcome o = runCancelledFromTheStart(unbounded, args);
            assertThat(o).isInstanceOf(Outcome.Cancelled.class);
            int pc = ((Outcome.Cancelled) o).pc();
            assertThat(unbounded.program().code().branchTarget(pc)).as("stopped on a backward branch").isLessThanOrEqualTo(pc);
            // collatz's counter (steps < 1000) rotates between two registers, as clang emits it;
            // the comparison on one bounds the other, so the loop is proven.
            LoadedProgram collatzLoop = collatz.load("collatz");
            assertThat(collatzLoop.verified().cancellationPoints()).isEmpty();
            assertThat(collatzLoop.verified().backEdges()).singleElement()
                    .satisfies(b -> assertThat(b.reason()).contains("at most 999 iterations"));
        }
    }

    @Test
    void closingTheRuntimeClosesItsExtensionsAndTheirMaps() throws Exception {
        KFlexRuntime runtime = runtime("interpreter");
        Extension ext = runtime.open(TestObjects.object("maps_btf.bpf.o"));
        assertThat(runtime.maps().all()).isNotEmpty();
        runtime.close();
        assertThat(runtime.maps().all()).isEmpty();
        assertThatThrownBy(() -> ext.load("account")).isInstanceOf(IllegalStateException.class);
    }
}
