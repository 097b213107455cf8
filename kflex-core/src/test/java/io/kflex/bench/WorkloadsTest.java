package io.kflex.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.TestObjects;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.engine.TestEngines;
import io.kflex.jit.JitEngine;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** The benchmark workloads compute what their sources promise, on every engine and in plain Java. */
class WorkloadsTest {

    static Stream<Arguments> workloadsOnEngines() {
        List<Engine> engines = new ArrayList<>(TestEngines.all());
        engines.add(JitEngine.uninstrumentedForMeasurementOnly());
        return Workloads.all().stream().flatMap(w -> engines.stream().map(e -> Arguments.of(w.name(), e)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("workloadsOnEngines")
    void everyWorkloadReturnsWhatItPromises(String name, Engine engine) {
        Workload w = Workloads.named(name).orElseThrow();
        try (KflexTarget target = KflexTarget.open(w, TestObjects.objectsDir(), engine)) {
            for (int i = 0; i < 3; i++) assertThat(target.run()).isEqualTo(w.expectedRetval());
        }
    }

    @Test
    void plainJavaComputesTheSameResultsAsTheExtensions() {
        long[] out = new long[1];
        assertThat(PlainJavaWorkloads.hashMix(0, 1, out).run()).isEqualTo(1);
        assertThat(out[0]).isEqualTo(0xe220a8397b1dcdafL);
        assertThat(PlainJavaWorkloads.hashMix(0, 1000, out).run()).isEqualTo(1000);
        assertThat(out[0]).isEqualTo(0xa17ac4d60a6b3f89L);
        assertThat(PlainJavaWorkloads.listWalk(65_536, 42, out).run()).isEqualTo(65_536);
        assertThat(out[0]).isEqualTo(2147450880L);
        assertThat(PlainJavaWorkloads.listWalk(1000, 0, out).run()).isEqualTo(1000);
        assertThat(out[0]).isEqualTo(499500L);
        // list_build's first node for n = 65536, seed 42 (Linux's ctx out: first = 0x585f).
        assertThat(PlainJavaWorkloads.permutation(65_536, 42)[0]).isEqualTo(0x585f);
        for (Workload w : Workloads.all()) assertThat(w.plainJava().get().run()).as(w.name()).isEqualTo(w.expectedRetval());
    }

    @Test
    void dataStructureSuitesComputeTheSameSumsInPlainJavaAndInTheExtensions() throws Exception {
        long n = Workloads.STRUCTURE_KEYS;
        long[] out = new long[1];
        assertThat(PlainJavaWorkloads.kvGet((int) n, out).run()).isEqualTo(n);
        assertThat(out[0]).isEqualTo(3 * n * (n + 1) / 2);
        assertThat(PlainJavaWorkloads.skipListLookup((int) n, out).run()).isEqualTo(n);
        assertThat(out[0]).isEqualTo(n * (n + 1) / 2);
        // The extensions write the same sums into their context.
        for (Workload w : List.of(Workloads.kvStoreGet(), Workloads.skipListLookup())) {
            try (KflexTarget target = KflexTarget.open(w, TestObjects.objectsDir(), Engines.named("jit").orElseThrow())) {
                long sum = target.invocation().memory().load(target.invocation().argument(0) + 24, 8);
                assertThat(sum).as(w.name()).isEqualTo(w.name().equals("kvstore-get") ? 3 * n * (n + 1) / 2 : n * (n + 1) / 2);
            }
        }
        // Each count-min run adds 1 per key: after the check run of open() and two more, the
        // extension's estimates are plain Java's after three runs.
        Workload cm = Workloads.countMinUpdate();
        try (KflexTarget target = KflexTarget.open(cm, TestObjects.objectsDir(), Engines.named("jit").orElseThrow())) {
            target.run();
            target.run();
            var estimate = target.program().extension().load("cm_estimate");
            for (long key : new long[] {1, 42, n, n + 1, 99_999}) {
                var r = estimate.testRun(io.kflex.runtime.TestRun.once().withContext(Workloads.longs(key, 0)));
                long count = ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
                assertThat(count).as("estimate of %d", key).isEqualTo(PlainJavaWorkloads.countMinEstimate((int) n, 3, key));
            }
            assertThat(PlainJavaWorkloads.countMinEstimate((int) n, 3, 42)).isGreaterThanOrEqualTo(3);
        }
    }

    @Test
    void memcachedGetHitsMissesAndPasses() throws Exception {
        byte[] key = "key-0042".getBytes(StandardCharsets.US_ASCII);
        Map<Long, byte[]> cache = Map.of(PlainJavaWorkloads.fnv1a64(key, 0, key.length), key);
        assertThat(PlainJavaWorkloads.fnv1a64(new byte[0], 0, 0)).isEqualTo(0xcbf29ce484222325L);
        assertThat(PlainJavaWorkloads.fnv1a64(new byte[] {'a'}, 0, 1)).isEqualTo(0xaf63dc4c8601ec8cL);
        byte[] hit = Workloads.udpFrame(11211, Workloads.memcachedRequest("get key-0042\r\n"));
        byte[] miss = Workloads.udpFrame(11211, Workloads.memcachedRequest("get key-9999\r\n"));
        byte[] set = Workloads.udpFrame(11211, Workloads.memcachedRequest("set key-0042 0 0 1\r\nx\r\n"));
        byte[] otherPort = Workloads.udpFrame(11212, Workloads.memcachedRequest("get key-0042\r\n"));
        assertThat(PlainJavaWorkloads.memcachedGet(hit, cache).run()).isEqualTo(3);
        assertThat(PlainJavaWorkloads.memcachedGet(miss, cache).run()).isEqualTo(2);
        assertThat(PlainJavaWorkloads.memcachedGet(set, cache).run()).isEqualTo(2);
        assertThat(PlainJavaWorkloads.memcachedGet(otherPort, cache).run()).isEqualTo(2);

        // The extension agrees on the same frames.
        Workload get = Workloads.memcachedGet();
        for (var frame : List.of(Map.entry(miss, 2L), Map.entry(set, 2L), Map.entry(otherPort, 2L))) {
            Workload w = new Workload(get.name(), get.description(), get.unit(), 1, get.object(), get.program(), new byte[0],
                    frame.getKey(), frame.getValue(), List.of(), get.mapFills(), 0, get.plainJava());
            try (KflexTarget target = KflexTarget.open(w, TestObjects.objectsDir(), Engines.named("jit").orElseThrow())) {
                assertThat(target.run()).isEqualTo(frame.getValue());
            }
        }
    }

    @Test
    void listWalksOfAnySizeVisitEveryNodeOnBothEnginesAndInJava() {
        for (int nodes : new int[] {1, 1024, 4096}) {
            Workload w = Workloads.listWalk(nodes);
            assertThat(w.name()).isEqualTo("listwalk-" + nodes);
            assertThat(w.plainJava().get().run()).isEqualTo(nodes);
            for (String engine : List.of("jit", "interpreter")) {
                try (KflexTarget target = KflexTarget.open(w, TestObjects.objectsDir(), Engines.named(engine).orElseThrow())) {
                    assertThat(target.runChecked()).as(engine + ", " + nodes + " nodes").isEqualTo(nodes);
                }
            }
        }
        assertThatThrownBy(() -> Workloads.listWalk(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Workloads.listWalk(65_537)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Workloads.listWalk()).usingRecursiveComparison().ignoringFields("plainJava").isEqualTo(Workloads.listWalk(65_536));
    }

    @Test
    void aPairRunsTwoEnginesOverOneHeap() {
        Workload w = Workloads.listWalk();
        Engine jit = Engines.named("jit").orElseThrow(), interpreter = Engines.named("interpreter").orElseThrow();
        KflexTarget.Pair pair = KflexTarget.openPair(w, TestObjects.objectsDir(), jit, interpreter);
        try (pair) {
            assertThat(pair.a().run()).isEqualTo(w.expectedRetval());
            assertThat(pair.b().run()).isEqualTo(w.expectedRetval());
            // One extension, so one heap: the list the setup built once is what both walk.
            assertThat(pair.b().program().extension()).isSameAs(pair.a().program().extension());
            assertThat(pair.a().program().executable().getClass()).isNotEqualTo(pair.b().program().executable().getClass());
            // The second program is not the extension's own (prog arrays and programs() never see it).
            assertThat(pair.a().program().extension().programs()).containsValue(pair.a().program())
                    .doesNotContainValue(pair.b().program());
        }
        assertThat(pair.a().program().unloaded()).isTrue();
        assertThat(pair.b().program().unloaded()).as("unloaded with its extension").isTrue();
    }

    @Test
    void aWrongResultIsReportedNotTimed() {
        Workload h = Workloads.hashMix(10);
        Workload wrong = new Workload(h.name(), h.description(), h.unit(), h.unitsPerRun(), h.object(), h.program(), h.ctxIn(),
                h.dataIn(), 11, List.of(), List.of(), 0, h.plainJava());
        assertThatThrownBy(() -> KflexTarget.open(wrong, TestObjects.objectsDir(), Engines.named("interpreter").orElseThrow()))
                .isInstanceOf(BenchException.class).hasMessageContaining("expected retval 11");
    }

    @Test
    void measureReportsTheMedianOfItsRounds() {
        long[] calls = new long[1];
        Measure.Result r = Measure.measure(() -> ++calls[0], Measure.Settings.quick());
        assertThat(r.roundsNs()).hasSize(Measure.Settings.quick().rounds());
        assertThat(r.runs()).isPositive();
        double[] sorted = r.roundsNs().clone();
        java.util.Arrays.sort(sorted);
        assertThat(r.medianNs()).isEqualTo(sorted[sorted.length / 2]);
        assertThat(calls[0]).isGreaterThan(r.runs());
    }

    @Test
    void hashMixContextIsTheSourcesLayout() {
        ByteBuffer ctx = ByteBuffer.wrap(Workloads.hashMix(1234).ctxIn()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(ctx.getLong(0)).isZero();
        assertThat(ctx.getInt(8)).isEqualTo(1234);
        assertThat(ctx.capacity()).isEqualTo(24);
    }
}
