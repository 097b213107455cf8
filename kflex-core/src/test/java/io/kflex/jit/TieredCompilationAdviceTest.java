package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workloads;
import org.junit.jupiter.api.Test;

/**
 * The advice for hosts whose HotSpot options could leave a large generated method at C1's tier 2
 * for good, and the method size it is based on.
 */
class TieredCompilationAdviceTest {

    @Test
    void adviceIsForLargeMethodsUnderTieredCompilationWithoutEnoughTier3Delay() {
        int large = TieredCompilationAdvice.C1_COMFORTABLE_BYTES + 1, small = TieredCompilationAdvice.C1_COMFORTABLE_BYTES;
        assertThat(TieredCompilationAdvice.needed(large, true, 5)).as("HotSpot's default Tier3DelayOn").isTrue();
        assertThat(TieredCompilationAdvice.needed(small, true, 5)).as("a method C1 compiles").isFalse();
        assertThat(TieredCompilationAdvice.needed(large, false, 5)).as("no tiers, no tier 2").isFalse();
        assertThat(TieredCompilationAdvice.needed(large, true, TieredCompilationAdvice.ENOUGH_TIER3_DELAY)).as("./kflex's option").isFalse();
    }

    @Test
    void theWarningSpellsTheOptionAsItMustBeTyped() {
        assertThat(TieredCompilationAdvice.message(6515)).contains("-XX:Tier3DelayOn=100000 ").contains("6515 bytes");
    }

    @Test
    void theOptionsAreReadFromThisJvm() {
        TieredCompilationAdvice.Options options = TieredCompilationAdvice.Options.current();
        assertThat(options).as("HotSpot reports its options").isNotNull();
        assertThat(options.tier3DelayOn()).isPositive();
    }

    @Test
    void aProgramsShapeCarriesItsLargestMethod() throws Exception {
        try (KflexTarget t = KflexTarget.open(Workloads.named("memcached-get").orElseThrow(), TestObjects.objectsDir(), new JitEngine())) {
            JitExecutable jit = (JitExecutable) t.program().executable();
            int largest = jit.shape().largestMethodBytes();
            assertThat(largest).isEqualTo(JitCompiler.largestMethod(jit.classBytes()));
            // The GET's method: large enough to call for the advice, and (since its loads' cold
            // paths are calls) under the size at which C1 refused it.
            assertThat(largest).isGreaterThan(TieredCompilationAdvice.C1_COMFORTABLE_BYTES).isLessThan(4_000);
        }
    }
}
