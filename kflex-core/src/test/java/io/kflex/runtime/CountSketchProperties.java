package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.heap.HeapView;
import io.kflex.maps.BpfMap;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * count_sketch.bpf.o against a Java Count Sketch with the same hashes: after random adds (signed
 * counts, 32-bit wrap-around included), on both engines, every counter in the heap and every
 * estimate equal the reference's exactly.
 */
class CountSketchProperties {
    /** The reference: count_sketch.bpf.c's layout and hashes (its header comment). */
    static final class JavaCountSketch {
        static final int DEPTH = 5, WIDTH_BITS = 10, WIDTH = 1 << WIDTH_BITS;
        static final long[] COLUMN_SEEDS = {0x9e3779b97f4a7c15L, 0xc2b2ae3d27d4eb4fL, 0x165667b19e3779f9L, 0xd6e8feb86659fd93L, 0xff51afd7ed558ccdL};
        static final long[] SIGN_SEEDS = {0xc4ceb9fe1a85ec53L, 0x94d049bb133111ebL, 0xbf58476d1ce4e5b9L, 0x27d4eb2f165667c5L, 0x85ebca77c2b2ae63L};
        final int[][] rows = new int[DEPTH][WIDTH];

        static int column(long key, int row) { return (int) ((key * COLUMN_SEEDS[row]) >>> (64 - WIDTH_BITS)); }

        static int sign(long key, int row) { return key * SIGN_SEEDS[row] < 0 ? -1 : 1; }

        void add(long key, long count) {
            for (int r = 0; r < DEPTH; r++) rows[r][column(key, r)] += sign(key, r) * (int) count; // int arithmetic wraps like the s32 counters
        }

        long estimate(long key) {
            long[] v = new long[DEPTH];
            for (int r = 0; r < DEPTH; r++) v[r] = (long) sign(key, r) * rows[r][column(key, r)];
            Arrays.sort(v);
            return v[DEPTH / 2];
        }
    }

    record Add(long key, long count) {}

    /** One engine's runtime with the object's two programs, and the sketch seen through the heap view. */
    record Sketch(KFlexRuntime runtime, LoadedProgram add, LoadedProgram estimate) implements AutoCloseable {
        static Sketch open(String engine) throws Exception {
            KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(5)).build();
            try {
                Extension ext = runtime.open(TestObjects.object("count_sketch.bpf.o"));
                return new Sketch(runtime, ext.load("cs_add"), ext.load("cs_estimate"));
            } catch (Exception | Error e) {
                runtime.close();
                throw e;
            }
        }

        long add(long key, long count) { return run(add, key, count)[0]; }

        /** {retval, estimate}. */
        long[] estimate(long key) { return run(estimate, key, 0); }

        private static long[] run(LoadedProgram p, long key, long count) {
            byte[] ctx = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(key).putLong(count).array();
            TestRunResult r = p.testRun(TestRun.once().withContext(ctx));
            assertThat(r.outcome()).as("%s(%d)", p.name(), key).isInstanceOf(io.kflex.engine.Outcome.Returned.class);
            return new long[] {r.retval(), ByteBuffer.wrap(r.ctxOut()).order(ByteOrder.LITTLE_ENDIAN).getLong(8)};
        }

        /** The counters' address: the pointer the extension published in .bss (its only .bss global). */
        long counters() {
            BpfMap bss = add.extension().maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst().orElseThrow();
            long s = ByteBuffer.wrap(bss.lookup(new byte[4]).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
            assertThat(s).as("the extension published its sketch").isNotZero();
            return s;
        }

        HeapView heap() { return add.extension().maps().heap().view(); }

        @Override
        public void close() { runtime.close(); }
    }

    private static Sketch interpreter, jit;

    @BeforeContainer
    static void load() throws Exception {
        interpreter = Sketch.open("interpreter");
        jit = Sketch.open("jit");
    }

    @AfterContainer
    static void close() {
        if (interpreter != null) interpreter.close();
        if (jit != null) jit.close();
    }

    @Provide
    Arbitrary<List<Add>> adds() {
        // Few keys (so that columns are shared and estimates differ from the truth), some arbitrary
        // ones; counts small, or extreme so that counters wrap.
        Arbitrary<Long> keys = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(0, 300)),
                Tuple.of(2, Arbitraries.longs()));
        Arbitrary<Long> counts = Arbitraries.frequencyOf(
                Tuple.of(8, Arbitraries.longs().between(-1000, 1000)),
                Tuple.of(1, Arbitraries.of((long) Integer.MIN_VALUE, (long) Integer.MAX_VALUE, -1L, 1L << 32, Long.MIN_VALUE)),
                Tuple.of(1, Arbitraries.longs()));
        return Combinators.combine(keys, counts).as(Add::new).list().ofMinSize(1).ofMaxSize(400);
    }

    @Property(tries = 40)
    void countersAndEstimatesEqualTheReference(@ForAll("adds") List<Add> adds, @ForAll("probes") List<Long> probes) {
        for (Sketch sketch : List.of(interpreter, jit)) {
            sketch.estimate(0); // creates the sketch on first use
            long counters = sketch.counters();
            HeapView heap = sketch.heap();
            heap.fill(counters, (long) JavaCountSketch.DEPTH * JavaCountSketch.WIDTH * 4, (byte) 0); // the previous try's counts
            JavaCountSketch reference = new JavaCountSketch();
            for (Add a : adds) {
                assertThat(sketch.add(a.key(), a.count())).isZero();
                reference.add(a.key(), a.count());
            }
            for (int r = 0; r < JavaCountSketch.DEPTH; r++) {
                for (int c = 0; c < JavaCountSketch.WIDTH; c++) {
                    long at = counters + 4L * (r * JavaCountSketch.WIDTH + c);
                    assertThat((int) heap.getU32(at)).as("row %d column %d", r, c).isEqualTo(reference.rows[r][c]);
                }
            }
            for (Add a : adds) assertThat(sketch.estimate(a.key())).as("estimate of %d", a.key()).containsExactly(0, reference.estimate(a.key()));
            for (long k : probes) assertThat(sketch.estimate(k)).as("estimate of %d", k).containsExactly(0, reference.estimate(k));
        }
    }

    @Provide
    Arbitrary<List<Long>> probes() {
        return Arbitraries.longs().list().ofMaxSize(50);
    }
}
