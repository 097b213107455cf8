package io.kflex.heaprun;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import io.kflex.verifier.VerifiedProgram;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The committed heap, allocator, lock and iterator objects run on every engine with a heap (expected values from their sources). */
class HeapObjectsTest {

    static Iterable<Engine> engines() { return TestEngines.all(); }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private static MemorySegment ctx(int bytes) { return Arena.ofAuto().allocate(bytes, 8); }

    private static long returned(Outcome o) {
        assertThat(o).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) o).r0();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void heapListBuildsAndWalks(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("heap_list.bpf.o", e, false);
        Executable exe = run.load("build_and_walk");
        for (int[] c : new int[][] {{10, 10, 55}, {64, 64, 2080}, {100, 64, 2080}, {0, 0, 0}}) {
            MemorySegment args = ctx(16);
            args.set(I32, 0, c[0]);
            assertThat((int) returned(exe.run(run.invocation(args)))).as("n=%d", c[0]).isEqualTo(c[1]);
            assertThat(args.get(I32, 4)).isEqualTo(c[1]);
            assertThat(args.get(I64, 8)).isEqualTo(c[2]);
        }
        VerifiedProgram facts = run.verify("build_and_walk");
        assertThat(facts.guardsElided()).as("guards elided of %d heap accesses", facts.heapAccesses()).isPositive();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void heapListInCheckedModeGivesTheSameResults(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("heap_list.bpf.o", e, true);
        MemorySegment args = ctx(16);
        args.set(I32, 0, 10);
        assertThat(returned(run.run("build_and_walk", args))).isEqualTo(10);
        assertThat(args.get(I64, 8)).isEqualTo(55);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void unboundedWalkTerminatesOrIsCancelled(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("unbounded_walk.bpf.o", e, false);
        Executable exe = run.load("walk_unbounded");
        MemorySegment args = ctx(24);
        args.set(I32, 0, 256);
        assertThat(returned(exe.run(run.invocation(args)))).isEqualTo(256);
        assertThat(args.get(I64, 16)).isEqualTo(32896);
        // A cyclic list never ends: cancelled at the loop's cancellation point.
        args.set(I32, 0, 10);
        args.set(I32, 4, 1);
        Invocation inv = run.invocation(args);
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException ignored) {
                return;
            }
            inv.requestCancel("test watchdog");
        });
        Outcome o = exe.run(inv);
        var points = run.verify("walk_unbounded").cancellationPoints();
        assertThat(o).isInstanceOfSatisfying(Outcome.Cancelled.class, c -> assertThat(points).contains(c.pc()));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void allocatorAllocatesWalksAndFrees(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("kflex_alloc.bpf.o", e, false);
        Executable exe = run.load("alloc_free");
        for (int round = 0; round < 2; round++) {
            MemorySegment args = ctx(32);
            args.set(I32, 0, 10);
            args.set(I64, 8, 4096);
            assertThat(returned(exe.run(run.invocation(args)))).isEqualTo(10);
            assertThat(args.get(I64, 16)).isEqualTo(285);
            assertThat(args.get(I32, 4)).isEqualTo(10);
            assertThat(args.get(I32, 24)).isEqualTo(1);
        }
        MemorySegment big = ctx(32);
        big.set(I32, 0, 1000);
        big.set(I64, 8, 1L << 30);
        assertThat(returned(exe.run(run.invocation(big)))).isEqualTo(1000);
        assertThat(big.get(I64, 16)).isEqualTo(332833500L);
        assertThat(big.get(I32, 24)).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void transfersUnderTwoHeapLocks(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("kflex_locks.bpf.o", e, false);
        Executable exe = run.load("transfer");
        long[][] steps = {{300, 0, 700, 1300}, {800, 1, 700, 1300}, {-200, 0, 900, 1100}};
        for (long[] s : steps) {
            MemorySegment args = ctx(24);
            args.set(I64, 0, s[0]);
            assertThat(returned(exe.run(run.invocation(args)))).as("amount %d", s[0]).isEqualTo(s[1]);
            assertThat(args.get(I64, 8)).isEqualTo(s[2]);
            assertThat(args.get(I64, 16)).isEqualTo(s[3]);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bpfForIteratesNumericRanges(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("loop_bpf_for.bpf.o", e, false);
        Executable exe = run.load("triangle");
        long[][] cases = {{0, 100, 4950, 4950, 100}, {5, 3, 0, 0, 0}, {-3, 3, -3, 15, 6}};
        for (long[] c : cases) {
            MemorySegment args = ctx(24);
            args.set(I32, 0, (int) c[0]);
            args.set(I32, 4, (int) c[1]);
            assertThat(returned(exe.run(run.invocation(args)))).as("[%d, %d)", c[0], c[1]).isEqualTo(c[4]);
            assertThat(args.get(I64, 8)).isEqualTo(c[2]);
            assertThat(args.get(I64, 16)).isEqualTo(c[3]);
        }
        // Nested bpf_for loops over an int range: 2^46 iterations in all, so the inner one polls.
        assertThat(run.verify("triangle").cancellationPoints()).hasSize(1);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void shuffledListBuiltByOneProgramIsWalkedByAnother(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("bench_list_walk.bpf.o", e, false);
        MemorySegment args = ctx(32);
        args.set(I32, 0, 1000);
        args.set(I32, 4, 7);
        assertThat(returned(run.run("list_build", args))).isEqualTo(1000);
        MemorySegment walk = ctx(32);
        assertThat(returned(run.run("list_walk", walk))).isEqualTo(1000);
        assertThat(walk.get(I64, 16)).isEqualTo(1000);
        assertThat(walk.get(I64, 24)).isEqualTo(499500);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void countMinSketchEstimatesFromArraysInTheHeap(Engine e) throws Exception {
        for (boolean checked : new boolean[] {false, true}) {
            ObjectRun run = new ObjectRun("count_min.bpf.o", e, checked);
            for (long[] add : new long[][] {{7, 5}, {7, 2}, {9, 1}}) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, add[0]);
                args.set(I64, 8, add[1]);
                assertThat(returned(run.run("cm_add", args))).isZero();
            }
            for (long[] c : new long[][] {{7, 7}, {9, 1}, {11, 0}}) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, c[0]);
                assertThat(returned(run.run("cm_estimate", args))).isZero();
                assertThat(args.get(I64, 8)).as("estimate of %d", c[0]).isEqualTo(c[1]);
            }
        }
        for (String program : new String[] {"cm_add", "cm_estimate"}) {
            VerifiedProgram facts = new ObjectRun("count_min.bpf.o", e, false).verify(program);
            assertThat(facts.guardsNeeded()).as("%s: every counter index is masked", program).isZero();
            assertThat(facts.guardsElided()).isEqualTo(4);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void skipListKeepsKeysInOrder(Engine e) throws Exception {
        for (boolean checked : new boolean[] {false, true}) {
            ObjectRun run = new ObjectRun("skip_list.bpf.o", e, checked);
            for (long[] c : new long[][] {{30, 3, 0}, {10, 1, 0}, {20, 2, 0}, {20, 22, 1}, {0, 5, -22}}) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, c[0]);
                args.set(I64, 8, c[1]);
                assertThat((int) returned(run.run("sl_insert", args))).as("insert %d", c[0]).isEqualTo((int) c[2]);
            }
            for (long k = 1; k <= 200; k++) { // enough nodes for several levels
                MemorySegment args = ctx(16);
                args.set(I64, 0, 1000 + 7 * k);
                args.set(I64, 8, k);
                assertThat(returned(run.run("sl_insert", args))).isZero();
            }
            long[][] lookups = {{15, 0, 20, 22}, {1, 0, 10, 1}, {31, 0, 1007, 1}, {1008, 0, 1014, 2}, {2401, 1, 2401, 0}};
            for (long[] c : lookups) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, c[0]);
                assertThat(returned(run.run("sl_lookup", args))).as("lookup %d", c[0]).isEqualTo(c[1]);
                if (c[1] == 0) {
                    assertThat(args.get(I64, 0)).isEqualTo(c[2]);
                    assertThat(args.get(I64, 8)).isEqualTo(c[3]);
                }
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void countSketchEstimatesSignedCountsWithTheMedian(Engine e) throws Exception {
        for (boolean checked : new boolean[] {false, true}) {
            ObjectRun run = new ObjectRun("count_sketch.bpf.o", e, checked);
            for (long[] add : new long[][] {{7, 5}, {7, 2}, {9, 1}, {11, -3}}) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, add[0]);
                args.set(I64, 8, add[1]);
                assertThat(returned(run.run("cs_add", args))).isZero();
            }
            for (long[] c : new long[][] {{7, 7}, {9, 1}, {11, -3}, {13, 0}}) {
                MemorySegment args = ctx(16);
                args.set(I64, 0, c[0]);
                assertThat(returned(run.run("cs_estimate", args))).isZero();
                assertThat(args.get(I64, 8)).as("estimate of %d", c[0]).isEqualTo(c[1]);
            }
        }
        for (String program : new String[] {"cs_add", "cs_estimate"}) {
            VerifiedProgram facts = new ObjectRun("count_sketch.bpf.o", e, false).verify(program);
            assertThat(facts.guardsNeeded()).as("%s: row bounded by bpf_for, column by its mask", program).isZero();
            assertThat(facts.guardsElided()).isEqualTo(1);
            assertThat(facts.cancellationPoints()).as("bpf_for is proven to end").isEmpty();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void redBlackTreeInACheckedHeap(Engine e) throws Exception {
        ObjectRun run = new ObjectRun("rb_tree.bpf.o", e, true);
        // Loaded once each: verifying the tree's programs is the costly part (rb_validate's loop).
        Executable insert = run.load("rb_insert"), lookup = run.load("rb_lookup"), delete = run.load("rb_delete"),
                validate = run.load("rb_validate");
        long[][] steps = {{20, 2, 0}, {10, 1, 0}, {30, 3, 0}, {20, 22, 1}};
        for (long[] c : steps) {
            MemorySegment args = ctx(16);
            args.set(I64, 0, c[0]);
            args.set(I64, 8, c[1]);
            assertThat(returned(insert.run(run.invocation(args)))).as("insert %d", c[0]).isEqualTo(c[2]);
        }
        MemorySegment args = ctx(16);
        args.set(I64, 0, 20);
        assertThat(returned(lookup.run(run.invocation(args)))).isZero();
        assertThat(args.get(I64, 8)).isEqualTo(22);
        args.set(I64, 0, 10);
        assertThat(returned(delete.run(run.invocation(args)))).isZero();
        assertThat(args.get(I64, 8)).isEqualTo(1);
        assertThat(returned(lookup.run(run.invocation(args)))).isEqualTo(1);
        MemorySegment check = ctx(24);
        assertThat(returned(validate.run(run.invocation(check)))).isZero();
        assertThat(new long[] {check.get(I64, 0), check.get(I64, 8), check.get(I64, 16)}).containsExactly(2, 1, 2);
    }
}
