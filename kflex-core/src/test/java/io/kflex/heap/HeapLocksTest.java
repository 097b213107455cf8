package io.kflex.heap;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.CallbackOutcome;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.HeldResources;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.engine.Runs;
import io.kflex.engine.SharedRegions;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.Helper;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.Size;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** kflex_spin_lock and bpf_spin_lock: exclusion, several held, waits that always end, release on unwind. */
@Timeout(60)
class HeapLocksTest {
    private static final int LOCK = 10, UNLOCK = 11;

    private Heap heap;
    private HeapKfuncs kfuncs;
    private Helper lock, unlock;

    static Iterable<Engine> engines() {
        return TestEngines.all();
    }

    @BeforeEach
    void createHeap() throws HeapException {
        heap = Heap.create(HeapConfig.ofSize(1 << 16).withLockTimeout(Duration.ofMillis(200)));
        kfuncs = HeapKfuncs.forHeap(heap);
        lock = kfuncs.get(HeapKfuncs.SPIN_LOCK);
        unlock = kfuncs.get(HeapKfuncs.SPIN_UNLOCK);
    }

    @AfterEach
    void closeHeap() {
        heap.close();
    }

    private static Invocation invocation() {
        return new Invocation(new AddressSpace());
    }

    @Test
    void severalLocksAreHeldAtOnceAndRecordedOnTheInvocation() {
        long a = heap.malloc(16), b = heap.malloc(16);
        Invocation inv = invocation();
        lock.call(inv, a, 0, 0, 0, 0);
        lock.call(inv, b + 4, 0, 0, 0, 0);
        assertThat(heap.view().isLocked(a)).isTrue();
        assertThat(heap.view().isLocked(b + 4)).isTrue();
        assertThat(heap.view().isLocked(b)).isFalse();
        assertThat(inv.resources().list()).extracting(r -> r.description())
                .containsExactly(String.format("kflex_spin_lock heap+0x%x", a & heap.mask()), String.format("kflex_spin_lock heap+0x%x", (b + 4) & heap.mask()));
        unlock.call(inv, a, 0, 0, 0, 0);
        assertThat(heap.view().isLocked(a)).isFalse();
        assertThat(heap.view().isLocked(b + 4)).isTrue();
        unlock.call(inv, b + 4, 0, 0, 0, 0);
        assertThat(inv.resources().isEmpty()).isTrue();
        assertThat(heap.view().getU32(b + 4)).as("a free lock is a zero word").isZero();
    }

    @Test
    void misuseFaultsInsteadOfCorruptingLocks() {
        long a = heap.malloc(16);
        Invocation inv = invocation();
        assertThatThrownBy(() -> unlock.call(inv, a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not held");
        heap.view().lock(a); // somebody else holds it: unlocking is still not ours to do
        assertThatThrownBy(() -> unlock.call(inv, a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class);
        assertThat(heap.view().isLocked(a)).isTrue();
        heap.view().unlock(a);
        lock.call(inv, a, 0, 0, 0, 0);
        assertThatThrownBy(() -> lock.call(inv, a, 0, 0, 0, 0)).as("self-deadlock").isInstanceOf(ExtensionFault.class).hasMessageContaining("already held");
        assertThatThrownBy(() -> lock.call(inv, a + 2, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("aligned");
        assertThatThrownBy(() -> lock.call(inv, 0, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("NULL");
        assertThatThrownBy(() -> lock.call(inv, heap.userBase() | heap.size(), 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("outside");
        assertThat(inv.resources().releaseAll()).hasSize(1);
        assertThat(heap.view().isLocked(a)).isFalse();
    }

    @Test
    void takingAndFreeingAnUncontendedLockAllocatesNothing() {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()
                && t.isThreadAllocatedMemoryEnabled(), "this JVM measures no per-thread allocation");
        var allocation = (com.sun.management.ThreadMXBean) threads;
        long a = heap.malloc(16), b = heap.malloc(16);
        Invocation inv = invocation();
        lock.call(inv, a, 0, 0, 0, 0); // the invocation's first lock makes its table of held resources
        unlock.call(inv, a, 0, 0, 0, 0);
        long before = allocation.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            lock.call(inv, a, 0, 0, 0, 0);
            lock.call(inv, b, 0, 0, 0, 0);
            unlock.call(inv, b, 0, 0, 0, 0);
            unlock.call(inv, a, 0, 0, 0, 0);
        }
        long allocated = allocation.getCurrentThreadAllocatedBytes() - before;
        // 40,000 calls: one small object per call would be over a megabyte.
        assertThat(allocated).as("bytes allocated by 40,000 lock and unlock calls").isLessThan(4096);
        assertThat(inv.resources().isEmpty()).isTrue();
        assertThat(heap.view().isLocked(a) || heap.view().isLocked(b)).isFalse();
    }

    @Test
    void takingAndFreeingAnUncontendedMapLockAllocatesNothing() {
        var threads = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()
                && t.isThreadAllocatedMemoryEnabled(), "this JVM measures no per-thread allocation");
        var allocation = (com.sun.management.ThreadMXBean) threads;
        SharedRegions shared = new SharedRegions();
        long a = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), true, "v")), b = a + 8;
        Helper mapLock = HeapKfuncs.bpfSpinLock(Duration.ofSeconds(1)), mapUnlock = HeapKfuncs.bpfSpinUnlock();
        AddressSpace memory = new AddressSpace(shared);
        Invocation inv = new Invocation(memory);
        mapLock.call(inv, a, 0, 0, 0, 0); // the invocation's first lock makes its table of held resources
        mapLock.call(inv, b, 0, 0, 0, 0); // and the window's lock family
        mapUnlock.call(inv, b, 0, 0, 0, 0);
        mapUnlock.call(inv, a, 0, 0, 0, 0);
        long before = allocation.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            mapLock.call(inv, a, 0, 0, 0, 0);
            mapLock.call(inv, b, 0, 0, 0, 0);
            mapUnlock.call(inv, b, 0, 0, 0, 0);
            mapUnlock.call(inv, a, 0, 0, 0, 0);
        }
        long allocated = allocation.getCurrentThreadAllocatedBytes() - before;
        // 40,000 calls: one small object per call would be over a megabyte.
        assertThat(allocated).as("bytes allocated by 40,000 bpf_spin_lock and bpf_spin_unlock calls").isLessThan(4096);
        assertThat(inv.resources().isEmpty()).isTrue();
        assertThat(memory.load(a, 4) | memory.load(b, 4)).isZero();
    }

    @Test
    void aMapLockIsAWordOfItsWindowsFamilyWhicheverHelpersTookIt() {
        SharedRegions shared = new SharedRegions();
        long value = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), true, "v"));
        AddressSpace memory = new AddressSpace(shared);
        Invocation inv = new Invocation(memory);
        HeapKfuncs.bpfSpinLock(Duration.ofSeconds(1)).call(inv, value + 4, 0, 0, 0, 0);
        assertThat(inv.resources().list()).singleElement().isInstanceOfSatisfying(HeldResources.FamilyLock.class, held -> {
            assertThat(held.family()).isSameAs(shared.lockFamily(value >>> 32, (w, r) -> { throw new AssertionError("made twice"); }));
            assertThat(held.word()).isEqualTo(4);
            assertThat(held.description()).isEqualTo(String.format("bpf_spin_lock 0x%x", value + 4));
        });
        assertThatThrownBy(() -> HeapKfuncs.bpfSpinLock(Duration.ofSeconds(1)).call(inv, value + 4, 0, 0, 0, 0)) // another program's helper
                .isInstanceOf(ExtensionFault.class).hasMessage(String.format("bpf_spin_lock 0x%x is already held by this invocation", value + 4));
        HeapKfuncs.bpfSpinUnlock().call(inv, value + 4, 0, 0, 0, 0);
        assertThat(inv.resources().isEmpty()).isTrue();
        assertThat(memory.load(value + 4, 4)).isZero();
    }

    @Test
    void aMapLockHeldElsewhereIsAwaitedUntilItTimesOutOrTheInvocationIsCancelled() {
        SharedRegions shared = new SharedRegions();
        long value = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), true, "v"));
        AddressSpace memory = new AddressSpace(shared);
        memory.store(value, 4, SpinLocks.LOCKED); // another invocation holds it
        Helper mapLock = HeapKfuncs.bpfSpinLock(Duration.ofMillis(150));
        Invocation inv = new Invocation(memory);
        mapLock.call(inv, value + 8, 0, 0, 0, 0);
        long start = System.nanoTime();
        assertThatThrownBy(() -> mapLock.call(inv, value, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class)
                .hasMessage(String.format("bpf_spin_lock 0x%x: not acquired within PT0.15S", value));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(100L, 5_000L);
        assertThat(inv.resources().list()).extracting(HeldResources.Held::description)
                .as("a lock awaited in vain is not recorded").containsExactly(String.format("bpf_spin_lock 0x%x", value + 8));

        inv.requestCancel("stop now");
        assertThatThrownBy(() -> mapLock.call(inv, value, 0, 0, 0, 0)).isInstanceOf(CallbackOutcome.class)
                .extracting(t -> ((CallbackOutcome) t).outcome()).isEqualTo(new Outcome.Cancelled(-1, "stop now", List.of()));
        assertThat(inv.resources().releaseAll()).containsExactly(String.format("bpf_spin_lock 0x%x", value + 8));
        assertThat(memory.load(value + 8, 4)).isZero();
        assertThat(memory.load(value, 4)).as("still the other's").isEqualTo(SpinLocks.LOCKED);
    }

    @Test
    void aMapLockAtABadAddressFaultsAtOnce() {
        SharedRegions shared = new SharedRegions();
        long value = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), true, "v"));
        long readOnly = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), false, "ro"));
        Helper mapLock = HeapKfuncs.bpfSpinLock(Duration.ofSeconds(30)); // a wait would outlast the test
        Invocation inv = new Invocation(new AddressSpace(shared));
        assertThatThrownBy(() -> mapLock.call(inv, value + 2, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("misaligned");
        assertThatThrownBy(() -> mapLock.call(inv, value + 16, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("out of bounds");
        assertThatThrownBy(() -> mapLock.call(inv, readOnly, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("read-only");
        assertThatThrownBy(() -> mapLock.call(inv, readOnly + (16L << 32), 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("unmapped");
        assertThat(inv.resources().isEmpty()).isTrue();
        shared.unmap(value);
        assertThatThrownBy(() -> mapLock.call(inv, value, 0, 0, 0, 0)).as("unmapped since").isInstanceOf(ExtensionFault.class).hasMessageContaining("unmapped");
        assertThat(inv.resources().isEmpty()).isTrue();
    }

    @Test
    void aMapLockInAnInvocationsOwnWindowIsHeldAndReleasedToo() {
        AddressSpace memory = new AddressSpace();
        long own = memory.map(new Region(Region.Kind.MEMORY, Arena.ofAuto().allocate(16, 8), true, "own"));
        Invocation inv = new Invocation(memory);
        Helper mapLock = HeapKfuncs.bpfSpinLock(Duration.ofMillis(100)), mapUnlock = HeapKfuncs.bpfSpinUnlock();
        mapLock.call(inv, own + 8, 0, 0, 0, 0);
        assertThat(memory.load(own + 8, 4)).isEqualTo(SpinLocks.LOCKED);
        assertThatThrownBy(() -> mapLock.call(inv, own + 8, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("already held");
        assertThatThrownBy(() -> mapUnlock.call(inv, own, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not held");
        assertThatThrownBy(() -> mapLock.call(inv, own + 16, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("out of bounds");
        mapUnlock.call(inv, own + 8, 0, 0, 0, 0);
        assertThat(memory.load(own + 8, 4)).isZero();
        mapLock.call(inv, own + 8, 0, 0, 0, 0);
        assertThat(inv.resources().releaseAll()).containsExactly(String.format("bpf_spin_lock 0x%x", own + 8));
        assertThat(memory.load(own + 8, 4)).isZero();
    }

    @Test
    void aLockIsTheHeapsWhicheverProgramsKfuncsTookIt() {
        long a = heap.malloc(16);
        Helper otherUnlock = HeapKfuncs.forHeap(heap).get(HeapKfuncs.SPIN_UNLOCK); // another program on the same heap
        Invocation inv = invocation();
        lock.call(inv, a, 0, 0, 0, 0);
        assertThatThrownBy(() -> HeapKfuncs.forHeap(heap).get(HeapKfuncs.SPIN_LOCK).call(inv, a, 0, 0, 0, 0))
                .isInstanceOf(ExtensionFault.class).hasMessageContaining("already held");
        otherUnlock.call(inv, a, 0, 0, 0, 0);
        assertThat(heap.view().isLocked(a)).isFalse();
        assertThat(inv.resources().isEmpty()).isTrue();
    }

    @Test
    void aLockAwaitedInVainIsNeverRecordedAndOnlyWhatWasTakenIsReleased() {
        long mine = heap.malloc(16), theirs = heap.malloc(16);
        heap.view().lock(theirs);
        Invocation inv = invocation();
        lock.call(inv, mine, 0, 0, 0, 0);
        assertThatThrownBy(() -> lock.call(inv, theirs, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not acquired within");
        assertThat(inv.resources().list()).extracting(r -> r.description()).containsExactly(String.format("kflex_spin_lock heap+0x%x", mine & heap.mask()));
        assertThat(inv.resources().releaseAll()).hasSize(1);
        assertThat(heap.view().isLocked(mine)).isFalse();
        assertThat(heap.view().isLocked(theirs)).as("still the host's").isTrue();
        heap.view().unlock(theirs);
    }

    @Test
    void aHeldLockFreedBehindTheInvocationsBackIsStillASelfDeadlock() {
        long a = heap.malloc(16);
        Invocation inv = invocation();
        lock.call(inv, a, 0, 0, 0, 0);
        heap.view().unlock(a); // host code that should not have
        assertThatThrownBy(() -> lock.call(inv, a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("already held");
        assertThat(inv.resources().size()).as("recorded once").isEqualTo(1);
        inv.resources().releaseAll();
        assertThat(heap.view().isLocked(a)).isFalse();
    }

    @Test
    void unlockingOnAClosedHeapFaultsAndForgetsTheLock() {
        long a = heap.malloc(16);
        Invocation inv = invocation();
        lock.call(inv, a, 0, 0, 0, 0);
        heap.close();
        assertThatThrownBy(() -> unlock.call(inv, a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("heap heap is closed");
        assertThat(inv.resources().isEmpty()).isTrue();
        assertThatThrownBy(() -> lock.call(inv, a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("heap heap is closed");
        assertThat(inv.resources().isEmpty()).isTrue();
    }

    @Test
    void aWaitTimesOut() {
        long a = heap.malloc(16);
        heap.view().lock(a);
        long start = System.nanoTime();
        assertThatThrownBy(() -> lock.call(invocation(), a, 0, 0, 0, 0)).isInstanceOf(ExtensionFault.class).hasMessageContaining("not acquired within");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isBetween(150L, 5_000L);
        assertThatThrownBy(() -> heap.view().lock(a, Duration.ofMillis(20))).isInstanceOf(HeapLockException.class);
    }

    @Test
    void aWaitEndsWhenTheInvocationIsCancelled() throws Exception {
        try (Heap patient = Heap.create(HeapConfig.ofSize(1 << 16).withLockTimeout(Duration.ofSeconds(30)))) {
            long a = patient.malloc(16);
            patient.view().lock(a);
            Invocation inv = invocation();
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread waiter = Thread.ofPlatform().start(() -> {
                started.countDown();
                try {
                    HeapKfuncs.forHeap(patient).get(HeapKfuncs.SPIN_LOCK).call(inv, a, 0, 0, 0, 0);
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            started.await();
            Thread.sleep(20);
            long start = System.nanoTime();
            inv.requestCancel("stop now");
            waiter.join(20_000);
            assertThat(waiter.isAlive()).isFalse();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("long before the 30 s timeout").isLessThan(10_000);
            assertThat(thrown.get()).isInstanceOf(CallbackOutcome.class);
            assertThat(((CallbackOutcome) thrown.get()).outcome()).isEqualTo(new Outcome.Cancelled(-1, "stop now", List.of()));
            assertThat(inv.resources().isEmpty()).isTrue();
            assertThat(patient.view().isLocked(a)).as("still the host's").isTrue();
        }
    }

    @Test
    void aWaitEndsWhenTheThreadIsInterrupted() {
        long a = heap.malloc(16);
        heap.view().lock(a);
        Thread.currentThread().interrupt();
        try {
            assertThatThrownBy(() -> lock.call(invocation(), a, 0, 0, 0, 0)).isInstanceOf(CallbackOutcome.class)
                    .extracting(t -> ((CallbackOutcome) t).outcome()).isEqualTo(new Outcome.Cancelled(-1, "interrupted", List.of()));
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
            assertThatThrownBy(() -> heap.view().lock(a)).isInstanceOf(HeapLockException.class).hasMessageContaining("interrupted");
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void extensionsAndTheHostExcludeEachOther() throws Exception {
        // Timeouts far beyond any scheduling delay: this test is about exclusion, not waiting.
        heap.close();
        heap = Heap.create(HeapConfig.ofSize(1 << 16).withLockTimeout(Duration.ofSeconds(30)));
        lock = HeapKfuncs.forHeap(heap).get(HeapKfuncs.SPIN_LOCK);
        unlock = HeapKfuncs.forHeap(heap).get(HeapKfuncs.SPIN_UNLOCK);
        HeapView view = heap.view();
        long cell = heap.malloc(16); // lock word at +0, counter at +8
        int threads = 4, rounds = 2_000;
        List<Thread> workers = new ArrayList<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        for (int t = 0; t < threads; t++) {
            boolean host = t % 2 == 0;
            workers.add(Thread.ofPlatform().start(() -> {
                try {
                    for (int i = 0; i < rounds; i++) {
                        if (host) {
                            view.withLock(cell, () -> {
                                increment(view, cell + 8);
                                return null;
                            });
                        } else {
                            Invocation inv = invocation();
                            lock.call(inv, cell, 0, 0, 0, 0);
                            increment(view, cell + 8);
                            unlock.call(inv, cell, 0, 0, 0, 0);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread w : workers) w.join();
        assertThat(failure.get()).isNull();
        assertThat(view.getU64(cell + 8)).isEqualTo((long) threads * rounds);
        assertThat(view.isLocked(cell)).isFalse();
    }

    /** A deliberately non-atomic read-modify-write that loses updates without the lock. */
    private static void increment(HeapView view, long address) {
        long v = view.getU64(address);
        if ((v & 63) == 0) Thread.yield();
        view.setU64(address, v + 1);
    }

    // --- through the engines ---------------------------------------------------------------

    private HelperTable kfuncTable() {
        return kfuncs.register(HelperTable.builder(), Map.of(HeapKfuncs.SPIN_LOCK, LOCK, HeapKfuncs.SPIN_UNLOCK, UNLOCK)).build();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void locksHeldWhenAProgramFaultsAreReleased(Engine e) {
        long a = heap.malloc(16), b = heap.malloc(16);
        Code code = code(
                /* 0 */ lddw(1, a),
                /* 2 */ callKfunc(LOCK),
                /* 3 */ lddw(1, b),
                /* 5 */ callKfunc(LOCK),
                /* 6 */ mov(2, 0),
                /* 7 */ ldx(Size.DW, 0, 2, 0), // NULL dereference
                /* 8 */ exit());
        Outcome outcome = Runs.load(e, code, kfuncTable()).run(invocation());
        assertThat(outcome).isInstanceOf(Outcome.Faulted.class);
        assertThat(((Outcome.Faulted) outcome).pc()).isEqualTo(7);
        assertThat(heap.view().isLocked(a)).isFalse();
        assertThat(heap.view().isLocked(b)).isFalse();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void locksHeldWhenAProgramIsCancelledAreReleasedAndReported(Engine e) {
        long a = heap.malloc(16);
        Code code = code(
                /* 0 */ lddw(1, a),
                /* 2 */ callKfunc(LOCK),
                /* 3 */ mov(0, 0),
                /* 4 */ add(0, 1),
                /* 5 */ ja(-2));
        Invocation inv = invocation();
        inv.requestCancel("budget");
        Outcome outcome = Runs.load(e, code, kfuncTable()).run(inv);
        assertThat(outcome).isEqualTo(new Outcome.Cancelled(5, "budget", List.of(String.format("kflex_spin_lock heap+0x%x", a & heap.mask()))));
        assertThat(heap.view().isLocked(a)).isFalse();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void heapLocksAndAMapLockHeldAtACancellationAreReleasedNewestFirstAndReported(Engine e) {
        long a = heap.malloc(16), b = heap.malloc(16);
        SharedRegions shared = new SharedRegions();
        long value = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(8, 8), true, "v"));
        HelperTable helpers = HeapKfuncs.registerSpinLockHelpers(kfuncs.register(HelperTable.builder(),
                Map.of(HeapKfuncs.SPIN_LOCK, LOCK, HeapKfuncs.SPIN_UNLOCK, UNLOCK)), Duration.ofSeconds(1)).build();
        Code code = code(
                /* 0 */ lddw(1, a),
                /* 2 */ callKfunc(LOCK),
                /* 3 */ lddw(1, value),
                /* 5 */ call(HeapKfuncs.BPF_SPIN_LOCK),
                /* 6 */ lddw(1, b),
                /* 8 */ callKfunc(LOCK),
                /* 9 */ mov(0, 0),
                /* 10 */ add(0, 1),
                /* 11 */ ja(-2));
        AddressSpace memory = new AddressSpace(shared);
        Invocation inv = new Invocation(memory);
        inv.requestCancel("budget");
        Outcome outcome = Runs.load(e, code, helpers).run(inv);
        assertThat(outcome).isEqualTo(new Outcome.Cancelled(11, "budget", List.of(
                String.format("kflex_spin_lock heap+0x%x", b & heap.mask()),
                String.format("bpf_spin_lock 0x%x", value),
                String.format("kflex_spin_lock heap+0x%x", a & heap.mask()))));
        assertThat(heap.view().isLocked(a) || heap.view().isLocked(b)).isFalse();
        assertThat(memory.load(value, 4)).isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aProgramWaitingForAHeldLockFaultsInsteadOfHanging(Engine e) {
        long a = heap.malloc(16), mine = heap.malloc(16);
        heap.view().lock(a);
        Code code = code(
                /* 0 */ lddw(1, mine),
                /* 2 */ callKfunc(LOCK),
                /* 3 */ lddw(1, a),
                /* 5 */ callKfunc(LOCK),
                /* 6 */ mov(0, 0),
                /* 7 */ exit());
        Outcome outcome = Runs.load(e, code, kfuncTable()).run(invocation());
        assertThat(outcome).isInstanceOf(Outcome.Faulted.class);
        assertThat(((Outcome.Faulted) outcome).pc()).isEqualTo(5);
        assertThat(((Outcome.Faulted) outcome).reason()).contains("not acquired within");
        assertThat(heap.view().isLocked(mine)).as("the lock it held is released").isFalse();
        assertThat(heap.view().isLocked(a)).as("the host's lock is untouched").isTrue();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bpfSpinLockGuardsAMapValueAcrossThreads(Engine e) throws Exception {
        SharedRegions shared = new SharedRegions();
        MemorySegment value = Arena.ofAuto().allocate(16, 8); // struct { bpf_spin_lock; u32 count; u64 total; }
        long base = shared.map(new Region(Region.Kind.MAP_VALUE, value, true, "accounts[0]"));
        HelperTable helpers = HeapKfuncs.registerSpinLockHelpers(HelperTable.builder(), Duration.ofSeconds(30)).build();
        Code code = code(
                /* 0 */ lddw(6, base),
                /* 2 */ movr(1, 6),
                /* 3 */ call(HeapKfuncs.BPF_SPIN_LOCK),
                /* 4 */ ldx(Size.W, 2, 6, 4),
                /* 5 */ add(2, 1),
                /* 6 */ stx(Size.W, 6, 2, 4),
                /* 7 */ ldx(Size.DW, 3, 6, 8),
                /* 8 */ add(3, 64),
                /* 9 */ stx(Size.DW, 6, 3, 8),
                /* 10 */ movr(1, 6),
                /* 11 */ call(HeapKfuncs.BPF_SPIN_UNLOCK),
                /* 12 */ mov(0, 0),
                /* 13 */ exit());
        Executable program = Runs.load(e, code, helpers);
        int threads = 3, runs = 3_000;
        List<Thread> workers = new ArrayList<>();
        AtomicReference<Outcome> bad = new AtomicReference<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < runs; i++) {
                    Outcome o = program.run(new Invocation(new AddressSpace(shared)));
                    if (!(o instanceof Outcome.Returned)) bad.compareAndSet(null, o);
                }
            }));
        }
        for (Thread w : workers) w.join();
        assertThat(bad.get()).isNull();
        AddressSpace memory = new AddressSpace(shared);
        assertThat(memory.load(base + 4, 4)).isEqualTo((long) threads * runs);
        assertThat(memory.load(base + 8, 8)).isEqualTo(64L * threads * runs);
        assertThat(memory.load(base, 4)).as("unlocked").isZero();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void bpfSpinLockHeldAtAFaultIsReleased(Engine e) {
        SharedRegions shared = new SharedRegions();
        long base = shared.map(new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(16, 8), true, "v"));
        HelperTable helpers = HeapKfuncs.registerSpinLockHelpers(HelperTable.builder(), Duration.ofSeconds(1)).build();
        Code code = code(lddw(1, base), call(HeapKfuncs.BPF_SPIN_LOCK), mov(2, 0), ldx(Size.W, 0, 2, 0), exit());
        AddressSpace memory = new AddressSpace(shared);
        assertThat(Runs.load(e, code, helpers).run(new Invocation(memory))).isInstanceOf(Outcome.Faulted.class);
        assertThat(memory.load(base, 4)).isZero();
        Invocation inv = new Invocation(memory);
        assertThatThrownBy(() -> helpers.get(HeapKfuncs.BPF_SPIN_UNLOCK).implementation().call(inv, base, 0, 0, 0, 0))
                .isInstanceOf(ExtensionFault.class).hasMessageContaining("not held");
    }
}
