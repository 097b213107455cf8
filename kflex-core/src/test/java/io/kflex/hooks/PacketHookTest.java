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
}
