package io.kflex.runtime;

import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Invocation;
import io.kflex.helpers.HelperTable;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapSpec;
import io.kflex.maps.MapTable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The helpers that work on the invocation's packet ({@link PacketBuffer}, the packet hook's host
 * context): {@code bpf_xdp_adjust_head}, {@code bpf_xdp_adjust_tail}, {@code bpf_xdp_adjust_meta},
 * {@code bpf_redirect}, {@code bpf_redirect_map} (device maps), and the packet-independent
 * {@code bpf_csum_diff}. Return values are Linux's.
 */
public final class PacketHelpers {
    public static final int XDP_ADJUST_HEAD = 44;
    public static final int XDP_ADJUST_META = 54;
    public static final int XDP_ADJUST_TAIL = 65;
    public static final int CSUM_DIFF = 28;
    public static final int REDIRECT = 23;
    public static final int REDIRECT_MAP = 51;

    private static final int EINVAL = 22;
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED;

    private PacketHelpers() {}

    /** Adds the packet helpers; {@code bpf_redirect_map} reads device maps of {@code maps}. */
    public static void register(HelperTable.Builder helpers, MapTable maps) {
        register(helpers);
        helpers.add(REDIRECT_MAP, "bpf_redirect_map", (inv, map, key, flags, r4, r5) -> redirectMap(inv, maps, map, key, flags));
    }

    public static void register(HelperTable.Builder helpers) {
        helpers.add(XDP_ADJUST_HEAD, "bpf_xdp_adjust_head", (inv, ctx, delta, r3, r4, r5) -> packet(inv).adjustHead((int) delta));
        helpers.add(XDP_ADJUST_TAIL, "bpf_xdp_adjust_tail", (inv, ctx, delta, r3, r4, r5) -> packet(inv).adjustTail((int) delta));
        helpers.add(XDP_ADJUST_META, "bpf_xdp_adjust_meta", (inv, ctx, delta, r3, r4, r5) -> packet(inv).adjustMeta((int) delta));
        helpers.add(CSUM_DIFF, "bpf_csum_diff", PacketHelpers::csumDiff);
        helpers.add(REDIRECT, "bpf_redirect", (inv, ifindex, flags, r3, r4, r5) -> packet(inv).redirect(ifindex, flags));
    }

    /**
     * {@code bpf_redirect_map(map, key, flags)} on a device map: the ifindex stored at {@code key}
     * becomes the frame's redirect target and the result is {@code XDP_REDIRECT}; when the slot is
     * empty the result is the low two bits of {@code flags} (the program's fallback action), as in
     * Linux. Other map types and unknown flags give {@code XDP_ABORTED}.
     */
    static long redirectMap(Invocation invocation, MapTable maps, long handle, long key, long flags) {
        BpfMap map = maps.byHandle(handle);
        if (map == null || (map.type() != MapSpec.DEVMAP && map.type() != MapSpec.DEVMAP_HASH) || (flags & ~3L) != 0) return 0;
        byte[] k = {(byte) key, (byte) (key >>> 8), (byte) (key >>> 16), (byte) (key >>> 24)};
        var value = map.lookup(k);
        if (value.isEmpty()) return flags & 3;
        byte[] v = value.get();
        long ifindex = (v[0] & 0xffL) | (v[1] & 0xffL) << 8 | (v[2] & 0xffL) << 16 | (v[3] & 0xffL) << 24;
        if (ifindex == 0) return flags & 3;
        return packet(invocation).redirect(ifindex, 0);
    }

    private static PacketBuffer packet(Invocation invocation) {
        PacketBuffer packet = invocation.hostContext(PacketBuffer.class);
        if (packet == null) throw new ExtensionFault("packet helper called without a packet (the hook gave none)");
        return packet;
    }

    /**
     * {@code bpf_csum_diff(from, from_size, to, to_size, seed)}: the one's-complement sum of the
     * 32-bit words of {@code to} minus those of {@code from}, plus {@code seed}, as x86-64 Linux
     * computes it (32-bit end-around-carry accumulation, unfolded). Sizes must be multiples of 4
     * and at most 512 bytes; otherwise -EINVAL.
     */
    static long csumDiff(Invocation invocation, long from, long fromSize, long to, long toSize, long seed) {
        if ((fromSize & 3) != 0 || (toSize & 3) != 0 || fromSize < 0 || toSize < 0 || fromSize > 512 || toSize > 512
                || (fromSize == 0 && toSize == 0)) {
            return -EINVAL;
        }
        long sum = seed & 0xffffffffL;
        if (fromSize > 0) {
            MemorySegment f = invocation.memory().slice(from, fromSize, false);
            for (long i = 0; i < fromSize; i += 4) sum = add32(sum, ~f.get(U32, i) & 0xffffffffL);
        }
        if (toSize > 0) {
            MemorySegment t = invocation.memory().slice(to, toSize, false);
            for (long i = 0; i < toSize; i += 4) sum = add32(sum, t.get(U32, i) & 0xffffffffL);
        }
        return sum;
    }

    /** One's-complement 32-bit addition: the carry out of bit 31 wraps around into bit 0. */
    static long add32(long a, long b) {
        long s = a + b;
        return (s & 0xffffffffL) + (s >>> 32);
    }
}
