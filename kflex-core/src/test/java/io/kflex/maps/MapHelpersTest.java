package io.kflex.maps;

import static io.kflex.maps.MapHarness.r0;
import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The map helpers called from small programs, on every engine. */
class MapHelpersTest {
    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final int LOOKUP = 1, UPDATE = 2, DELETE = 3;

    /**
     * r1 = operation (1 lookup, 2 update, 3 delete), r2 = u32 key, r3 = u64 value, r4 = flags on
     * map 0. A lookup returns the value or -1; the others return the helper's result.
     */
    private static final String KEYED_OPS = """
            r6 = r1
            *(u32 *)(r10 - 4) = r2
            *(u64 *)(r10 - 16) = r3
            r7 = r4
            r1 = map_idx(0) ll
            r2 = r10
            r2 += -4
            if r6 == 1 goto lookup
            if r6 == 2 goto update
            call 3
            exit
            lookup:
            call 1
            if r0 == 0 goto missing
            r0 = *(u64 *)(r0 + 0)
            exit
            missing:
            r0 = -1
            exit
            update:
            r3 = r10
            r3 += -16
            r4 = r7
            call 2
            exit
            """;

    @ParameterizedTest
    @MethodSource("engines")
    void hashThroughHelpers(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("h", MapSpec.HASH, 4, 8, 2, 0));
        Executable p = h.load(e, KEYED_OPS, maps);
        assertThat(r0(h.run(p, LOOKUP, 5))).isEqualTo(-1);
        assertThat(r0(h.run(p, UPDATE, 5, 50, BpfMap.BPF_EXIST))).isEqualTo(-Errno.ENOENT);
        assertThat(r0(h.run(p, UPDATE, 5, 50, BpfMap.BPF_NOEXIST))).isZero();
        assertThat(r0(h.run(p, UPDATE, 5, 51, BpfMap.BPF_NOEXIST))).isEqualTo(-Errno.EEXIST);
        assertThat(r0(h.run(p, UPDATE, 6, 60, BpfMap.BPF_ANY))).isZero();
        assertThat(r0(h.run(p, UPDATE, 7, 70, BpfMap.BPF_ANY))).as("full").isEqualTo(-Errno.E2BIG);
        assertThat(r0(h.run(p, UPDATE, 7, 70, 99))).isEqualTo(-Errno.EINVAL);
        assertThat(r0(h.run(p, LOOKUP, 5))).isEqualTo(50);
        assertThat(r0(h.run(p, DELETE, 5))).isZero();
        assertThat(r0(h.run(p, DELETE, 5))).isEqualTo(-Errno.ENOENT);
        assertThat(r0(h.run(p, LOOKUP, 5))).isEqualTo(-1);
        // The host sees what programs wrote, and the other way round.
        assertThat(u64(maps.get(0).lookup(u32(6)).orElseThrow())).isEqualTo(60);
        maps.get(0).update(u32(8), u64(80), BpfMap.BPF_ANY);
        assertThat(r0(h.run(p, LOOKUP, 8))).isEqualTo(80);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void arrayThroughHelpers(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("a", MapSpec.ARRAY, 4, 8, 4, 0));
        Executable p = h.load(e, KEYED_OPS, maps);
        assertThat(r0(h.run(p, LOOKUP, 3))).isZero();
        assertThat(r0(h.run(p, LOOKUP, 4))).isEqualTo(-1);
        assertThat(r0(h.run(p, UPDATE, 3, 33, BpfMap.BPF_ANY))).isZero();
        assertThat(r0(h.run(p, UPDATE, 3, 33, BpfMap.BPF_NOEXIST))).isEqualTo(-Errno.EEXIST);
        assertThat(r0(h.run(p, UPDATE, 4, 33, BpfMap.BPF_ANY))).isEqualTo(-Errno.E2BIG);
        assertThat(r0(h.run(p, DELETE, 3))).isEqualTo(-Errno.EINVAL);
        assertThat(r0(h.run(p, LOOKUP, 3))).isEqualTo(33);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void perCpuValuesFollowTheInvocationsCpu(Engine e) throws Exception {
        MapHarness h = new MapHarness(3);
        MapSet maps = h.maps(MapSpec.of("pa", MapSpec.PERCPU_ARRAY, 4, 8, 1, 0), MapSpec.of("ph", MapSpec.PERCPU_HASH, 4, 8, 4, 0));
        // counts[0] += 1 on this CPU, returns the new count; also bpf_get_smp_processor_id() * 1000.
        Executable p = h.load(e, """
                *(u32 *)(r10 - 4) = 0
                r1 = map_idx(0) ll
                r2 = r10
                r2 += -4
                call 1
                if r0 == 0 goto out
                r6 = *(u64 *)(r0 + 0)
                r6 += 1
                *(u64 *)(r0 + 0) = r6
                call 8
                r0 *= 1000
                r0 += r6
                exit
                out:
                r0 = -1
                exit
                """, maps);
        assertThat(r0(h.runOnCpu(p, 0))).isEqualTo(1);
        assertThat(r0(h.runOnCpu(p, 2))).isEqualTo(2001);
        assertThat(r0(h.runOnCpu(p, 2))).isEqualTo(2002);
        BpfArray counts = (BpfArray) maps.get(0);
        assertThat(counts.lookupAllCpus(0)).extracting(MapHarness::u64).containsExactly(1L, 0L, 2L);
        assertThat(h.runOnCpu(p, 3)).isInstanceOf(Outcome.Faulted.class); // no such CPU slot

        // A program's update of a per-CPU hash sets its CPU's copy; a new element starts at zero elsewhere.
        Executable up = h.load(e, KEYED_OPS.replace("map_idx(0)", "map_idx(1)"), maps);
        assertThat(r0(h.runOnCpu(up, 1, UPDATE, 9, 90, BpfMap.BPF_ANY))).isZero();
        assertThat(r0(h.runOnCpu(up, 2, UPDATE, 9, 92, BpfMap.BPF_EXIST))).isZero();
        assertThat(((BpfHash) maps.get(1)).lookupAllCpus(u32(9)).orElseThrow()).extracting(MapHarness::u64).containsExactly(0L, 90L, 92L);
        assertThat(r0(h.runOnCpu(up, 2, LOOKUP, 9))).isEqualTo(92);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void queueAndStackThroughHelpers(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("q", MapSpec.QUEUE, 0, 8, 2, 0), MapSpec.of("s", MapSpec.STACK, 0, 8, 2, 0));
        // r1 = 0 push r2 with flags r3 / 1 pop / 2 peek; on map r4. Pop and peek return the value or the error.
        Executable p = h.load(e, """
                r6 = r1
                *(u64 *)(r10 - 8) = r2
                r7 = r3
                r1 = map_idx(0) ll
                if r4 == 0 goto chosen
                r1 = map_idx(1) ll
                chosen:
                r2 = r10
                r2 += -8
                if r6 == 1 goto pop
                if r6 == 2 goto peek
                r3 = r7
                call 87
                exit
                pop:
                call 88
                goto result
                peek:
                call 89
                result:
                if r0 != 0 goto out
                r0 = *(u64 *)(r10 - 8)
                out:
                exit
                """, maps);
        for (int m = 0; m < 2; m++) {
            assertThat(r0(h.run(p, 1, 0, 0, m))).isEqualTo(-Errno.ENOENT);
            assertThat(r0(h.run(p, 0, 10, 0, m))).isZero();
            assertThat(r0(h.run(p, 0, 20, 0, m))).isZero();
            assertThat(r0(h.run(p, 0, 30, 0, m))).isEqualTo(-Errno.E2BIG);
            assertThat(r0(h.run(p, 0, 30, BpfMap.BPF_EXIST, m))).isZero();
        }
        assertThat(r0(h.run(p, 2, 0, 0, 0))).isEqualTo(20);
        assertThat(r0(h.run(p, 1, 0, 0, 0))).isEqualTo(20);
        assertThat(r0(h.run(p, 1, 0, 0, 0))).isEqualTo(30);
        assertThat(r0(h.run(p, 2, 0, 0, 1))).isEqualTo(30);
        assertThat(r0(h.run(p, 1, 0, 0, 1))).isEqualTo(30);
        assertThat(r0(h.run(p, 1, 0, 0, 1))).isEqualTo(20);
        assertThat(r0(h.run(p, 2, 0, 0, 1))).isEqualTo(-Errno.ENOENT);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void ringBufferThroughHelpers(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("rb", MapSpec.RINGBUF, 0, 0, 4096, 0));
        // r1 = value; reserve 8 bytes, write value, submit; then output value+1 from the stack; return avail.
        Executable p = h.load(e, """
                r6 = r1
                r1 = map_idx(0) ll
                r2 = 8
                r3 = 0
                call 131
                if r0 == 0 goto full
                *(u64 *)(r0 + 0) = r6
                r1 = r0
                r2 = 0
                call 132
                r6 += 1
                *(u64 *)(r10 - 8) = r6
                r1 = map_idx(0) ll
                r2 = r10
                r2 += -8
                r3 = 8
                r4 = 0
                call 130
                if r0 != 0 goto out
                r1 = map_idx(0) ll
                r2 = 0
                call 134
                exit
                full:
                r0 = -1
                out:
                exit
                """, maps);
        assertThat(r0(h.run(p, 100))).isEqualTo(32);
        assertThat(r0(h.run(p, 200))).isEqualTo(64);
        RingBufferConsumer consumer = ((BpfRingBuf) maps.get(0)).consumer();
        for (long expected : new long[] {100, 101, 200, 201}) {
            assertThat(u64(consumer.poll(Duration.ZERO).orElseThrow())).isEqualTo(expected);
        }
        assertThat(consumer.poll(Duration.ofMillis(1))).isEmpty();
        // Filling the ring: 4096 bytes hold 256 records of 16 bytes; reserve then fails (r0 = -1)
        // or output reports -EAGAIN.
        long last = 0;
        for (int i = 0; i < 200 && last >= 0; i++) last = r0(h.run(p, i));
        assertThat(last).isIn(-1L, (long) -Errno.EAGAIN);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void submittingSomethingElseFaults(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("rb", MapSpec.RINGBUF, 0, 0, 4096, 0));
        // Submits a stack address, then (if that did not fault) a record twice.
        Executable p = h.load(e, """
                r1 = r10
                r1 += -8
                r2 = 0
                call 132
                exit
                """, maps);
        assertThat(h.run(p)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.reason()).contains("ring buffer record"));
        Executable twice = h.load(e, """
                r1 = map_idx(0) ll
                r2 = 8
                r3 = 0
                call 131
                if r0 == 0 goto out
                r6 = r0
                r1 = r6
                r2 = 0
                call 132
                r1 = r6
                r2 = 0
                call 133
                out:
                exit
                """, maps);
        assertThat(h.run(twice)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(12);
            assertThat(f.reason()).contains("not a reserved, uncommitted record");
        });
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aMapHandleIsNotMemoryAndGarbageIsNotAMap(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("a", MapSpec.ARRAY, 4, 8, 1, 0));
        Executable deref = h.load(e, """
                r1 = map_idx(0) ll
                r0 = *(u64 *)(r1 + 0)
                exit
                """, maps);
        assertThat(h.run(deref)).isInstanceOf(Outcome.Faulted.class);
        Executable notAMap = h.load(e, """
                r1 = 12345
                r2 = r10
                r2 += -4
                call 1
                exit
                """, maps);
        assertThat(h.run(notAMap)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.reason()).contains("is not a map"));
        Executable badKey = h.load(e, """
                r1 = map_idx(0) ll
                r2 = 0
                call 1
                exit
                """, maps);
        assertThat(h.run(badKey)).isInstanceOf(Outcome.Faulted.class);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void tailCallsGoThroughAProgArray(Engine e) throws Exception {
        MapHarness h = new MapHarness();
        MapSet maps = h.maps(MapSpec.of("progs", MapSpec.PROG_ARRAY, 4, 4, 2, 0));
        // r1 = ctx (a number here), r2 = slot: tail-call, or return 1000 + the helper's error.
        Executable dispatch = h.load(e, """
                r3 = r2
                r2 = map_idx(0) ll
                call 12
                r0 += 1000
                exit
                """, maps);
        Executable target = h.load(e, """
                r0 = r1
                r0 += 7
                exit
                """, maps);
        ((BpfProgArray) maps.get(0)).set(1, (io.kflex.engine.TailCallable) target);
        assertThat(r0(h.run(dispatch, 35, 1))).isEqualTo(42);
        assertThat(r0(h.run(dispatch, 35, 0))).isEqualTo(1000 - Errno.ENOENT);
        assertThat(r0(h.run(dispatch, 35, 2))).isEqualTo(1000 - Errno.ENOENT);
        assertThat(r0(h.run(dispatch, 35, -1))).isEqualTo(1000 - Errno.ENOENT);
    }
}
