package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.TestObjects;
import io.kflex.engine.AddressSpace;
import io.kflex.engine.Outcome;
import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The per-thread slots a run needs (reclamation epoch, watchdog) are kept in the address space a
 * thread runs in, and serve that thread only: another thread, or another runtime, running in the
 * same address space gets its own, and a kept watchdog slot still cancels.
 */
class ThreadRunStateTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    /** struct calc_args { u32 op; u32 pad; s64 a, b, result; } with op 0 (a + b). */
    private static HookContext addition(LoadedProgram calc, long a, long b) {
        return HookContext.of(calc, 32, true, "ctx", ctx -> {
            ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, 8, a);
            ctx.set(ValueLayout.JAVA_LONG_UNALIGNED, 16, b);
        }, null, 0);
    }

    private static long result(MemorySegment ctx) {
        return ctx.get(ValueLayout.JAVA_LONG_UNALIGNED, 24);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aThreadsRunsInOneAddressSpaceFindTheirSlotsThereAndOtherThreadsGetTheirOwn(String engine) throws Exception {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build();
             Extension ext = runtime.open(TestObjects.object("syscall_ctx.bpf.o"))) {
            LoadedProgram calc = ext.load("calc");
            HookContext hook = addition(calc, 40, 2);
            AddressSpace memory = hook.invocation().memory();
            assertThat(calc.invoke(hook.nextInvocation(), null)).isEqualTo(new Outcome.Returned(0));
            assertThat(result(hook.context())).isEqualTo(42);
            ThreadRunState mine = (ThreadRunState) memory.hostState();
            assertThat(mine.thread()).isSameAs(Thread.currentThread());
            assertThat(mine.runtime()).isSameAs(runtime);
            assertThat(mine.epoch()).isSameAs(runtime.maps().epochs().slot());
            assertThat(mine.watch()).isSameAs(runtime.watchdog().slot());
            calc.invoke(hook.nextInvocation(), null);
            assertThat(memory.hostState()).as("kept from run to run").isSameAs(mine);

            AtomicReference<Object> theirs = new AtomicReference<>();
            AtomicReference<Outcome> outcome = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                outcome.set(calc.invoke(hook.nextInvocation(), null));
                theirs.set(memory.hostState());
            });
            other.join();
            assertThat(outcome.get()).isEqualTo(new Outcome.Returned(0));
            assertThat(theirs.get()).isInstanceOfSatisfying(ThreadRunState.class, s -> {
                assertThat(s.thread()).isSameAs(other);
                assertThat(s.epoch()).isNotSameAs(mine.epoch());
                assertThat(s.watch()).isNotSameAs(mine.watch());
            });
            assertThat(runtime.maps().epochs().inside()).as("no epoch left open on this thread").isFalse();
            calc.invoke(hook.nextInvocation(), null);
            assertThat(((ThreadRunState) memory.hostState()).thread()).isSameAs(Thread.currentThread());
            assertThat(calc.stats().runCount()).isEqualTo(4);
        }
    }

    @Test
    void anAddressSpaceAnotherRuntimeRanInGetsThisRuntimesSlots() throws Exception {
        try (KFlexRuntime first = KFlexRuntime.builder().build(); KFlexRuntime second = KFlexRuntime.builder().build();
             Extension a = first.open(TestObjects.object("syscall_ctx.bpf.o"));
             Extension b = second.open(TestObjects.object("syscall_ctx.bpf.o"))) {
            HookContext hook = addition(a.load("calc"), 1, 2);
            a.load("calc").invoke(hook.nextInvocation(), null);
            assertThat(((ThreadRunState) hook.invocation().memory().hostState()).runtime()).isSameAs(first);
            b.load("calc").invoke(hook.nextInvocation(), null);
            assertThat(((ThreadRunState) hook.invocation().memory().hostState()).runtime()).isSameAs(second);
            assertThat(result(hook.context())).isEqualTo(3);
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    @Timeout(30)
    void aHookThreadsKeptWatchdogSlotCancelsEveryRunawayRun(String engine) throws Exception {
        try (CancelDemo d = new CancelDemo(engine, b -> b.budget(Duration.ofMillis(5)).policy(CancellationPolicy.KEEP))) {
            PacketHook hook = new PacketHook(1, XdpAction.DROP, null);
            hook.attach(d.spin);
            for (int run = 1; run <= 3; run++) {
                PacketHook.Result r = hook.process(CancelDemo.frame(), 0);
                assertThat(r.action()).as("run %d: cancelled, the hook's fallback", run).isEqualTo(XdpAction.DROP);
                assertThat(r.outcome()).isInstanceOfSatisfying(Outcome.Cancelled.class,
                        c -> assertThat(c.reason()).isEqualTo("exceeded budget of 5 ms"));
            }
            assertThat(d.spin.stats().cancellations()).isEqualTo(3);
        }
    }

    @Test
    void aWatchdogSlotServesItsOwnWatchdogAndThread() throws Exception {
        try (Watchdog one = new Watchdog(); Watchdog two = new Watchdog()) {
            Watchdog.Watch slot = one.slot();
            var invocation = new io.kflex.engine.Invocation(new AddressSpace());
            assertThatThrownBy(() -> two.watch(slot, invocation, Duration.ofSeconds(1)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("own watchdog and thread");
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread other = Thread.ofPlatform().start(() -> {
                try {
                    one.watch(slot, invocation, Duration.ofSeconds(1));
                } catch (Throwable t) {
                    failure.set(t);
                }
            });
            other.join();
            assertThat(failure.get()).isInstanceOf(IllegalArgumentException.class);
            try (Watchdog.Watch watch = one.watch(slot, invocation, Duration.ofSeconds(1))) {
                assertThat(watch).isSameAs(slot);
                assertThat(one.armed()).isEqualTo(1);
            }
            assertThat(one.armed()).isZero();
        }
    }

    @Test
    void aKeptEpochSlotNestsLikeEnter() {
        var epochs = new io.kflex.maps.Epochs();
        var slot = epochs.slot();
        try (var outer = slot.enter()) {
            try (var inner = epochs.enter()) {
                assertThat(inner).isSameAs(outer);
            }
            assertThat(epochs.inside()).isTrue();
        }
        assertThat(epochs.inside()).isFalse();
    }
}
