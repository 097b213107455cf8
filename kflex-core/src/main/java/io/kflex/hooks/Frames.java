package io.kflex.hooks;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * Ethernet/IPv4/UDP frames for the packet hook: a datagram the host received is presented to the
 * extension as the frame a NIC would have delivered (so the same object runs in Linux and here),
 * and a frame the extension transmits is read back into a destination address and a payload.
 */
public final class Frames {
    public static final int ETH_HLEN = 14;
    public static final int IPV4_HLEN = 20;
    public static final int UDP_HLEN = 8;
    public static final int HEADERS = ETH_HLEN + IPV4_HLEN + UDP_HLEN;
    static final int ETH_P_IP = 0x0800;
    static final int IPPROTO_UDP = 17;

    /** Locally administered MAC addresses: the host's "NIC" and its peer. */
    static final byte[] HOST_MAC = {0x02, 0, 0, 0, 0, 0x01};
    static final byte[] PEER_MAC = {0x02, 0, 0, 0, 0, 0x02};

    private Frames() {}

    /** A UDP datagram as it would have arrived: peer → host. Both addresses must be IPv4. */
    public static byte[] udp(InetSocketAddress from, InetSocketAddress to, ByteBuffer payload) {
        int length = payload.remaining();
        ByteBuffer frame = ByteBuffer.allocate(HEADERS + length).order(ByteOrder.BIG_ENDIAN);
        frame.put(HOST_MAC).put(PEER_MAC).putShort((short) ETH_P_IP);
        int ipStart = frame.position();
        frame.put((byte) 0x45).put((byte) 0).putShort((short) (IPV4_HLEN + UDP_HLEN + length))
                .putShort((short) 0).putShort((short) 0x4000) // id 0, don't fragment
                .put((byte) 64).put((byte) IPPROTO_UDP).putShort((short) 0)
                .put(ipv4(from)).put(ipv4(to));
        frame.putShort(ipStart + 10, ipv4Checksum(frame.array(), ipStart));
        frame.putShort((short) from.getPort()).putShort((short) to.getPort())
                .putShort((short) (UDP_HLEN + length)).putShort((short) 0); // checksum 0: none, legal in IPv4
        frame.put(payload.duplicate());
        return frame.array();
    }

    /** Where a transmitted frame goes and what it carries. */
    public record Datagram(InetSocketAddress destination, InetSocketAddress source, byte[] payload) {}

    /**
     * Reads an Ethernet/IPv4/UDP frame back; empty when it is not one or is inconsistent (truncated
     * headers, a UDP length past the frame, IP options running past the frame, a fragment).
     */
    public static Optional<Datagram> parseUdp(byte[] frame) {
        if (frame.length < HEADERS) return Optional.empty();
        ByteBuffer b = ByteBuffer.wrap(frame).order(ByteOrder.BIG_ENDIAN);
        if ((b.getShort(12) & 0xffff) != ETH_P_IP) return Optional.empty();
        int versionIhl = b.get(ETH_HLEN) & 0xff;
        int ihl = (versionIhl & 0x0f) * 4;
        if (versionIhl >> 4 != 4 || ihl < IPV4_HLEN) return Optional.empty();
        if ((b.get(ETH_HLEN + 9) & 0xff) != IPPROTO_UDP) return Optional.empty();
        if ((b.getShort(ETH_HLEN + 6) & 0x3fff) != 0) return Optional.empty(); // more fragments or an offset
        int udp = ETH_HLEN + ihl;
        if (udp + UDP_HLEN > frame.length) return Optional.empty();
        int udpLength = b.getShort(udp + 4) & 0xffff;
        if (udpLength < UDP_HLEN || udp + udpLength > frame.length) return Optional.empty();
        try {
            InetAddress src = InetAddress.getByAddress(java.util.Arrays.copyOfRange(frame, ETH_HLEN + 12, ETH_HLEN + 16));
            InetAddress dst = InetAddress.getByAddress(java.util.Arrays.copyOfRange(frame, ETH_HLEN + 16, ETH_HLEN + 20));
            byte[] payload = java.util.Arrays.copyOfRange(frame, udp + UDP_HLEN, udp + udpLength);
            return Optional.of(new Datagram(new InetSocketAddress(dst, b.getShort(udp + 2) & 0xffff),
                    new InetSocketAddress(src, b.getShort(udp) & 0xffff), payload));
        } catch (UnknownHostException e) {
            return Optional.empty(); // four bytes are always an address
        }
    }

    static byte[] ipv4(InetSocketAddress address) {
        if (!(address.getAddress() instanceof Inet4Address v4)) {
            throw new IllegalArgumentException(address + " is not an IPv4 address");
        }
        return v4.getAddress();
    }

    /** The IPv4 header checksum (RFC 1071) of the header at {@code start}, its checksum field taken as 0. */
    static short ipv4Checksum(byte[] frame, int start) {
        int ihl = (frame[start] & 0x0f) * 4;
        long sum = 0;
        for (int i = 0; i < ihl; i += 2) {
            if (i == 10) continue;
            sum += ((frame[start + i] & 0xff) << 8) | (frame[start + i + 1] & 0xff);
        }
        while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
        return (short) ~sum;
    }
}
