package io.kflex.maps;

import static io.kflex.maps.MapHarness.r0;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Region;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.TracePrintk;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.ResourceBundle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class StandardHelpersTest {
    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void timeRandomAndCpu(Engine e) throws Exception {
        MapHarness h = new MapHarness(4);
        Executable clocks = h.load(e, """
                call 5
                r6 = r0
                call 125
                r7 = r0
                call 5
                r0 -= r6
                exit
                """, h.maps());
        assertThat(r0(h.run(clocks))).isBetween(0L, 5_000_000_000L);
        Executable random = h.load(e, "call 7\nexit\n", h.maps());
        java.util.Set<Long> values = new java.util.HashSet<>();
        for (int i = 0; i < 20; i++) values.add(r0(h.run(random)));
        assertThat(values).hasSizeGreaterThan(10).allSatisfy(v -> assertThat(v).isBetween(0L, 0xffffffffL));
        Executable cpu = h.load(e, "call 8\nexit\n", h.maps());
        assertThat(r0(h.runOnCpu(cpu, 3))).isEqualTo(3);
    }

    @Test
    void formatsLikeLinux() {
        AddressSpace memory = new AddressSpace();
        byte[] text = "hello\0".getBytes(StandardCharsets.ISO_8859_1);
        long s = memory.map(new Region(Region.Kind.MEMORY, MemorySegment.ofArray(text), false, "s"));
        assertThat(TracePrintk.format("a=%d b=%u c=%x", new long[] {-1, -1, 255}, memory)).isEqualTo("a=-1 b=4294967295 c=ff");
        assertThat(TracePrintk.format("%lld %llu %lx", new long[] {-1, -1, -1}, memory)).isEqualTo("-1 18446744073709551615 ffffffffffffffff");
        assertThat(TracePrintk.format("[%5d|%-3d|%04x] %s %c%%", new long[] {42, 7, 0xab}, memory)).isNull(); // four arguments
        assertThat(TracePrintk.format("[%5d|%-3d|%04x]", new long[] {42, 7, 0xab}, memory)).isEqualTo("[   42|7  |00ab]");
        assertThat(TracePrintk.format("%s %c %p", new long[] {s, 'x', 0x10}, memory)).isEqualTo("hello x 0x10");
        assertThat(TracePrintk.format("%s", new long[] {8, 0, 0}, memory)).isEqualTo("(efault)");
        assertThat(TracePrintk.format("%+d|%05d|%-4x|% d", new long[] {5, -42, 0xa}, memory)).isNull();
        assertThat(TracePrintk.format("%+d|%05d|%-4x|", new long[] {5, -42, 0xa}, memory)).isEqualTo("+5|-0042|a   |");
        assertThat(TracePrintk.format("%ls", new long[] {s, 0, 0}, memory)).isNull();
        assertThat(TracePrintk.format("%q", new long[] {1, 0, 0}, memory)).isNull();
        assertThat(TracePrintk.format("%d %d %d %d", new long[] {1, 2, 3}, memory)).isNull();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void tracePrintkLogsRateLimitedLines(Engine e) throws Exception {
        List<String> lines = new ArrayList<>();
        System.Logger logger = new System.Logger() {
            public String getName() { return "test"; }
            public boolean isLoggable(Level level) { return true; }
            public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) { lines.add(msg); }
            public void log(Level level, ResourceBundle bundle, String format, Object... params) { lines.add(format); }
        };
        MapHarness h = new MapHarness();
        io.kflex.helpers.HelperTable helpers = io.kflex.helpers.StandardHelpers.register(io.kflex.helpers.HelperTable.builder(),
                new TracePrintk(logger, 3)).build();
        // "n=%d\0" on the stack, printed with r1 = the argument.
        Executable p = e.load(io.kflex.isa.asm.Assembler.assemble("""
                r3 = r1
                r1 = 0x64253d6e ll
                *(u64 *)(r10 - 8) = r1
                r1 = r10
                r1 += -8
                r2 = 8
                call 6
                exit
                """), io.kflex.engine.Bindings.of(helpers));
        for (int i = 0; i < 5; i++) assertThat(r0(h.run(p, i))).isEqualTo(3);
        assertThat(lines).containsExactly("n=0", "n=1", "n=2");
    }
}
