package io.kflex.hooks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.ObjectMap;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.maps.MapSpec;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PacketHookTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    /** One XDP program over one device map "devs" (map 0). */
    private static Extension open(KFlexRuntime runtime, String source) throws Exception {
        Code code = Assembler.assemble(source);
        Program program = new Program("prog", "xdp", ProgramType.XDP, code, List.of(0), List.of(), List.of());
        ObjectMap devs = new ObjectMap(MapSpec.of("devs", MapSpec.DEVMAP, 4, 4, 8, 0), ObjectMap.Origin.BTF, ".maps", null, new TreeMap<>());
        return runtime.open(new ExtensionObject("redirect", List.of(program), List.of(devs), Optional.empty(), "GPL", Optional.empty()));
    }

    /** bpf_redirect_map(&devs, key = first frame byte, flags = XDP_PASS as the fallback). */
    private static final String REDIRECT_BY_FIRST_BYTE = """
            r6 = r1
            r2 = *(u32 *)(r6 + 0x0)
            r3 = *(u32 *)(r6 + 0x4)
            r4 = r2
            r4 += 0x1
            r0 = 0x1
            if r4 > r3 goto +0x5
            r2 = *(u8 *)(r2 + 0x0)
            r1 = map_idx(0x0) ll
            r3 = 0x2
            call 0x33
            exit
            """;

    @ParameterizedTest
    @MethodSource("engines")
    void redirectMapSendsTheFrameToTheStoredInterfaceOrFallsBack(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(2)).build();
             Extension ext = open(runtime, REDIRECT_BY_FIRST_BYTE)) {
            ext.maps().byName("devs").update(new byte[] {3, 0, 0, 0}, new byte[] {42, 0, 0, 0}, 0);
            PacketHook hook = new PacketHook();
            hook.attach(ext.load("prog"));
            byte[] frame = new byte[60];
            frame[0] = 3;
            PacketHook.Result redirected = hook.process(frame, 0);
            assertThat(redirected.action()).isEqualTo(XdpAction.REDIRECT);
            assertThat(redirected.redirectIfindex()).isEqualTo(42);
            frame[0] = 4;
            assertThat(hook.process(frame, 0).action()).as("empty slot: the flags' fallback").isEqualTo(XdpAction.PASS);
            assertThat(hook.count(XdpAction.REDIRECT)).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aProgramReadingThePacketWithoutABoundsCheckNeverReachesTheHook(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = open(runtime, "r0 = 0x1\nr2 = *(u32 *)(r1 + 0x0)\nr2 = *(u8 *)(r2 + 0x0)\nexit\n")) {
            assertThatThrownBy(() -> ext.load("prog")).isInstanceOf(io.kflex.verifier.VerificationException.class)
                    .hasMessageContaining("OUT_OF_BOUNDS");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void onlyXdpProgramsAttach(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = runtime.open("calc", ProgramType.SYSCALL, Assembler.assemble("r0 = 0x0\nexit\n"))) {
            LoadedProgram p = ext.load("calc");
            assertThatThrownBy(() -> new PacketHook().attach(p)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("XDP");
        }
    }

    /**
     * Adds 1 to the frame's first byte and transmits it; a first byte of 0xff spins until the
     * watchdog cancels the run.
     */
    private static final String BUMP_FIRST_BYTE = """
            r2 = *(u32 *)(r1 + 0x0)
            r3 = *(u32 *)(r1 + 0x4)
            r4 = r2
            r4 += 0x1
            r0 = 0x2
            if r4 > r3 goto +0x6
            r5 = *(u8 *)(r2 + 0x0)
            if r5 == 0xff goto +0x4
            r5 += 0x1
            *(u8 *)(r2 + 0x0) = r5
            r0 = 0x3
            exit
            goto -0x1
            """;

    private static byte[] frame(int first, int length) {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++) frame[i] = (byte) (i * 7 + length);
        frame[0] = (byte) first;
        return frame;
    }

    private static void assertBumped(PacketHook.Result result, byte[] sent) {
        assertThat(result.action()).isEqualTo(XdpAction.TX);
        byte[] expected = sent.clone();
        expected[0]++;
        assertThat(result.frame()).containsExactly(expected);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void everyFrameOnEveryHookThreadIsSeenExactlyAsItCame(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = runtime.open("bump", ProgramType.XDP, Assembler.assemble(BUMP_FIRST_BYTE))) {
            PacketHook hook = new PacketHook();
            hook.attach(ext.load("bump"));
            java.util.concurrent.atomic.AtomicInteger wrong = new java.util.concurrent.atomic.AtomicInteger();
            List<Thread> threads = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int cpu = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (int i = 0; i < 2_000; i++) {
                        // Frames of changing lengths: a longer earlier one must not show through a shorter one.
                        byte[] sent = frame(cpu * 100 + i % 50, 14 + (i * 13) % 200);
                        PacketHook.Result r = hook.process(sent, cpu);
                        byte[] expected = sent.clone();
                        expected[0]++;
                        if (r.action() != XdpAction.TX || !java.util.Arrays.equals(r.frame(), expected)) wrong.incrementAndGet();
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertThat(wrong.get()).isZero();
            assertThat(hook.count(XdpAction.TX)).isEqualTo(4_000);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aCancelledFrameLeavesNothingBehindForTheNextOneOnTheSameThread(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).policy(io.kflex.runtime.CancellationPolicy.KEEP).build();
             Extension ext = runtime.open("bump", ProgramType.XDP, Assembler.assemble(BUMP_FIRST_BYTE))) {
            PacketHook hook = new PacketHook(1, XdpAction.PASS, Duration.ofMillis(20));
            hook.attach(ext.load("bump"));
            byte[] first = frame(1, 60);
            assertBumped(hook.process(first, 0), first);
            byte[] spin = frame(0xff, 60);
            PacketHook.Result cancelled = hook.process(spin, 0);
            assertThat(cancelled.outcome()).isInstanceOf(io.kflex.engine.Outcome.Cancelled.class);
            assertThat(cancelled.action()).as("the fallback verdict, with the frame as it came").isEqualTo(XdpAction.PASS);
            assertThat(cancelled.frame()).containsExactly(spin);
            for (int i = 0; i < 3; i++) {
                byte[] next = frame(i, 30 + i);
                assertBumped(hook.process(next, 0), next);
            }
            assertThat(hook.fallbacks()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aFrameProcessedWhileTheThreadsLaneIsBusyGetsItsOwn(String engine) throws Exception {
        // An engine whose programs, when asked, first send a frame through the hook themselves: a
        // host callback of a running program that processes a frame on the same thread.
        AtomicReference<Runnable> duringRun = new AtomicReference<>(() -> { });
        io.kflex.engine.Engine inner = io.kflex.engine.Engines.named(engine).orElseThrow();
        io.kflex.engine.Engine reentrant = new io.kflex.engine.Engine() {
            @Override public String name() { return inner.name(); }

            @Override
            public io.kflex.engine.Executable load(Code code, io.kflex.engine.Bindings bindings) throws io.kflex.engine.EngineException {
                io.kflex.engine.Executable program = inner.load(code, bindings);
                return invocation -> {
                    Runnable r = duringRun.getAndSet(() -> { });
                    r.run();
                    return program.run(invocation);
                };
            }
        };
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(reentrant).build();
             Extension ext = runtime.open("bump", ProgramType.XDP, Assembler.assemble(BUMP_FIRST_BYTE))) {
            PacketHook hook = new PacketHook();
            hook.attach(ext.load("bump"));
            byte[] warm = frame(5, 40);
            assertBumped(hook.process(warm, 0), warm);
            byte[] inner1 = frame(20, 100), outer = frame(10, 64), after = frame(30, 20);
            AtomicReference<PacketHook.Result> nested = new AtomicReference<>();
            duringRun.set(() -> nested.set(hook.process(inner1, 0)));
            assertBumped(hook.process(outer, 0), outer);
            assertBumped(nested.get(), inner1);
            assertBumped(hook.process(after, 0), after);
        }
    }
}
