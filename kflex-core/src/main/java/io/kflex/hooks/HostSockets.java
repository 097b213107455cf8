package io.kflex.hooks;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The host's sockets as extensions may look them up ({@code bpf_sk_lookup_tcp/udp}): each is
 * registered with its protocol and local address, and carries a reference count the lookups take
 * and {@code bpf_sk_release} drops — so a test, or the host, can see that an extension gave back
 * every reference it took, also after a cancellation.
 */
public final class HostSockets {
    /** {@code IPPROTO_TCP} / {@code IPPROTO_UDP}, as in {@code struct bpf_sock}. */
    public static final int TCP = 6, UDP = 17;

    /** One host socket. {@link #references()} counts references extensions hold right now. */
    public static final class HostSocket {
        private final int protocol;
        private final InetSocketAddress local;
        private final AtomicInteger references = new AtomicInteger();

        HostSocket(int protocol, InetSocketAddress local) {
            this.protocol = protocol;
            this.local = local;
        }

        public int protocol() { return protocol; }

        public InetSocketAddress local() { return local; }

        public int references() { return references.get(); }

        void acquire() { references.incrementAndGet(); }

        void release() {
            if (references.decrementAndGet() < 0) {
                references.incrementAndGet();
                throw new IllegalStateException("socket " + this + " released more often than acquired");
            }
        }

        @Override
        public String toString() { return (protocol == TCP ? "tcp " : "udp ") + local; }
    }

    private final List<HostSocket> sockets = new CopyOnWriteArrayList<>();

    /** Registers a socket bound at {@code local} (a wildcard address matches every destination). */
    public HostSocket register(int protocol, InetSocketAddress local) {
        if (protocol != TCP && protocol != UDP) throw new IllegalArgumentException("protocol " + protocol);
        HostSocket s = new HostSocket(protocol, Objects.requireNonNull(local));
        sockets.add(s);
        return s;
    }

    public void unregister(HostSocket socket) {
        sockets.remove(socket);
    }

    /**
     * The socket that would receive a packet of {@code protocol} to {@code destination}, as the
     * kernel's lookup finds it: an exact local address wins over a wildcard one.
     */
    public HostSocket lookup(int protocol, InetAddress destination, int port) {
        HostSocket wildcard = null;
        for (HostSocket s : sockets) {
            if (s.protocol != protocol || s.local.getPort() != port) continue;
            InetAddress bound = s.local.getAddress();
            if (bound.equals(destination)) return s;
            if (bound.isAnyLocalAddress() && (bound instanceof Inet4Address) == (destination instanceof Inet4Address)) wildcard = s;
        }
        return wildcard;
    }
}
