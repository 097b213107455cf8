package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.heap.Heap;
import io.kflex.hooks.Frames;
import io.kflex.hooks.HostSockets;
import io.kflex.maps.BpfArena;
import io.kflex.maps.BpfArray;
import io.kflex.maps.BpfRingBuf;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.function.UnaryOperator;

/**
 * {@code cancel_demo.bpf.o} opened in a fresh runtime, with a host UDP socket its runaway program
 * finds, and the host's view of every resource the program takes: the socket's references, the
 * two heap lock words, the map value's lock word and the ring buffer.
 */
final class CancelDemo implements AutoCloseable {
    static final InetSocketAddress SOCKET = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5353);
    static final InetSocketAddress PEER = new InetSocketAddress(InetAddress.getLoopbackAddress(), 4242);

    final KFlexRuntime runtime;
    final Extension extension;
    final LoadedProgram spin, takeLocks;
    final HostSockets.HostSocket socket;
    final Heap heap;
    final BpfArray stats;
    final BpfRingBuf events;
    /** Heap address of {@code struct demo}: lock a at +0, lock b at +4. */
    final long state;

    CancelDemo(String engine, UnaryOperator<KFlexRuntime.Builder> configure) throws Exception {
        runtime = configure.apply(KFlexRuntime.builder().engine(engine)).build();
        try {
            extension = runtime.open(TestObjects.object("cancel_demo.bpf.o"));
            spin = extension.load("hold_and_spin");
            takeLocks = extension.load("take_locks");
            socket = runtime.sockets().register(HostSockets.UDP, SOCKET);
            heap = ((BpfArena) extension.maps().byName("kflex_heap_map")).heap();
            stats = (BpfArray) extension.maps().byName("stats");
            events = (BpfRingBuf) extension.maps().byName("events");
            // The first run allocates the shared state (the programs do it unsynchronised).
            TestRunResult first = takeLocks.testRun(TestRun.once().withContext(new byte[8]));
            assertThat(first.outcome()).isEqualTo(new Outcome.Returned(1));
            state = ByteBuffer.wrap(first.ctxOut()).order(ByteOrder.LITTLE_ENDIAN).getLong();
        } catch (Exception | Error e) {
            runtime.close();
            throw e;
        }
    }

    /** A UDP datagram from {@link #PEER} to the host socket, as the packet hook presents it. */
    static byte[] frame() {
        return Frames.udp(PEER, SOCKET, ByteBuffer.wrap("spin".getBytes()));
    }

    /** Runs {@code hold_and_spin} once on {@link #frame()} with {@code budget} (null: the extension's). */
    TestRunResult spinOnce(Duration budget) {
        TestRun run = TestRun.once().withData(frame());
        return spin.testRun(budget == null ? run : run.withBudget(budget));
    }

    /** Runs {@code take_locks} once; its return value counts its runs. */
    Outcome takeLocksOnce() {
        return takeLocks.testRun(TestRun.once().withContext(new byte[8]).withBudget(Duration.ofSeconds(5))).outcome();
    }

    /** An invocation of {@code take_locks} the caller controls (to cancel it while it waits). */
    Invocation takeLocksInvocation() {
        AddressSpace memory = takeLocks.newAddressSpace();
        MemorySegment ctx = MemorySegment.ofArray(new long[512 / 8]);
        return new Invocation(memory, memory.map(new Region(Region.Kind.CONTEXT, ctx, true, "ctx")));
    }

    boolean heapLockAHeld() { return heap.view().isLocked(state); }

    boolean heapLockBHeld() { return heap.view().isLocked(state + 4); }

    /** The {@code bpf_spin_lock} word of {@code stats[0]}, read through the shared regions. */
    long mapLockWord() {
        return new AddressSpace(runtime.maps().regions()).load(stats.valueAddress(0, 0), 4);
    }

    /** {@code stats[0].runs}: completed runs of take_locks. */
    long takeLocksRuns() {
        byte[] value = stats.lookup(new byte[4]).orElseThrow();
        return ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN).getLong(8);
    }

    /** Whether nothing of the host's is held: no socket reference, no lock. */
    boolean quiescent() {
        return socket.references() == 0 && !heapLockAHeld() && !heapLockBHeld() && mapLockWord() == 0;
    }

    @Override
    public void close() {
        runtime.close();
    }
}
