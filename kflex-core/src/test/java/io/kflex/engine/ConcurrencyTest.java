package io.kflex.engine;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.AtomicOp;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ConcurrencyTest {

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    private static final int THREADS = 4;
    private static final int ADDS = 20_000;

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(60)
    void oneExecutableRunsOnManyThreadsAndItsAtomicsAreAtomic(Engine e) throws Exception {
        // for (i = ADDS; i != 0; i--) { lock add *(u64 *)(r1 + 0) += 1; lock add *(u32 *)(r1 + 8) += 2 }
        Code code = code(
                /* 0 */ mov(2, ADDS),
                /* 1 */ mov(3, 1),
                /* 2 */ mov(4, 2),
                /* 3 */ atomic(Size.DW, AtomicOp.ADD, false, 1, 3, 0),
                /* 4 */ atomic(Size.W, AtomicOp.ADD, true, 1, 4, 8),
                /* 5 */ mov(4, 2),
                /* 6 */ add(2, -1),
                /* 7 */ jmp(JumpOp.JNE, 2, 0, -5),
                /* 8 */ mov(0, 0),
                /* 9 */ exit());
        Executable program = Runs.load(e, code, HelperTable.empty());
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
            MemorySegment shared = arena.allocate(16, 8);
            List<Future<Outcome>> results = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                results.add(pool.submit(() -> {
                    AddressSpace memory = new AddressSpace();
                    long base = memory.map(new Region(Region.Kind.MAP_VALUE, shared, true, "counter"));
                    return program.run(new Invocation(memory, base));
                }));
            }
            for (Future<Outcome> result : results) assertThat(result.get()).isEqualTo(new Outcome.Returned(0));
            assertThat(shared.get(ValueLayout.JAVA_LONG, 0)).isEqualTo((long) THREADS * ADDS);
            assertThat(shared.get(ValueLayout.JAVA_INT, 8)).isEqualTo(THREADS * ADDS * 2);
        }
    }
}
