package io.kflex.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/** Test frames as {@code extensions/tools/linux-check.py} builds them: Ethernet/IPv4/UDP, padded to 64 bytes. */
final class Frames {
    private Frames() {}

    static final class Builder {
        int protocol = 17, dport = 53, sport = 4242, ethertype = 0x0800, ihl = 5;
        byte[] payload = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] saddr = {10, 0, 0, 1}, daddr = {10, 0, 0, 2};
        int cut = -1, pad = 64;

        Builder protocol(int p) { protocol = p; return this; }
        Builder dport(int p) { dport = p; return this; }
        Builder sport(int p) { sport = p; return this; }
        Builder ethertype(int t) { ethertype = t; return this; }
        Builder ihl(int i) { ihl = i; return this; }
        Builder payload(String s) { payload = s.getBytes(java.nio.charset.StandardCharsets.US_ASCII); return this; }
        Builder payload(byte[] b) { payload = b.clone(); return this; }
        Builder loopback() { saddr = new byte[] {127, 0, 0, 1}; daddr = saddr.clone(); return this; }
        Builder cut(int n) { cut = n; return this; }
        Builder pad(int n) { pad = n; return this; }

        byte[] build() {
            int options = ihl >= 5 ? 4 * (ihl - 5) : 0;
            int ipLength = 20 + options + 8 + payload.length;
            ByteBuffer b = ByteBuffer.allocate(Math.max(14 + ipLength, pad)).order(ByteOrder.BIG_ENDIAN);
            b.put(new byte[] {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}).putShort((short) ethertype);
            int ip = b.position();
            b.put((byte) (0x40 | ihl)).put((byte) 0).putShort((short) ipLength).putShort((short) 1).putShort((short) 0)
                    .put((byte) 64).put((byte) protocol).putShort((short) 0).put(saddr).put(daddr);
            b.position(b.position() + options);
            long sum = 0;
            for (int i = ip; i < ip + 20 + options; i += 2) sum += b.getShort(i) & 0xffff;
            while ((sum >> 16) != 0) sum = (sum & 0xffff) + (sum >> 16);
            b.putShort(ip + 10, (short) ~sum);
            b.putShort((short) sport).putShort((short) dport).putShort((short) (8 + payload.length)).putShort((short) 0).put(payload);
            byte[] frame = b.array();
            return cut >= 0 ? Arrays.copyOf(frame, cut) : frame;
        }
    }

    static Builder udp() { return new Builder(); }
}
