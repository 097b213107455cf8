package io.kflex.hooks;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * A UDP socket of the host with a {@link PacketHook} in front of it, as an XDP program sits in
 * front of a Linux socket: every datagram is presented to the attached program as an
 * Ethernet/IPv4/UDP frame before the application sees it.
 * <ul>
 *   <li>{@code XDP_PASS}: the application's {@link DatagramHandler} gets the payload (as rewritten).</li>
 *   <li>{@code XDP_TX}: the rewritten frame's payload is sent from this socket to the address its
 *       headers now name — an extension answers a request without the application.</li>
 *   <li>{@code XDP_REDIRECT}: the frame goes to the sink registered for the chosen ifindex
 *       ({@link #redirectTo}); without one it is dropped.</li>
 *   <li>{@code XDP_DROP}, {@code XDP_ABORTED}: dropped.</li>
 * </ul>
 * {@code threads} receiver threads serve the socket; thread {@code i} runs its invocations as CPU
 * {@code i} (per-CPU maps, {@code bpf_get_smp_processor_id}).
 */
public final class UdpPacketHook implements AutoCloseable {
    /** Receives what the program passes, with a way to answer from the hook's socket. */
    @FunctionalInterface
    public interface DatagramHandler {
        void handle(InetSocketAddress from, ByteBuffer payload, UdpPacketHook socket) throws IOException;
    }

    private static final int MAX_DATAGRAM = 65_535;

    private final DatagramChannel channel;
    private final InetSocketAddress local;
    private final PacketHook hook;
    private final DatagramHandler application;
    private final List<Thread> workers = new ArrayList<>();
    private final Map<Integer, Consumer<byte[]>> redirects = new ConcurrentHashMap<>();
    private final LongAdder received = new LongAdder(), malformedTx = new LongAdder(), notIpv4 = new LongAdder(),
            applicationErrors = new LongAdder(), oversized = new LongAdder();
    private volatile boolean closed;
    private HostSockets sockets;
    private HostSockets.HostSocket registration;

    private UdpPacketHook(DatagramChannel channel, PacketHook hook, DatagramHandler application) throws IOException {
        this.channel = channel;
        this.local = (InetSocketAddress) channel.getLocalAddress();
        this.hook = hook;
        this.application = application;
    }

    /**
     * Binds a UDP socket at {@code address} (port 0 picks one) and starts {@code threads}
     * receivers. The hook starts with no program: everything passes until one is attached.
     */
    public static UdpPacketHook open(InetSocketAddress address, PacketHook hook, int threads, DatagramHandler application)
            throws IOException {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        Objects.requireNonNull(application);
        DatagramChannel channel = DatagramChannel.open(java.net.StandardProtocolFamily.INET);
        try {
            channel.bind(address);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        UdpPacketHook socket = new UdpPacketHook(channel, hook, application);
        for (int i = 0; i < threads; i++) {
            int cpu = i;
            Thread t = Thread.ofPlatform().daemon().name("kflex-udp-" + socket.local.getPort() + "-" + i).start(() -> socket.serve(cpu));
            socket.workers.add(t);
        }
        return socket;
    }

    /**
     * Makes this socket visible to {@code bpf_sk_lookup_udp} in {@code table} (usually the
     * runtime's {@code sockets()}) until it is closed.
     */
    public synchronized UdpPacketHook registerIn(HostSockets table) {
        if (registration != null) throw new IllegalStateException("already registered");
        sockets = table;
        registration = table.register(HostSockets.UDP, local);
        return this;
    }

    public InetSocketAddress localAddress() { return local; }

    public PacketHook hook() { return hook; }

    /** Where frames redirected to {@code ifindex} go. */
    public void redirectTo(int ifindex, Consumer<byte[]> sink) {
        redirects.put(ifindex, Objects.requireNonNull(sink));
    }

    /** Sends {@code payload} from this socket (the application's answers). */
    public void send(ByteBuffer payload, SocketAddress to) throws IOException {
        channel.send(payload, to);
    }

    private void serve(int cpu) {
        ByteBuffer buffer = ByteBuffer.allocate(MAX_DATAGRAM);
        while (!closed) {
            InetSocketAddress from;
            try {
                buffer.clear();
                from = (InetSocketAddress) channel.receive(buffer);
            } catch (ClosedChannelException e) {
                return;
            } catch (IOException e) {
                continue; // e.g. ICMP port unreachable reported on the socket: keep serving
            }
            buffer.flip();
            received.increment();
            try {
                deliver(from, buffer, cpu);
            } catch (IOException | RuntimeException e) {
                applicationErrors.increment();
            }
        }
    }

    private void deliver(InetSocketAddress from, ByteBuffer payload, int cpu) throws IOException {
        if (hook.attached().isEmpty() || !(from.getAddress() instanceof java.net.Inet4Address)) {
            if (hook.attached().isPresent()) notIpv4.increment();
            application.handle(from, payload, this);
            return;
        }
        if (payload.remaining() > io.kflex.runtime.PacketBuffer.MAX_FRAME - Frames.HEADERS) {
            oversized.increment(); // larger than an XDP frame: the application gets it untouched
            application.handle(from, payload, this);
            return;
        }
        InetSocketAddress to = new InetSocketAddress(local.getAddress().isAnyLocalAddress()
                ? java.net.InetAddress.getLoopbackAddress() : local.getAddress(), local.getPort());
        PacketHook.Result result = hook.process(Frames.udp(from, to, payload), cpu);
        switch (result.action()) {
            case PASS -> {
                var datagram = Frames.parseUdp(result.frame());
                if (datagram.isPresent()) application.handle(datagram.get().source(), ByteBuffer.wrap(datagram.get().payload()), this);
                else malformedTx.increment();
            }
            case TX -> {
                var datagram = Frames.parseUdp(result.frame());
                if (datagram.isPresent()) channel.send(ByteBuffer.wrap(datagram.get().payload()), datagram.get().destination());
                else malformedTx.increment();
            }
            case REDIRECT -> {
                Consumer<byte[]> sink = redirects.get(result.redirectIfindex());
                if (sink != null) sink.accept(result.frame());
            }
            case DROP, ABORTED -> { }
        }
    }

    /** Datagrams received so far. */
    public long received() { return received.sum(); }

    /** Frames the program passed or transmitted that were no longer valid Ethernet/IPv4/UDP (dropped). */
    public long malformed() { return malformedTx.sum(); }

    /** Exceptions the application handler threw (counted; the socket keeps serving). */
    public long applicationErrors() { return applicationErrors.sum(); }

    @Override
    public void close() throws IOException {
        closed = true;
        synchronized (this) {
            if (registration != null) sockets.unregister(registration);
        }
        channel.close();
        for (Thread t : workers) {
            try {
                t.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
