package io.kflex.maps;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Outcome;
import io.kflex.engine.TailCallable;
import io.kflex.engine.TestEngines;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.KfuncResolver;
import io.kflex.loader.Program;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The committed extension objects that use maps, loaded with {@link ExtensionObject#open},
 * their maps created with {@link MapSet}, verified, and run on every engine; expected results
 * are the ones their C sources document.
 */
class ExtensionObjectMapsTest {
    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final Path OBJECTS = Path.of(System.getProperty("kflex.repository", "..")).resolve("extensions/objects");

    /** One loaded object: its maps and its programs on one engine. */
    private static final class Loaded {
        final MapHarness h = new MapHarness();
        final ExtensionObject object;
        final MapSet maps;
        final Map<String, Executable> programs = new HashMap<>();

        Loaded(Engine engine, String file) throws Exception {
            object = ExtensionObject.open(OBJECTS.resolve(file), KfuncResolver.NONE);
            maps = MapSet.create(h.table, object.maps());
            for (Program p : object.programs()) {
                Verifier.verify(p.code(), p.type(), object.mapSpecs(), VerifierOptions.defaults());
                programs.put(p.name(), engine.load(p.code(), new Bindings(h.helpers, maps)));
            }
            maps.programSlots().forEach((mapName, slots) -> slots.forEach((index, program) ->
                    ((BpfProgArray) maps.byName(mapName)).set(index, (TailCallable) programs.get(program))));
        }

        /** Runs {@code program} with a context of {@code ctx} bytes; returns r0 as the C int it is. */
        int run(String program, ByteBuffer ctx) {
            byte[] bytes = ctx.array();
            Outcome outcome = h.runWithContext(programs.get(program), bytes);
            assertThat(outcome).as(program).isInstanceOf(Outcome.Returned.class);
            return (int) ((Outcome.Returned) outcome).r0();
        }
    }

    private static ByteBuffer ctx(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void globalData(Engine e) throws Exception {
        Loaded o = new Loaded(e, "globals.bpf.o");
        ByteBuffer c = ctx(8).putInt(0, 0);
        assertThat(o.run("globals", c)).isEqualTo(1233);
        assertThat(c.getInt(4)).isEqualTo(1);
        c.putInt(0, 1);
        assertThat(o.run("globals", c)).isEqualTo(2234);
        assertThat(c.getInt(4)).isEqualTo(2);
        assertThat(MapHarness.u64(o.maps.byName(".data").lookup(MapHarness.u32(0)).orElseThrow())).isEqualTo(44);
        assertThat(((BpfArray) o.maps.byName(".rodata")).region().writable()).isFalse();
        assertThat(((BpfArray) o.maps.byName(".data")).region().writable()).isTrue();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void btfMaps(Engine e) throws Exception {
        Loaded o = new Loaded(e, "maps_btf.bpf.o");
        ByteBuffer c = ctx(16).putInt(0, 5).putInt(4, 100);
        assertThat(o.run("account", c)).isEqualTo(1);
        assertThat(o.run("account", c)).isEqualTo(2);
        assertThat(c.getLong(8)).isEqualTo(200);
        c.putInt(0, 0).putInt(4, 5);
        assertThat(o.run("account", c)).isEqualTo(0);
        assertThat(o.run("account", c)).isEqualTo(-Errno.ENOENT);
        c.putInt(0, 5).putInt(4, 100);
        assertThat(o.run("account", c)).isEqualTo(1);
        BpfMap counters = o.maps.byName("counters");
        assertThat(MapHarness.u64(counters.lookup(MapHarness.u32(0)).orElseThrow())).isEqualTo(5);
        assertThat(MapHarness.u64(counters.lookup(MapHarness.u32(1)).orElseThrow())).isEqualTo(310);
        assertThat(((BpfArray) o.maps.byName("percpu")).lookupAllCpus(0).getFirst()).isEqualTo(MapHarness.u64(5));
        assertThat(MapHarness.u64(o.maps.byName("recent").lookup(MapHarness.u32(5)).orElseThrow())).isEqualTo(100);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void legacyMaps(Engine e) throws Exception {
        Loaded o = new Loaded(e, "maps_legacy.bpf.o");
        assertThat(o.run("legacy_count", ctx(8))).isEqualTo(1);
        assertThat(o.run("legacy_count", ctx(8))).isEqualTo(2);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void queueAndStack(Engine e) throws Exception {
        Loaded o = new Loaded(e, "maps_queue_stack.bpf.o");
        ByteBuffer c = ctx(32);
        assertThat(o.run("fifo_lifo", c)).isEqualTo(0);
        assertThat(new long[] {c.getLong(0), c.getLong(8), c.getLong(16), c.getLong(24)}).containsExactly(10, 20, 30, 20);
        assertThat(o.run("fifo_lifo", c)).isEqualTo(2);
        assertThat(new long[] {c.getLong(0), c.getLong(8), c.getLong(16), c.getLong(24)}).containsExactly(20, 30, 20, 10);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void mapsOfMaps(Engine e) throws Exception {
        Loaded o = new Loaded(e, "maps_of_maps.bpf.o");
        ByteBuffer c = ctx(16);
        assertThat(o.run("bump_inner", c.putInt(0, 0).putInt(4, 5))).isEqualTo(5);
        assertThat(o.run("bump_inner", c.putInt(0, 0).putInt(4, 5))).isEqualTo(10);
        assertThat(o.run("bump_inner", c.putInt(0, 1).putInt(4, 3))).isEqualTo(3);
        assertThat(c.getLong(8)).isEqualTo(3);
        assertThat(o.run("bump_inner", c.putInt(0, 2).putInt(4, 3))).isEqualTo(-2);
        assertThat(o.run("bump_inner", c.putInt(0, 9).putInt(4, 3))).isEqualTo(-2);
        assertThat(MapHarness.u64(o.maps.byName("inner_a").lookup(MapHarness.u32(0)).orElseThrow())).isEqualTo(10);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void ringBuffer(Engine e) throws Exception {
        Loaded o = new Loaded(e, "ringbuf.bpf.o");
        ByteBuffer c = ctx(16).putInt(0, 7);
        assertThat(o.run("emit", c)).isEqualTo(2);
        assertThat(c.getLong(8)).isEqualTo(48);
        assertThat(o.run("emit", c)).isEqualTo(2);
        assertThat(c.getLong(8)).isEqualTo(96);
        c.putInt(0, 0);
        assertThat(o.run("emit", c)).isEqualTo(0);
        assertThat(c.getLong(8)).isEqualTo(120);
        RingBufferConsumer consumer = ((BpfRingBuf) o.maps.byName("events")).consumer();
        for (int seq = 1; seq <= 4; seq++) {
            MemorySegment record = MemorySegment.ofArray(consumer.poll(Duration.ZERO).orElseThrow());
            assertThat(record.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(seq);
            assertThat(record.get(ValueLayout.JAVA_INT_UNALIGNED, 8)).isEqualTo(seq % 2 == 1 ? 1 : 2);
            assertThat(record.get(ValueLayout.JAVA_INT_UNALIGNED, 12)).isEqualTo(7);
        }
        assertThat(consumer.poll(Duration.ZERO)).as("the discarded record is skipped").isEmpty();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void tailCallsThroughTheObjectsProgArray(Engine e) throws Exception {
        Loaded o = new Loaded(e, "tail_call.bpf.o");
        assertThat(o.maps.programSlots()).containsKey("stages");
        // stage_chain tail-calls slot 0 (stage_drop): XDP_DROP. It never reads its context.
        assertThat(o.run("stage_chain", ctx(24))).isEqualTo(1);
        ((BpfProgArray) o.maps.byName("stages")).set(0, null);
        assertThat(o.run("stage_chain", ctx(24))).as("empty slot: falls through").isEqualTo(0);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bpfLoop(Engine e) throws Exception {
        Loaded o = new Loaded(e, "loop_bpf_loop.bpf.o");
        ByteBuffer c = ctx(16).putInt(0, 10).putInt(4, 0);
        assertThat(o.run("sum_squares", c)).isEqualTo(10);
        assertThat(c.getLong(8)).isEqualTo(285);
        assertThat(o.run("sum_squares", c.putInt(0, 100).putInt(4, 0))).isEqualTo(100);
        assertThat(c.getLong(8)).isEqualTo(328350);
        assertThat(o.run("sum_squares", c.putInt(0, 100).putInt(4, 1000))).isEqualTo(15);
        assertThat(c.getLong(8)).isEqualTo(1015);
    }
}
