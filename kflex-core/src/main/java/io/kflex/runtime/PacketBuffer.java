package io.kflex.runtime;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The frame a packet hook hands to one invocation, laid out as Linux lays out an XDP buffer:
 * {@value #HEADROOM} bytes of headroom (room for {@code bpf_xdp_adjust_head} to grow the frame at
 * the front, and for metadata), the frame, then tailroom up to {@value #CAPACITY} bytes. The frame
 * is {@code [data, dataEnd)} inside the region; metadata, when a program reserves some, is
 * {@code [meta, data)}. The context's shadow pointer slots are kept in step with every change, so
 * the program always reads current {@code data}/{@code data_end}/{@code data_meta} values.
 */
public final class PacketBuffer {
    /** Linux's XDP_PACKET_HEADROOM. */
    public static final int HEADROOM = 256;
    /** One page, as an XDP frame in Linux's generic and test-run paths. */
    public static final int CAPACITY = 4096;
    /** Bytes at the start the frame may never grow into (Linux keeps its {@code struct xdp_frame} there). */
    public static final int FRAME_RESERVED = 40;
    /** Bytes at the end the frame may never grow into (Linux keeps skb_shared_info there). */
    public static final int TAILROOM_RESERVED = 320;
    /** Largest frame {@code bpf_xdp_adjust_tail} and the hooks accept. */
    public static final int MAX_FRAME = CAPACITY - HEADROOM - TAILROOM_RESERVED;

    private static final int ETH_HLEN = 14;
    private static final int EINVAL = 22, EACCES = 13;

    /** Largest message a stream hook presents in one invocation. */
    public static final int MAX_MESSAGE = 1 << 20;

    private final MemorySegment segment;
    private final Region region;
    /** Bytes the front may never grow into, and the end may never grow past. */
    private final int frontLimit, endLimit;
    private long base;
    private MemorySegment context;
    private ContextLayout layout;
    private int meta, data, dataEnd;
    private int redirectIfindex = -1;
    /** Whether {@link #reload} may put another frame in (a frame buffer, not a stream message). */
    private final boolean reloadable;
    /** The lowest start and the highest end the frame (with its metadata) has had since it was loaded. */
    private int lowWater, highWater;

    /** A buffer holding {@code frame}; fails when the frame is larger than {@link #MAX_FRAME}. */
    public PacketBuffer(byte[] frame) {
        if (frame.length > MAX_FRAME) {
            throw new IllegalArgumentException("frame of " + frame.length + " bytes is larger than the " + MAX_FRAME + "-byte limit");
        }
        segment = MemorySegment.ofArray(new byte[CAPACITY]);
        region = new Region(Region.Kind.PACKET, segment, true, "packet");
        frontLimit = FRAME_RESERVED;
        endLimit = CAPACITY - TAILROOM_RESERVED;
        MemorySegment.copy(frame, 0, segment, ValueLayout.JAVA_BYTE, HEADROOM, frame.length);
        meta = data = HEADROOM;
        dataEnd = HEADROOM + frame.length;
        reloadable = true;
        lowWater = meta;
        highWater = dataEnd;
    }

    private PacketBuffer(byte[] message, boolean stream) {
        if (message.length > MAX_MESSAGE) {
            throw new IllegalArgumentException("message of " + message.length + " bytes is larger than the " + MAX_MESSAGE + "-byte limit");
        }
        segment = MemorySegment.ofArray(new byte[message.length]);
        region = new Region(Region.Kind.PACKET, segment, true, "message");
        frontLimit = 0;
        endLimit = message.length;
        MemorySegment.copy(message, 0, segment, ValueLayout.JAVA_BYTE, 0, message.length);
        meta = data = 0;
        dataEnd = message.length;
        reloadable = false;
        lowWater = meta;
        highWater = dataEnd;
    }

    /**
     * Puts another frame in this buffer, as {@link #PacketBuffer(byte[])} would have it: a hook
     * thread keeps one buffer (mapped in its address space) for frame after frame instead of
     * allocating a page per frame. Whatever the earlier frames left, as far as a program could
     * have moved or grown them, is zeroed, so a program sees nothing of an earlier frame; the
     * context's pointers are updated. Fails, changing nothing, for a frame larger than
     * {@link #MAX_FRAME} or a stream message buffer.
     */
    public void reload(byte[] frame) {
        if (!reloadable) throw new IllegalStateException("a stream message buffer holds one message");
        if (frame.length > MAX_FRAME) {
            throw new IllegalArgumentException("frame of " + frame.length + " bytes is larger than the " + MAX_FRAME + "-byte limit");
        }
        int end = HEADROOM + frame.length;
        if (lowWater < HEADROOM) segment.asSlice(lowWater, HEADROOM - lowWater).fill((byte) 0);
        if (highWater > end) segment.asSlice(end, highWater - end).fill((byte) 0);
        MemorySegment.copy(frame, 0, segment, ValueLayout.JAVA_BYTE, HEADROOM, frame.length);
        meta = data = lowWater = HEADROOM;
        dataEnd = highWater = end;
        redirectIfindex = -1;
        publish();
    }

    /**
     * A buffer for one stream message (a framed request of a stream hook): no headroom, up to
     * {@value #MAX_MESSAGE} bytes; the program may rewrite and shrink it but not grow it.
     */
    public static PacketBuffer forMessage(byte[] message) {
        return new PacketBuffer(message, true);
    }

    /**
     * Maps the buffer into {@code memory} and points the context's shadow slots at it. Called once
     * per invocation, before the program runs.
     */
    public void attach(AddressSpace memory, MemorySegment context, ContextLayout layout) {
        this.base = memory.map(region);
        this.context = context;
        this.layout = layout;
        publish();
    }

    /** The frame's current bytes. */
    public byte[] frame() {
        return segment.asSlice(data, dataEnd - data).toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * The metadata and the frame, {@code [meta, dataEnd)}: what {@code BPF_PROG_TEST_RUN} hands
     * back as an XDP program's {@code data_out} (without metadata, the same as {@link #frame}).
     */
    public byte[] metadataAndFrame() {
        return segment.asSlice(meta, dataEnd - meta).toArray(ValueLayout.JAVA_BYTE);
    }

    public int length() { return dataEnd - data; }

    /**
     * {@code bpf_xdp_adjust_head}: moves the frame's start by {@code delta} bytes (negative grows
     * it into the headroom); metadata moves with it, as in Linux. Returns 0, or -EINVAL when the
     * start would enter the reserved head of the buffer or leave less than an Ethernet header.
     */
    public int adjustHead(int delta) {
        int metaLength = data - meta;
        long newData = (long) data + delta;
        if (newData < frontLimit + metaLength || newData > dataEnd - ETH_HLEN) return -EINVAL;
        if (metaLength > 0) MemorySegment.copy(segment, meta, segment, meta + delta, metaLength);
        meta += delta;
        data = (int) newData;
        publish();
        return 0;
    }

    /**
     * {@code bpf_xdp_adjust_tail}: grows (with zeroes) or shrinks the frame at its end; 0 or -EINVAL.
     * Only bytes this frame has exposed before need zeroing: past {@link #highWater} the buffer is
     * still zero (from its creation, or from {@link #reload}), and a reply grown to a maximum and
     * cut back to its length, frame after frame, would otherwise zero the same bytes twice per frame.
     */
    public int adjustTail(int delta) {
        long newEnd = (long) dataEnd + delta;
        if (newEnd < data + ETH_HLEN || newEnd > endLimit) return -EINVAL;
        int dirtyEnd = (int) Math.min(newEnd, highWater);
        if (delta > 0 && dirtyEnd > dataEnd) segment.asSlice(dataEnd, dirtyEnd - dataEnd).fill((byte) 0);
        dataEnd = (int) newEnd;
        publish();
        return 0;
    }

    /**
     * Longest metadata: Linux 6.18 keeps its length in the u8 {@code skb_shared_info.meta_len}
     * (older kernels allowed 32 bytes). In a buffer with {@value #HEADROOM} bytes of headroom the
     * reserved head limits it first.
     */
    public static final int MAX_METADATA = 255;

    /**
     * {@code bpf_xdp_adjust_meta}: moves the metadata start. -EINVAL when it would leave the buffer
     * or pass {@code data}; -EACCES when the metadata would be longer than {@value #MAX_METADATA}
     * bytes or not a multiple of 4 (Linux's {@code xdp_metalen_invalid}).
     */
    public int adjustMeta(int delta) {
        long newMeta = (long) meta + delta;
        if (newMeta < frontLimit || newMeta > data) return -EINVAL;
        long length = data - newMeta;
        if (length > MAX_METADATA || (length & 3) != 0) return -EACCES;
        meta = (int) newMeta;
        publish();
        return 0;
    }

    /**
     * {@code bpf_redirect(ifindex, flags)}: remembers where an {@code XDP_REDIRECT} verdict sends
     * the frame. Returns {@code XDP_REDIRECT} (4), or {@code XDP_ABORTED} (0) for flags Linux
     * rejects, as Linux does.
     */
    public int redirect(long ifindex, long flags) {
        if (flags != 0 || ifindex < 0 || ifindex > Integer.MAX_VALUE) return 0;
        redirectIfindex = (int) ifindex;
        return 4;
    }

    /** The interface the last {@code bpf_redirect} chose, or -1. */
    public int redirectIfindex() { return redirectIfindex; }

    private void publish() {
        lowWater = Math.min(lowWater, meta);
        highWater = Math.max(highWater, dataEnd);
        if (context == null) return;
        set("data", base + data);
        set("data_end", base + dataEnd);
        set("data_meta", base + meta);
    }

    private void set(String field, long value) {
        ContextLayout.Shadow s = layout.shadow(field);
        if (s != null) context.set(ValueLayout.JAVA_LONG_UNALIGNED, s.offset(), value);
    }
}
