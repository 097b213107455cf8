package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Outcome;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import java.time.Duration;
import java.util.Locale;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Random packet accesses — offset, width, signedness, a store of the loaded value elsewhere, an
 * optional bpf_xdp_adjust_head first — on frames of random length: the JIT's direct accesses and
 * the interpreter's address-space accesses give the same outcome and the same frame.
 */
class HostAccessDifferentialProperties {
    private static final String[] LOADS = {"u8", "u16", "u32", "u64"};
    private static final int[] SIZES = {1, 2, 4, 8};

    private static String program(int loadOffset, int width, boolean signed, int storeOffset, int storeWidth, int headDelta) {
        String load = signed && width < 3 ? "s" + LOADS[width].substring(1) : LOADS[width];
        int end = Math.max(loadOffset + SIZES[width], storeOffset + SIZES[storeWidth]);
        String adjust = headDelta == 0 ? "" : String.format(Locale.ROOT, """
                r1 = r6
                r2 = %d
                call 0x2c
                """, headDelta);
        return "r6 = r1\n" + adjust + String.format(Locale.ROOT, """
                r2 = *(u32 *)(r6 + 0x0)
                r3 = *(u32 *)(r6 + 0x4)
                r4 = r2
                r4 += %d
                r0 = 0x1
                if r4 > r3 goto +0x3
                r5 = *(%s *)(r2 + %d)
                *(%s *)(r2 + %d) = r5
                r0 = 0x2
                exit
                """, end, load, loadOffset, LOADS[storeWidth], storeOffset);
    }

    private static TestRunResult run(String engine, String source, byte[] frame) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
             Extension ext = runtime.open("prog", ProgramType.XDP, Assembler.assemble(source))) {
            LoadedProgram program = ext.load("prog");
            if (engine.equals("jit")) assertThat(((JitExecutable) program.executable()).hostAccesses()).isEqualTo(4);
            return program.testRun(TestRun.once().withData(frame));
        }
    }

    @Property(tries = 60)
    void directPacketAccessesMatchTheInterpreter(@ForAll @IntRange(min = 14, max = 120) int length,
                                                 @ForAll @IntRange(min = 0, max = 100) int loadOffset,
                                                 @ForAll @IntRange(min = 0, max = 3) int width,
                                                 @ForAll boolean signed,
                                                 @ForAll @IntRange(min = 0, max = 100) int storeOffset,
                                                 @ForAll @IntRange(min = 0, max = 3) int storeWidth,
                                                 @ForAll @IntRange(min = -16, max = 8) int headDelta) throws Exception {
        byte[] frame = new byte[length];
        for (int i = 0; i < length; i++) frame[i] = (byte) (i * 151 + length);
        String source = program(loadOffset, width, signed, storeOffset, storeWidth, headDelta);
        TestRunResult interpreted = run("interpreter", source, frame);
        TestRunResult compiled = run("jit", source, frame);
        assertThat(compiled.outcome()).isEqualTo(interpreted.outcome());
        assertThat(interpreted.outcome()).isInstanceOf(Outcome.Returned.class);
        assertThat(compiled.dataOut()).isEqualTo(interpreted.dataOut());
    }
}
