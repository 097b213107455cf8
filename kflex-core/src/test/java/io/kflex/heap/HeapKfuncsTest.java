package io.kflex.heap;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Engine;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Runs;
import io.kflex.engine.SharedRegions;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.Helper;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.JumpOp;
import io.kflex.isa.Size;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The heap kfuncs with kflex.h's signatures, alone and called by programs on every engine. */
class HeapKfuncsTest {
    private static final long ARENA_HANDLE = 0xffff_fff0_0000_0003L;
    private static final int ALLOC_PAGES = 1, FREE_PAGES = 2, MALLOC = 3, FREE = 4;
    private static final Map<String, Integer> IDS = Map.of(
            HeapKfuncs.ARENA_ALLOC_PAGES, ALLOC_PAGES, HeapKfuncs.ARENA_FREE_PAGES, FREE_PAGES,
            HeapKfuncs.MALLOC, MALLOC, HeapKfuncs.FREE, FREE, "bpf_map_lookup_elem", 99);

    private Heap heap;
    private HeapKfuncs kfuncs;
    private final Invocation inv = new Invocation(new AddressSpace());

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    @BeforeEach
    void create() throws HeapException {
        heap = Heap.create(HeapConfig.ofSize(1 << 20).withName("kflex_heap_map"));
        kfuncs = new HeapKfuncs(heap, handle -> handle == ARENA_HANDLE ? heap : null);
    }

    @AfterEach
    void close() {
        heap.close();
    }

    private long call(String name, long r1, long r2, long r3, long r4, long r5) {
        return kfuncs.get(name).call(inv, r1, r2, r3, r4, r5);
    }

    @Test
    void registersTheKfuncsTheLoaderNamed() {
        HelperTable table = kfuncs.register(HelperTable.builder(), IDS).build();
        assertThat(table.allKfuncs()).containsOnlyKeys(ALLOC_PAGES, FREE_PAGES, MALLOC, FREE);
        assertThat(table.kfunc(MALLOC).name()).isEqualTo("kflex_malloc");
        HelperTable locks = HeapKfuncs.registerSpinLockHelpers(HelperTable.builder(), HeapConfig.DEFAULT_LOCK_TIMEOUT).build();
        assertThat(locks.get(93).name()).isEqualTo("bpf_spin_lock");
        assertThat(locks.get(94).name()).isEqualTo("bpf_spin_unlock");
        assertThatThrownBy(() -> kfuncs.get("kflex_realloc")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void arenaAllocPagesKeepsLinuxArgumentRules() {
        String alloc = HeapKfuncs.ARENA_ALLOC_PAGES;
        assertThat(call(alloc, ARENA_HANDLE, 0, 1, -1 & 0xffff_ffffL, 1)).as("flags").isZero();
        assertThat(call(alloc, ARENA_HANDLE, 0, 1, 3, 0)).as("no such NUMA node").isZero();
        assertThat(call(alloc, ARENA_HANDLE, 0, 0, -1, 0)).as("no pages").isZero();
        assertThat(call(alloc, ARENA_HANDLE, 0, 0xffff_ffffL, -1, 0)).as("more pages than the heap").isZero();
        long p = call(alloc, ARENA_HANDLE, 0, 2, -1 & 0xffff_ffffL, 0); // node as a 32-bit -1
        assertThat(p).isNotZero();
        assertThat(call(alloc, ARENA_HANDLE, 0, 1, 0, 0)).as("node 0").isNotZero();
        assertThat(call(alloc, ARENA_HANDLE, p, 1, -1, 0)).as("hint taken").isZero();
        call(HeapKfuncs.ARENA_FREE_PAGES, ARENA_HANDLE, p, 2, 0, 0);
        assertThat(heap.isAllocated(p & heap.mask())).isFalse();
        assertThat(call(alloc, ARENA_HANDLE, p, 2, -1, 0)).as("hint free again").isEqualTo(p);
        assertThatThrownBy(() -> call(alloc, 0x1234, 0, 1, -1, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not an arena map");
    }

    @Test
    void mallocNeverThrowsForSizesAndAHeaplessProgramFaults() {
        assertThat(call(HeapKfuncs.MALLOC, 0, 0, 0, 0, 0)).isZero();
        assertThat(call(HeapKfuncs.MALLOC, -1, 0, 0, 0, 0)).isZero();
        assertThat(call(HeapKfuncs.MALLOC, 1L << 30, 0, 0, 0, 0)).isZero();
        long p = call(HeapKfuncs.MALLOC, 24, 0, 0, 0, 0);
        assertThat(heap.usableSize(p)).isEqualTo(32);
        call(HeapKfuncs.FREE, p, 0, 0, 0, 0);
        call(HeapKfuncs.FREE, 0, 0, 0, 0, 0);
        call(HeapKfuncs.FREE, 0x4242, 0, 0, 0, 0);
        assertThat(heap.usableSize(p)).isZero();

        Helper heapless = new HeapKfuncs(null, _ -> null).get(HeapKfuncs.MALLOC);
        assertThatThrownBy(() -> heapless.call(inv, 16, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("no heap");
    }

    @Test
    void aClosedHeapFaultsTheExtensionInsteadOfThrowingIntoTheHost() {
        heap.close();
        for (String name : HeapKfuncs.NAMES) {
            assertThatThrownBy(() -> call(name, name.startsWith("bpf_arena") ? ARENA_HANDLE : heap.userBase() | 64, heap.userBase() | 4096, 1, -1, 0))
                    .as(name).isInstanceOf(ExtensionFault.class).hasMessageContaining("closed");
        }
    }

    // --- programs --------------------------------------------------------------------------

    /** Two nodes from kflex_malloc linked through heap pointers, walked, freed: returns 5 + 7. */
    private static final Code LIST = code(
            /* 0 */ mov(1, 16),
            /* 1 */ callKfunc(MALLOC),
            /* 2 */ movr(6, 0),
            /* 3 */ jmp(JumpOp.JEQ, 0, 0, 21),
            /* 4 */ st(Size.DW, 6, 8, 5),
            /* 5 */ mov(1, 16),
            /* 6 */ callKfunc(MALLOC),
            /* 7 */ movr(7, 0),
            /* 8 */ jmp(JumpOp.JEQ, 0, 0, 16),
            /* 9 */ st(Size.DW, 7, 8, 7),
            /* 10 */ stx(Size.DW, 7, 6, 0),
            /* 11 */ mov(0, 0),
            /* 12 */ movr(8, 7),
            /* 13 */ jmp(JumpOp.JEQ, 8, 0, 4),
            /* 14 */ ldx(Size.DW, 2, 8, 8),
            /* 15 */ addr(0, 2),
            /* 16 */ ldx(Size.DW, 8, 8, 0),
            /* 17 */ ja(-5),
            /* 18 */ movr(9, 0),
            /* 19 */ movr(1, 6),
            /* 20 */ callKfunc(FREE),
            /* 21 */ movr(1, 7),
            /* 22 */ callKfunc(FREE),
            /* 23 */ movr(0, 9),
            /* 24 */ exit(),
            /* 25 */ mov(0, -1),
            /* 26 */ exit());

    @ParameterizedTest
    @MethodSource("engines")
    void aProgramBuildsWalksAndFreesAHeapList(Engine e) {
        SharedRegions shared = new SharedRegions();
        heap.mapInto(shared);
        HelperTable table = kfuncs.register(HelperTable.builder(), IDS).build();
        var program = Runs.load(e, LIST, table);
        for (int run = 0; run < 3; run++) {
            assertThat(program.run(new Invocation(new AddressSpace(shared)))).isEqualTo(new Outcome.Returned(12));
        }
        assertThat(heap.allocatedBytes()).as("only the current slab").isEqualTo(Heap.PAGE_SIZE);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void mallocFailureIsNullForThePrograms(Engine e) throws HeapException {
        try (Heap tiny = Heap.create(HeapConfig.ofSize(1 << 20).withMemoryLimit(0))) {
            SharedRegions shared = new SharedRegions();
            tiny.mapInto(shared);
            HelperTable table = HeapKfuncs.forHeap(tiny).register(HelperTable.builder(), IDS).build();
            assertThat(Runs.load(e, LIST, table).run(new Invocation(new AddressSpace(shared)))).isEqualTo(new Outcome.Returned(-1));
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aProgramAllocatesAndFreesArenaPages(Engine e) {
        SharedRegions shared = new SharedRegions();
        heap.mapInto(shared);
        Code code = code(
                /* 0 */ lddw(1, ARENA_HANDLE),
                /* 2 */ mov(2, 0),
                /* 3 */ mov(3, 2),
                /* 4 */ mov(4, -1),
                /* 5 */ mov(5, 0),
                /* 6 */ callKfunc(ALLOC_PAGES),
                /* 7 */ movr(6, 0),
                /* 8 */ ldx(Size.DW, 7, 6, 8184), // last word of the second page: zero
                /* 9 */ st(Size.DW, 6, 8184, 41),
                /* 10 */ ldx(Size.DW, 8, 6, 8184),
                /* 11 */ addr(8, 7),
                /* 12 */ lddw(1, ARENA_HANDLE),
                /* 14 */ movr(2, 6),
                /* 15 */ mov(3, 2),
                /* 16 */ callKfunc(FREE_PAGES),
                /* 17 */ movr(0, 8),
                /* 18 */ exit());
        HelperTable table = kfuncs.register(HelperTable.builder(), IDS).build();
        for (int run = 0; run < 2; run++) {
            assertThat(Runs.load(e, code, table).run(new Invocation(new AddressSpace(shared)))).isEqualTo(new Outcome.Returned(41));
        }
        assertThat(heap.allocatedBytes()).isZero();
    }
}
