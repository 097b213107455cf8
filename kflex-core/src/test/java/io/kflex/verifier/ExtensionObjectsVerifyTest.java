package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

import io.kflex.helpers.Kfuncs;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.Program;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Every program of every committed extension object verifies against the host's kfuncs. */
class ExtensionObjectsVerifyTest {

    /** Extensions that show a rejection (see their sources): object/program → the rule they break. */
    private static final java.util.Map<String, Rule> REJECTED_ON_PURPOSE = java.util.Map.of("sk_leak.bpf.o/leaky_owner", Rule.LEAKED_REFERENCE);

    static Path objects() {
        String dir = System.getProperty("kflex.repo.dir");
        Path root = dir != null && !dir.isBlank() ? Path.of(dir) : Path.of("..").toAbsolutePath().normalize();
        return root.resolve("extensions/objects");
    }

    static VerifiedProgram verify(String object, String program) throws Exception {
        ExtensionObject obj = ExtensionObject.open(objects().resolve(object), Kfuncs.resolver());
        Program p = obj.program(program);
        return Verifier.verify(p.code(), p.type(), obj.mapSpecs(), VerifierOptions.defaults());
    }

    @TestFactory
    Stream<DynamicTest> everyCommittedProgramVerifies() throws IOException {
        try (Stream<Path> files = Files.list(objects())) {
            return files.filter(f -> f.toString().endsWith(".o")).sorted().toList().stream().flatMap(f -> {
                ExtensionObject obj;
                try {
                    obj = ExtensionObject.open(f, Kfuncs.resolver());
                } catch (Exception e) {
                    throw new AssertionError(f + ": " + e.getMessage(), e);
                }
                return obj.programs().stream().map(p -> DynamicTest.dynamicTest(f.getFileName() + " " + p.name(), () -> {
                    Rule expected = REJECTED_ON_PURPOSE.get(f.getFileName() + "/" + p.name());
                    try {
                        Verifier.verify(p.code(), p.type(), obj.mapSpecs(), VerifierOptions.defaults());
                        if (expected != null) fail(p.name() + " was accepted, but it is an example of a " + expected + " rejection");
                    } catch (VerificationException e) {
                        if (expected == null) fail(p.name() + ": " + e.getMessage() + "\n" + e.log());
                        assertThat(e.rule()).isEqualTo(expected);
                    }
                }));
            });
        }
    }

    @Test
    void aBpfForLoopNeedsNoCancellationPointButOneNestedInAnotherDoes() throws Exception {
        VerifiedProgram single = verify("count_sketch.bpf.o", "cs_add");
        assertThat(single.backEdges()).singleElement().satisfies(b -> {
            assertThat(b.terminating()).isTrue();
            assertThat(b.reason()).contains("numeric iterator");
        });
        assertThat(single.cancellationPoints()).isEmpty();
        // triangle nests two bpf_for loops over an int range: up to 2^23 iterations each, 2^46 together.
        VerifiedProgram nested = verify("loop_bpf_for.bpf.o", "triangle");
        assertThat(nested.backEdges()).hasSize(2).allSatisfy(b -> assertThat(b.reason()).contains("numeric iterator"));
        BackEdgeFact outer = nested.backEdges().stream().filter(BackEdgeFact::terminating).findFirst().orElseThrow();
        BackEdgeFact inner = nested.backEdges().stream().filter(b -> !b.terminating()).findFirst().orElseThrow();
        assertThat(inner.to()).isGreaterThan(outer.to());
        assertThat(inner.reason()).contains("loops around it");
        assertThat(nested.cancellationPoints()).containsExactly(inner.from());
    }

    @Test
    void unboundedHeapWalkGetsACancellationPointAndHeapFacts() throws Exception {
        VerifiedProgram p = verify("unbounded_walk.bpf.o", "walk_unbounded");
        assertThat(p.cancellationPoints()).hasSize(1);
        assertThat(p.heapAccesses()).isPositive();
        assertThat(p.guardsElided()).isPositive();
    }

    @Test
    void heapLocksAreHeldResourcesAndHeapAccessesAreRecorded() throws Exception {
        VerifiedProgram p = verify("kflex_locks.bpf.o", "transfer");
        assertThat(p.heapAccesses()).isPositive();
        assertThat(p.cancellationPoints()).isEmpty();
    }

    @Test
    void allocatorLoopFreesEverythingAndWalksUnbounded() throws Exception {
        VerifiedProgram p = verify("kflex_alloc.bpf.o", "alloc_free");
        assertThat(p.cancellationPoints()).hasSize(1);
    }
}
