package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The measuring-only JIT leaves out cancellation polls and heap confinement, and no one can select it by name. */
class UninstrumentedJitTest {

    @Test
    void isNotRegisteredAndSaysWhatItIs() {
        JitEngine engine = JitEngine.uninstrumentedForMeasurementOnly();
        assertThat(engine.instrumented()).isFalse();
        assertThat(engine.name()).isEqualTo(JitEngine.UNINSTRUMENTED_NAME);
        assertThat(new JitEngine().instrumented()).isTrue();
        assertThat(Engines.available()).extracting(e -> e.name()).doesNotContain(JitEngine.UNINSTRUMENTED_NAME);
    }

    @Test
    void backEdgesPollForCancellationOnlyWhenInstrumented() throws Exception {
        Code loop = Assembler.assemble("""
                mov r0, 0
                add r0, 1
                jlt r0, 100, -2
                exit
                """);
        Bindings bindings = Bindings.of(HelperTable.empty());
        String instrumented = new String(new JitCompiler(loop, bindings).generate(), StandardCharsets.ISO_8859_1);
        String plain = new String(new JitCompiler(loop, bindings, JitCompiler.HUGE_METHOD_LIMIT, false).generate(),
                StandardCharsets.ISO_8859_1);
        assertThat(instrumented).contains("CancellationBeacon");
        assertThat(plain).doesNotContain("CancellationBeacon");
    }

    @Test
    void aProgramWhoseLoopsAreAllCountedHasNothingToInstrument() throws Exception {
        // The memcached GET's key loop is counted (at most 32 key bytes): its may_goto and the
        // backward goto clang closes the loop with are quiet, and it touches no heap.
        var w = io.kflex.bench.Workloads.named("memcached-get").orElseThrow();
        byte[] instrumented, plain;
        try (var t = io.kflex.bench.KflexTarget.open(w, io.kflex.TestObjects.objectsDir(), new JitEngine())) {
            assertThat(t.program().verified().quietPolls()).hasSize(2);
            instrumented = ((JitExecutable) t.program().executable()).classBytes();
        }
        try (var t = io.kflex.bench.KflexTarget.open(w, io.kflex.TestObjects.objectsDir(), JitEngine.uninstrumentedForMeasurementOnly())) {
            plain = ((JitExecutable) t.program().executable()).classBytes();
        }
        assertThat(new String(instrumented, StandardCharsets.ISO_8859_1)).doesNotContain("CancellationBeacon");
        assertThat(instrumented).isEqualTo(plain);
    }
}
