package io.kflex.heap;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Runs;
import io.kflex.engine.SharedRegions;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.AluOp;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One chained hash table in the heap, used at the same time by Java threads (through
 * {@link HeapView}) and by extensions (kflex_malloc, kflex_spin_lock, heap pointers): both take
 * the bucket locks with the same protocol and follow the same user-view pointers.
 *
 * <p>Layout: 16 buckets of {@code {u32 lock; u32 pad; u64 head}}; entries of
 * {@code {u64 next; u64 key; u64 value; u64 pad}} from kflex_malloc, pushed at the bucket head.
 */
@Timeout(60)
class SharedHashTableTest {
    private static final int BUCKETS = 16;
    private static final int MALLOC = 1, LOCK = 2, UNLOCK = 3;

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    /** r1 = table, r2 = key → value, or -1 when absent. */
    private static final Code LOOKUP = code(
            /* 0 */ movr(6, 1),
            /* 1 */ movr(7, 2),
            /* 2 */ movr(8, 7),
            /* 3 */ alu64(AluOp.AND, 8, BUCKETS - 1),
            /* 4 */ alu64(AluOp.LSH, 8, 4),
            /* 5 */ addr(8, 6),
            /* 6 */ movr(1, 8),
            /* 7 */ callKfunc(LOCK),
            /* 8 */ mov(9, -1),
            /* 9 */ ldx(Size.DW, 3, 8, 8),
            /* 10 */ jmp(JumpOp.JEQ, 3, 0, 6),
            /* 11 */ ldx(Size.DW, 4, 3, 8),
            /* 12 */ jmpr(JumpOp.JNE, 4, 7, 2),
            /* 13 */ ldx(Size.DW, 9, 3, 16),
            /* 14 */ ja(2),
            /* 15 */ ldx(Size.DW, 3, 3, 0),
            /* 16 */ ja(-7),
            /* 17 */ movr(1, 8),
            /* 18 */ callKfunc(UNLOCK),
            /* 19 */ movr(0, 9),
            /* 20 */ exit());

    /** r1 = table, r2 = key, r3 = value → 0, or -1 when the heap is full. */
    private static final Code INSERT = code(
            /* 0 */ movr(6, 1),
            /* 1 */ movr(7, 2),
            /* 2 */ movr(9, 3),
            /* 3 */ mov(1, 32),
            /* 4 */ callKfunc(MALLOC),
            /* 5 */ jmp(JumpOp.JEQ, 0, 0, 16),
            /* 6 */ stx(Size.DW, 0, 7, 8),
            /* 7 */ stx(Size.DW, 0, 9, 16),
            /* 8 */ movr(9, 0),
            /* 9 */ movr(8, 7),
            /* 10 */ alu64(AluOp.AND, 8, BUCKETS - 1),
            /* 11 */ alu64(AluOp.LSH, 8, 4),
            /* 12 */ addr(8, 6),
            /* 13 */ movr(1, 8),
            /* 14 */ callKfunc(LOCK),
            /* 15 */ ldx(Size.DW, 2, 8, 8),
            /* 16 */ stx(Size.DW, 9, 2, 0),
            /* 17 */ stx(Size.DW, 8, 9, 8),
            /* 18 */ movr(1, 8),
            /* 19 */ callKfunc(UNLOCK),
            /* 20 */ mov(0, 0),
            /* 21 */ exit(),
            /* 22 */ mov(0, -1),
            /* 23 */ exit());

    /** The Java side of the same table. */
    record JavaTable(HeapView view, long table) {
        static JavaTable create(HeapView view) {
            return new JavaTable(view, view.malloc(BUCKETS * 16));
        }

        long bucket(long key) { return table + (key & (BUCKETS - 1)) * 16; }

        void insert(long key, long value) {
            long entry = view.malloc(32);
            if (entry == 0) throw new IllegalStateException("heap full");
            view.setU64(entry + 8, key);
            view.setU64(entry + 16, value);
            long b = bucket(key);
            view.withLock(b, () -> {
                view.setPointer(entry, view.getPointer(b + 8));
                view.setPointer(b + 8, entry);
                return null;
            });
        }

        long lookup(long key) {
            long b = bucket(key);
            return view.withLock(b, () -> {
                for (long e = view.getPointer(b + 8); e != 0; e = view.getPointer(e)) {
                    if (view.getU64(e + 8) == key) return view.getU64(e + 16);
                }
                return -1L;
            });
        }

        int size() {
            int n = 0;
            for (int i = 0; i < BUCKETS; i++) {
                for (long e = view.getPointer(table + i * 16L + 8); e != 0; e = view.getPointer(e)) n++;
            }
            return n;
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void javaAndExtensionsShareOneHashTable(Engine e) throws Exception {
        try (Heap heap = Heap.create(HeapConfig.ofSize(1 << 22).withLockTimeout(java.time.Duration.ofSeconds(30)))) {
            SharedRegions shared = new SharedRegions();
            heap.mapInto(shared);
            HelperTable kfuncs = HeapKfuncs.forHeap(heap).register(HelperTable.builder(),
                    Map.of(HeapKfuncs.MALLOC, MALLOC, HeapKfuncs.SPIN_LOCK, LOCK, HeapKfuncs.SPIN_UNLOCK, UNLOCK)).build();
            Executable lookup = Runs.load(e, LOOKUP, kfuncs);
            Executable insert = Runs.load(e, INSERT, kfuncs);
            JavaTable table = JavaTable.create(heap.view());

            for (long k = 0; k < 100; k++) table.insert(k, k * 10);
            for (long k = 0; k < 100; k++) {
                assertThat(lookup.run(new Invocation(new AddressSpace(shared), table.table(), k))).isEqualTo(new Outcome.Returned(k * 10));
            }
            assertThat(lookup.run(new Invocation(new AddressSpace(shared), table.table(), 12345))).isEqualTo(new Outcome.Returned(-1));

            // Both sides insert concurrently; every key ends up once, readable from both sides.
            int perThread = 300;
            AtomicReference<Object> failure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long first = 1000 + t * perThread;
                boolean extension = t % 2 == 0;
                threads.add(Thread.ofPlatform().start(() -> {
                    for (long k = first; k < first + perThread && failure.get() == null; k++) {
                        if (extension) {
                            Outcome o = insert.run(new Invocation(new AddressSpace(shared), table.table(), k, ~k));
                            if (!o.equals(new Outcome.Returned(0))) failure.compareAndSet(null, o);
                        } else {
                            table.insert(k, ~k);
                        }
                    }
                }));
            }
            for (Thread t : threads) t.join();
            assertThat(failure.get()).isNull();
            assertThat(table.size()).isEqualTo(100 + 4 * perThread);
            for (long k = 1000; k < 1000 + 4 * perThread; k++) {
                assertThat(table.lookup(k)).isEqualTo(~k);
                assertThat(lookup.run(new Invocation(new AddressSpace(shared), table.table(), k))).isEqualTo(new Outcome.Returned(~k));
            }
            for (int i = 0; i < BUCKETS; i++) assertThat(heap.view().isLocked(table.table() + i * 16L)).isFalse();
        }
    }
}
