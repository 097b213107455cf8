package io.kflex.heaprun;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.HeapMemory;
import io.kflex.engine.HeapPlan;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.Instruction.AddrSpaceCast;
import io.kflex.isa.Size;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Heap accesses and {@code addr_space_cast} on every engine, from hand-assembled programs. */
class HeapSemanticsTest {

    static Iterable<Engine> engines() { return TestEngines.all(); }

    static Instruction castKern(int dst, int src) { return new AddrSpaceCast(dst, src, 0, 1); }

    static Instruction castUser(int dst, int src) { return new AddrSpaceCast(dst, src, 1, 0); }

    static VerifiedProgram verify(Code code) {
        try {
            return Verifier.verify(code, ProgramType.SYSCALL, List.of(), VerifierOptions.defaults());
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static Outcome run(Engine e, Code code, HeapMemory heap, boolean withFacts) throws EngineException {
        Bindings b = Bindings.of(HelperTable.empty()).withHeap(heap);
        if (withFacts) b = b.withVerified(verify(code));
        return e.load(code, b).run(new Invocation(new AddressSpace()));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void castsFollowLinux(Engine e) throws Exception {
        TestHeap heap = new TestHeap(1 << 16, false);
        assertThat(run(e, code(lddw(1, 0x1234_5678_0000_def0L), castKern(0, 1), exit()), heap, false))
                .as("a pointer into the heap: its low 32 bits").isEqualTo(new Outcome.Returned(0xdef0L));
        assertThat(run(e, code(lddw(1, 0x1234_5678_9abc_def0L), castKern(0, 1), exit()), heap, false))
                .as("beyond the heap: the offset modulo the heap's size").isEqualTo(new Outcome.Returned(0xdef0L));
        assertThat(run(e, code(lddw(1, 0x7777_0000_9abc_def0L), castUser(0, 1), exit()), heap, false))
                .isEqualTo(new Outcome.Returned(TestHeap.USER_BASE | 0x9abc_def0L));
        assertThat(run(e, code(lddw(1, 0x5_0000_0000L), castUser(0, 1), exit()), heap, false))
                .as("NULL in the kernel view stays NULL").isEqualTo(new Outcome.Returned(0));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void castWithoutAHeapFaultsWhereItIsExecuted(Engine e) throws Exception {
        Code code = code(mov(1, 5), mov(0, 0), castKern(0, 1), exit());
        Outcome o = e.load(code, Bindings.of(HelperTable.empty())).run(new Invocation(new AddressSpace()));
        assertThat(o).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(2);
            assertThat(f.reason()).contains("heap");
        });
    }

    /** {@code r1 = heap pointer to offset; *(u64 *)(r1 + 8) = 7; r0 = *(u64 *)(r1 + 8); exit} — the store is at slot 3. */
    static Code storeAndLoad(long offset) {
        return code(lddw(1, offset), castKern(1, 1), st(Size.DW, 1, 8, 7), ldx(Size.DW, 0, 1, 8), exit());
    }

    @ParameterizedTest
    @MethodSource("engines")
    void guardedAccessesReachTheHeap(Engine e) throws Exception {
        TestHeap heap = new TestHeap(1 << 16, false);
        assertThat(run(e, storeAndLoad(0x2000), heap, true)).isEqualTo(new Outcome.Returned(7));
        assertThat(heap.word(0x2008)).isEqualTo(7);
        // A pointer beyond the heap is confined into it: offset 0x12000 of a 64 KiB heap is 0x2000.
        assertThat(run(e, storeAndLoad(0x3_0001_2000L), heap, true)).isEqualTo(new Outcome.Returned(7));
        assertThat(run(e, code(lddw(1, 0x12345), castKern(1, 1), st(Size.B, 1, 0, 1), movr(0, 1), exit()), heap, true))
                .as("the base register is confined in place").isEqualTo(new Outcome.Returned(0x2345));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void checkedModeFaultsAtTheAccessWithItsAddress(Engine e) throws Exception {
        TestHeap heap = new TestHeap(1 << 16, true);
        Outcome o = run(e, storeAndLoad(0x2000), heap, true);
        assertThat(o).isInstanceOfSatisfying(Outcome.Faulted.class, f -> {
            assertThat(f.pc()).isEqualTo(3);
            assertThat(f.reason()).contains("offset 8200").contains("0x100000002008");
        });
        heap.allocPages(2); // pages 1 and 2
        assertThat(run(e, storeAndLoad(0x2000), heap, true)).isEqualTo(new Outcome.Returned(7));
        // The load whose guard is elided is checked too.
        Code loadOutside = code(lddw(1, 0x2000), castKern(1, 1), st(Size.DW, 1, 0, 7), ldx(Size.DW, 0, 1, 0x1000), exit());
        assertThat(run(e, loadOutside, heap, true)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(4));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void atomicsOnTheHeap(Engine e) throws Exception {
        TestHeap heap = new TestHeap(1 << 16, false);
        Code code = code(lddw(1, 0x100), castKern(1, 1), st(Size.DW, 1, 0, 40), mov(2, 2),
                atomic(Size.DW, io.kflex.isa.AtomicOp.ADD, true, 1, 2, 0), ldx(Size.DW, 0, 1, 0), addr(0, 2), exit());
        assertThat(run(e, code, heap, true)).isEqualTo(new Outcome.Returned(42 + 40));
        Code misaligned = code(lddw(1, 0x101), castKern(1, 1), mov(2, 2), atomic(Size.DW, io.kflex.isa.AtomicOp.ADD, false, 1, 2, 0), mov(0, 0), exit());
        assertThat(run(e, misaligned, heap, true)).isInstanceOfSatisfying(Outcome.Faulted.class, f -> assertThat(f.pc()).isEqualTo(4));
    }

    @Test
    void planCountsGuardsNeededAndElided() throws Exception {
        // The cast leaves r1 a sanitised offset; 0x9000 moves it beyond the guard distance, so the
        // first store is guarded (and confines r1 again), the next two are not.
        Code code = code(lddw(1, 0x100), castKern(1, 1), add(1, 0x9000), st(Size.DW, 1, 0, 1), st(Size.DW, 1, 8, 2), ldx(Size.DW, 0, 1, 16), exit());
        VerifiedProgram facts = verify(code);
        HeapPlan plan = HeapPlan.of(code, Bindings.of(HelperTable.empty()).withVerified(facts).withHeap(new TestHeap(1 << 16, false)));
        assertThat(plan.guarded()).isEqualTo(1).isEqualTo((int) facts.guardsNeeded());
        assertThat(plan.elided()).isEqualTo(2).isEqualTo((int) facts.guardsElided());
        assertThat(plan.mode(4)).isEqualTo(HeapPlan.Mode.HEAP_GUARDED);
        assertThat(plan.mode(5)).isEqualTo(HeapPlan.Mode.HEAP_ELIDED);
    }

    @Test
    void factsOfAnotherProgramAreRefused() {
        Code code = storeAndLoad(0x100);
        VerifiedProgram other = verify(storeAndLoad(0x200));
        for (Engine e : TestEngines.all()) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> e.load(code, Bindings.of(HelperTable.empty())
                    .withVerified(other).withHeap(new TestHeap(1 << 16, false)))).isInstanceOf(EngineException.class);
        }
    }

    @Test
    void factsStillApplyWhenContextLoadsWereRewrittenInPlace() throws Exception {
        // r2 = *(u32 *)(ctx + 0); then a heap store. A runtime may redirect the context load.
        Code verified = code(ldx(Size.W, 2, 1, 0), lddw(1, 0x100), castKern(1, 1), stx(Size.DW, 1, 2, 0), mov(0, 0), exit());
        Code rewritten = code(ldx(Size.DW, 2, 1, 64), lddw(1, 0x100), castKern(1, 1), stx(Size.DW, 1, 2, 0), mov(0, 0), exit());
        VerifiedProgram facts = verify(verified);
        HeapPlan plan = HeapPlan.of(rewritten, Bindings.of(HelperTable.empty()).withVerified(facts).withHeap(new TestHeap(1 << 16, false)));
        assertThat(plan.mode(4)).as("the cast sanitised r1").isEqualTo(HeapPlan.Mode.HEAP_ELIDED);
        // Rewriting the heap access itself is not allowed.
        Code heapChanged = code(ldx(Size.W, 2, 1, 0), lddw(1, 0x100), castKern(1, 1), stx(Size.W, 1, 2, 0), mov(0, 0), exit());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HeapPlan.of(heapChanged, Bindings.of(HelperTable.empty()).withVerified(facts)
                .withHeap(new TestHeap(1 << 16, false)))).isInstanceOf(EngineException.class).hasMessageContaining("slot 4");
    }

    // ---- escape property

    private static final long PAD = 1 << 16;
    private static final byte SENTINEL = (byte) 0xa5;

    @Provide
    Arbitrary<Size> sizes() { return Arbitraries.of(Size.values()); }

    @Provide
    Arbitrary<Long> pointers() {
        return Arbitraries.oneOf(Arbitraries.longs(), Arbitraries.longs().between(-70_000, 70_000),
                Arbitraries.longs().between(0, 0xffff_ffffL), Arbitraries.of(0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, 0xffff_ffffL));
    }

    /**
     * Whatever the pointer and displacements, guarded and guard-elided heap accesses of an
     * accepted program touch only the heap's segment: the memory around it keeps its sentinel
     * bytes, no run faults, and every engine leaves the same heap and result.
     */
    @Property(tries = 150)
    void heapAccessesNeverLeaveTheHeap(@ForAll("pointers") long pointer, @ForAll("pointers") long delta, @ForAll short off1,
                                       @ForAll short off2, @ForAll short off3, @ForAll("sizes") Size size, @ForAll long value,
                                       @ForAll boolean smallHeap) throws Exception {
        long heapSize = smallHeap ? 4096 : 1 << 16;
        List<Instruction> insns = new ArrayList<>(List.of(lddw(1, pointer), castKern(1, 1), lddw(3, delta), addr(1, 3), lddw(2, value),
                stx(size, 1, 2, off1), ldx(size, 0, 1, off2), st(size, 1, off3, 0x5a), ldx(size, 4, 1, off3), addr(0, 4), exit()));
        Code code = code(insns);
        runConfinedEverywhere(code, verify(code), heapSize);
    }

    /**
     * Runs {@code code} on every engine with a heap of {@code heapSize} bytes whose segment sits
     * between sentinel bytes: every run returns (an access past the segment would fault), the
     * sentinels are intact, and every engine leaves the same result and heap.
     */
    private static void runConfinedEverywhere(Code code, VerifiedProgram facts, long heapSize) throws Exception {
        Outcome expected = null;
        byte[] expectedHeap = null;
        for (Engine e : TestEngines.all()) {
            MemorySegment all = Arena.ofAuto().allocate(heapSize + 2 * HeapMemory.GUARD + 2 * PAD, 4096);
            all.fill(SENTINEL);
            MemorySegment heapSegment = all.asSlice(PAD, heapSize + 2 * HeapMemory.GUARD);
            heapSegment.fill((byte) 0);
            TestHeap heap = new TestHeap(heapSegment, heapSize, false);
            Outcome o = e.load(code, Bindings.of(HelperTable.empty()).withVerified(facts).withHeap(heap)).run(new Invocation(new AddressSpace()));
            assertThat(o).as(e.name()).isInstanceOf(Outcome.Returned.class);
            MemorySegment sentinel = Arena.ofAuto().allocate(PAD).fill(SENTINEL);
            assertThat(all.asSlice(0, PAD).mismatch(sentinel)).as("memory below the heap's segment").isEqualTo(-1);
            assertThat(all.asSlice(all.byteSize() - PAD, PAD).mismatch(sentinel)).as("memory above the heap's segment").isEqualTo(-1);
            byte[] bytes = heapSegment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            if (expected == null) {
                expected = o;
                expectedHeap = bytes;
            } else {
                assertThat(o).as(e.name()).isEqualTo(expected);
                assertThat(bytes).as(e.name()).isEqualTo(expectedHeap);
            }
        }
    }

    /** One step of a random heap program: r1 is the heap pointer, r6 an arbitrary number, r2 the value stored. */
    @Provide
    Arbitrary<List<Instruction>> heapSteps() {
        Arbitrary<Integer> displacement = Arbitraries.oneOf(Arbitraries.integers().between(-40_000, 40_000), Arbitraries.of(8, 16, 64, -8, 32_760, 32_768));
        Arbitrary<Short> off = Arbitraries.oneOf(Arbitraries.shorts(), Arbitraries.shorts().between((short) -64, (short) 64));
        Arbitrary<List<Instruction>> cast = Arbitraries.just(List.of(castKern(1, 1)));
        Arbitrary<List<Instruction>> fresh = Arbitraries.longs().map(p -> List.of(lddw(1, p), castKern(1, 1)));
        Arbitrary<List<Instruction>> moved = displacement.map(k -> List.of(add(1, k)));
        Arbitrary<List<Instruction>> unknown = Arbitraries.just(List.of(addr(1, 6)));
        // r3 = (r6 & mask) << shift; r1 += r3: a bounded index.
        Arbitrary<List<Instruction>> indexed = Combinators.combine(Arbitraries.of(7, 255, 4095, 0xffff, 0x7fff_ffff), Arbitraries.of(0, 3, 4, 12),
                Arbitraries.of(true, false)).as((mask, shift, wide) -> List.of(movr(3, 6),
                wide ? alu64(io.kflex.isa.AluOp.AND, 3, mask) : alu32(io.kflex.isa.AluOp.AND, 3, mask), alu64(io.kflex.isa.AluOp.LSH, 3, shift), addr(1, 3)));
        // if (r6 >= k) skip; r3 = r6 << shift; r1 += r3: an index bounded by a comparison.
        Arbitrary<List<Instruction>> compared = Combinators.combine(Arbitraries.of(1, 64, 512, 4096, 1 << 20), Arbitraries.of(0, 3, 6),
                Arbitraries.of(io.kflex.isa.JumpOp.JGE, io.kflex.isa.JumpOp.JGT, io.kflex.isa.JumpOp.JLT, io.kflex.isa.JumpOp.JLE))
                .as((k, shift, op) -> List.of(jmp(op, 6, k, 3), movr(3, 6), alu64(io.kflex.isa.AluOp.LSH, 3, shift), addr(1, 3)));
        Arbitrary<List<Instruction>> spillFill = Arbitraries.of(-8, -16).map(slot -> List.of(stx(Size.DW, 10, 1, slot), ldx(Size.DW, 1, 10, slot)));
        // if (r6 == k) r1 += d: the paths join with different displacements.
        Arbitrary<List<Instruction>> branch = Combinators.combine(Arbitraries.integers().between(0, 3), displacement)
                .as((k, d) -> List.of(jmp(io.kflex.isa.JumpOp.JNE, 6, k, 1), add(1, d)));
        Arbitrary<List<Instruction>> store = Combinators.combine(sizes(), off).as((size, o) -> List.of(stx(size, 1, 2, o)));
        Arbitrary<List<Instruction>> load = Combinators.combine(sizes(), off).as((size, o) -> List.of(ldx(size, 4, 1, o), addr(0, 4)));
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(1, cast), net.jqwik.api.Tuple.of(1, fresh), net.jqwik.api.Tuple.of(3, moved),
                net.jqwik.api.Tuple.of(1, unknown), net.jqwik.api.Tuple.of(2, indexed), net.jqwik.api.Tuple.of(3, compared), net.jqwik.api.Tuple.of(1, spillFill),
                net.jqwik.api.Tuple.of(2, branch), net.jqwik.api.Tuple.of(4, store), net.jqwik.api.Tuple.of(4, load));
    }

    /** Numbers for indices: arbitrary, or around the bounds the programs compare against. */
    @Provide
    Arbitrary<Long> numbers() { return Arbitraries.oneOf(pointers(), Arbitraries.longs().between(0, 1 << 21)); }

    @Provide
    Arbitrary<List<List<Instruction>>> heapPrograms() { return heapSteps().list().ofMinSize(1).ofMaxSize(12); }

    /**
     * The forms guard elision follows — fresh casts, constant displacements, masked and scaled
     * indices, spills and fills, joins of paths with different displacements — in random
     * programs the verifier accepts, with arbitrary pointers and numbers: no access leaves the
     * heap's segment, on any engine, and the engines agree.
     */
    @Property(tries = 200)
    void elidedAccessesNeverLeaveTheHeap(@ForAll("pointers") long pointer, @ForAll("numbers") long number, @ForAll long value,
                                         @ForAll("heapPrograms") List<List<Instruction>> steps,
                                         @ForAll boolean smallHeap) throws Exception {
        // r6 ^= 0 keeps the number but hides it from the analysis, which must then rely on masks and comparisons.
        List<Instruction> insns = new ArrayList<>(List.of(lddw(1, pointer), castKern(1, 1), lddw(6, number),
                alu64(io.kflex.isa.AluOp.XOR, 6, 0), lddw(2, value), mov(0, 0)));
        steps.forEach(insns::addAll);
        insns.add(exit());
        Code code = code(insns);
        VerifiedProgram facts = verify(code);
        net.jqwik.api.statistics.Statistics.label("elided").collect(facts.guardsElided() == 0 ? "none" : facts.guardsNeeded() == 0 ? "all" : "some");
        runConfinedEverywhere(code, facts, smallHeap ? 4096 : 1 << 16);
    }

    /**
     * Checked mode on a heap with some pages allocated: random accesses (loads, stores, atomics)
     * either all succeed or fault, on every engine at the same instruction with the same reason.
     */
    @Property(tries = 100)
    void checkedModeFaultsAlikeOnEveryEngine(@ForAll("pointers") long pointer, @ForAll short off1, @ForAll short off2,
                                             @ForAll("sizes") Size size, @ForAll boolean atomicAdd, @ForAll int allocatedMask) throws Exception {
        long heapSize = 1 << 16;
        List<Instruction> insns = new ArrayList<>(List.of(lddw(1, pointer), castKern(1, 1), mov(2, 3),
                stx(size, 1, 2, off1),
                atomicAdd ? atomic(Size.DW, io.kflex.isa.AtomicOp.ADD, true, 1, 2, off2) : ldx(size, 2, 1, off2),
                movr(0, 2), exit()));
        Code code = code(insns);
        VerifiedProgram facts = verify(code);
        Outcome expected = null;
        for (Engine e : TestEngines.all()) {
            TestHeap heap = new TestHeap(heapSize, true);
            // Allocate a random pattern of the first 16 pages: page 1 + 2k holds bit k of the mask.
            for (int k = 0; k < 7; k++) if ((allocatedMask & (1 << k)) != 0) assertThat(heap.allocPages(1)).isNotZero();
            Outcome o = e.load(code, Bindings.of(HelperTable.empty()).withVerified(facts).withHeap(heap)).run(new Invocation(new AddressSpace()));
            if (o instanceof Outcome.Faulted f) {
                assertThat(f.pc()).as(e.name()).isIn(4, 5);
                assertThat(f.reason()).containsAnyOf("outside the allocated pages", "misaligned");
            } else {
                assertThat(o).isInstanceOf(Outcome.Returned.class);
            }
            if (expected == null) expected = o;
            else assertThat(o).as(e.name()).isEqualTo(expected);
        }
    }
}
