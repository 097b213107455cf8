package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kflex.TestObjects;
import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workloads;
import java.lang.classfile.ClassFile;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/**
 * Large generated methods are compiled by C2 and never by C1, whatever the JVM's options: classes
 * with a method past C1's comfortable size get the name a compiler directive leaves to C2.
 */
class HotSpotTiersTest {

    @Test
    void aClassWithALargeMethodIsNamedForC2AndASmallOneIsNot() throws Exception {
        try (KflexTarget get = KflexTarget.open(Workloads.named("memcached-get").orElseThrow(), TestObjects.objectsDir(), new JitEngine());
             KflexTarget mix = KflexTarget.open(Workloads.named("hashmix-1000").orElseThrow(), TestObjects.objectsDir(), new JitEngine())) {
            JitExecutable large = (JitExecutable) get.program().executable();
            JitExecutable small = (JitExecutable) mix.program().executable();
            // The GET's method: over the comfortable size, and (since its loads' cold paths are
            // calls) under the size at which C1 refused it.
            assertThat(large.shape().largestMethodBytes()).isEqualTo(JitCompiler.largestMethod(large.classBytes()))
                    .isGreaterThan(HotSpotTiers.C1_COMFORTABLE_BYTES).isLessThan(4_000);
            assertThat(small.shape().largestMethodBytes()).isLessThanOrEqualTo(HotSpotTiers.C1_COMFORTABLE_BYTES);
            assertThat(thisClass(large.classBytes())).isEqualTo("io/kflex/jit/LargeProgram");
            assertThat(thisClass(small.classBytes())).isEqualTo("io/kflex/jit/Program");
            assertThat(large.programClass().getName()).startsWith("io.kflex.jit.LargeProgram/");
        }
    }

    @Test
    void theDirectiveLeavesLargeProgramClassesToC2() throws Exception {
        assertThat(HotSpotTiers.DIRECTIVE).isEqualTo("[ { match: \"io/kflex/jit/LargeProgram*.*\", c1: { Exclude: true } } ]");
        assumeTrue(HotSpotTiers.Options.current() != null && HotSpotTiers.Options.current().tiered(), "a JVM that runs C1 and C2");
        assertThat(HotSpotTiers.prepareForLargeMethods()).isEqualTo(HotSpotTiers.Preparation.C2_ONLY);
        Object directives = ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "compilerDirectivesPrint", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        assertThat(directives.toString()).contains("matching: io/kflex/jit/LargeProgram*.*");
    }

    /**
     * The GET's method is one C1 can compile, so without the directive HotSpot's usual path gives it
     * a tier-3 compilation first (whose code stays in the code cache a while after C2's replaces
     * it); with it, the only compilations in the code cache are C2's. (JFR's compilation events
     * leave out hidden classes; the code cache's list has them.)
     */
    @Test
    void c2CompilesALargeProgramAndC1NeverDoes() throws Exception {
        assumeTrue(HotSpotTiers.Options.current() != null && HotSpotTiers.Options.current().tiered(), "a JVM that runs C1 and C2");
        Set<String> levels = new TreeSet<>();
        try (KflexTarget get = KflexTarget.open(Workloads.named("memcached-get").orElseThrow(), TestObjects.objectsDir(), new JitEngine())) {
            String f0 = ((JitExecutable) get.program().executable()).programClass().getName() + ".f0(";
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!levels.contains("4") && System.nanoTime() < deadline) {
                for (int i = 0; i < 5_000; i++) get.runChecked();
                levels.addAll(compiledLevels(f0));
            }
        }
        assertThat(levels).as("tiers of the program's f0 seen in the code cache").contains("4").doesNotContain("1", "2", "3");
    }

    /** The tiers of the compiled code of a method in the code cache now ({@code jcmd Compiler.codelist}: id, tier, state, method). */
    private static List<String> compiledLevels(String methodPrefix) throws Exception {
        Object list = ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
                "compilerCodelist", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        return list.toString().lines().map(line -> line.split(" ")).filter(f -> f.length > 3 && f[3].startsWith(methodPrefix))
                .map(f -> f[1]).toList();
    }

    @Test
    void whereTheDirectiveCannotBeAddedTheHostIsAdvisedUnlessItsOptionsSuffice() {
        HotSpotTiers.Installer refused = () -> "HotSpot replied: directive stack full";
        HotSpotTiers.Installer broken = () -> { throw new IllegalStateException("no management"); };
        HotSpotTiers.Installer unexpected = () -> { throw new AssertionError("not to be asked"); };
        assertThat(HotSpotTiers.prepare(new HotSpotTiers.Options(true, 5), () -> null)).isEqualTo(HotSpotTiers.Preparation.C2_ONLY);
        assertThat(HotSpotTiers.prepare(new HotSpotTiers.Options(true, 5), refused)).isEqualTo(HotSpotTiers.Preparation.ADVISED);
        assertThat(HotSpotTiers.prepare(new HotSpotTiers.Options(true, 5), broken)).isEqualTo(HotSpotTiers.Preparation.ADVISED);
        assertThat(HotSpotTiers.prepare(new HotSpotTiers.Options(true, HotSpotTiers.ENOUGH_TIER3_DELAY), refused))
                .isEqualTo(HotSpotTiers.Preparation.OPTIONS_SUFFICE);
        assertThat(HotSpotTiers.prepare(new HotSpotTiers.Options(false, 5), unexpected)).as("C1 or C2 alone").isEqualTo(HotSpotTiers.Preparation.NOT_NEEDED);
        assertThat(HotSpotTiers.prepare(null, unexpected)).as("not HotSpot").isEqualTo(HotSpotTiers.Preparation.NOT_NEEDED);
    }

    @Test
    void theAdviceSpellsTheOptionAsItMustBeTyped() {
        assertThat(HotSpotTiers.advice("no management")).contains("-XX:Tier3DelayOn=100000 ").contains("(no management)");
    }

    @Test
    void theOptionsAreReadFromThisJvm() {
        HotSpotTiers.Options options = HotSpotTiers.Options.current();
        assertThat(options).as("HotSpot reports its options").isNotNull();
        assertThat(options.tier3DelayOn()).isPositive();
    }

    private static String thisClass(byte[] classBytes) {
        return ClassFile.of().parse(classBytes).thisClass().asInternalName();
    }
}
