package io.kflex.hooks;

import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.helpers.HelperTable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * {@code bpf_sk_lookup_tcp} (84), {@code bpf_sk_lookup_udp} (85) and {@code bpf_sk_release} (86)
 * over {@link HostSockets}. A lookup that finds a socket takes a reference and maps a read-only
 * {@code struct bpf_sock} (80 bytes, Linux's UAPI layout) into the invocation; the pointer to it
 * is the reference. The reference is recorded in the invocation's held resources, so a
 * cancellation releases it; {@code bpf_sk_release} gives it back and unmaps the struct.
 */
public final class SocketHelpers {
    public static final int SK_LOOKUP_TCP = 84, SK_LOOKUP_UDP = 85, SK_RELEASE = 86;
    /** {@code sizeof(struct bpf_sock)}. */
    public static final int BPF_SOCK_SIZE = 80;

    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfInt BE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfShort BE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final int AF_INET = 2, AF_INET6 = 10, SOCK_STREAM = 1, SOCK_DGRAM = 2;
    private static final int IPV4_TUPLE = 12, IPV6_TUPLE = 36;

    private SocketHelpers() {}

    /** Adds the three helpers, looking sockets up in {@code sockets}. */
    public static void register(HelperTable.Builder helpers, HostSockets sockets) {
        helpers.add(SK_LOOKUP_TCP, "bpf_sk_lookup_tcp", (inv, ctx, tuple, size, netns, flags) -> lookup(inv, sockets, HostSockets.TCP, tuple, size, flags));
        helpers.add(SK_LOOKUP_UDP, "bpf_sk_lookup_udp", (inv, ctx, tuple, size, netns, flags) -> lookup(inv, sockets, HostSockets.UDP, tuple, size, flags));
        helpers.add(SK_RELEASE, "bpf_sk_release", (inv, sk, r2, r3, r4, r5) -> release(inv, sk));
    }

    static long lookup(Invocation invocation, HostSockets sockets, int protocol, long tuple, long size, long flags) {
        if (flags != 0 || (size != IPV4_TUPLE && size != IPV6_TUPLE)) return 0;
        MemorySegment t = invocation.memory().slice(tuple, size, false);
        InetAddress destination;
        int port;
        try {
            if (size == IPV4_TUPLE) {
                destination = InetAddress.getByAddress(t.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE));
                port = t.get(BE16, 10) & 0xffff;
            } else {
                destination = InetAddress.getByAddress(t.asSlice(16, 16).toArray(ValueLayout.JAVA_BYTE));
                port = t.get(BE16, 34) & 0xffff;
            }
        } catch (UnknownHostException e) {
            return 0; // 4 or 16 bytes are always an address
        }
        HostSockets.HostSocket socket = sockets.lookup(protocol, destination, port);
        if (socket == null) return 0;
        MemorySegment sock = MemorySegment.ofArray(new long[BPF_SOCK_SIZE / 8]);
        describe(sock, socket);
        long address = invocation.memory().map(new Region(Region.Kind.MEMORY, sock, false, "bpf_sock " + socket));
        socket.acquire();
        invocation.resources().acquired(address, () -> "socket " + socket, () -> {
            socket.release();
            invocation.memory().unmap(address);
        });
        return address;
    }

    static long release(Invocation invocation, long sk) {
        if (!invocation.resources().release(sk)) {
            throw new ExtensionFault(String.format("bpf_sk_release of 0x%x, which is not a socket this invocation holds", sk));
        }
        return 0;
    }

    /** Fills a {@code struct bpf_sock} for {@code socket}. */
    private static void describe(MemorySegment sock, HostSockets.HostSocket socket) {
        byte[] ip = socket.local().getAddress().getAddress();
        boolean v4 = ip.length == 4;
        sock.set(U32, 4, v4 ? AF_INET : AF_INET6);                                   // family
        sock.set(U32, 8, socket.protocol() == HostSockets.TCP ? SOCK_STREAM : SOCK_DGRAM); // type
        sock.set(U32, 12, socket.protocol());                                       // protocol
        if (v4) sock.set(BE32, 24, java.nio.ByteBuffer.wrap(ip).getInt());          // src_ip4
        else MemorySegment.copy(ip, 0, sock, ValueLayout.JAVA_BYTE, 28, 16);        // src_ip6
        sock.set(U32, 44, socket.local().getPort());                                // src_port, host order
        sock.set(U32, 72, socket.protocol() == HostSockets.TCP ? 10 : 7);           // state: LISTEN / CLOSE
    }
}
