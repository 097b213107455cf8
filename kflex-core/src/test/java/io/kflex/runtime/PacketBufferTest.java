package io.kflex.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.loader.ProgramType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class PacketBufferTest {
    private final ContextLayout layout = ContextLayout.of(ProgramType.XDP);
    private final AddressSpace memory = new AddressSpace();
    private final MemorySegment ctx = MemorySegment.ofArray(new long[layout.size() / 8]);

    private long shadow(String field) {
        return ctx.get(ValueLayout.JAVA_LONG_UNALIGNED, layout.shadow(field).offset());
    }

    @Test
    void attachPublishesDataDataEndAndMetaIntoTheContext() {
        PacketBuffer packet = new PacketBuffer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15});
        packet.attach(memory, ctx, layout);
        assertThat(shadow("data_end") - shadow("data")).isEqualTo(15);
        assertThat(shadow("data_meta")).isEqualTo(shadow("data"));
        assertThat(memory.load(shadow("data"), 1)).isEqualTo(1);
        assertThat(memory.regionOf(shadow("data")).kind()).isEqualTo(Region.Kind.PACKET);
    }

    @Test
    void adjustHeadGrowsIntoTheHeadroomAndShrinksTheFront() {
        PacketBuffer packet = new PacketBuffer(new byte[20]);
        packet.attach(memory, ctx, layout);
        long data = shadow("data");
        assertThat(packet.adjustHead(-8)).isZero();
        assertThat(shadow("data")).isEqualTo(data - 8);
        assertThat(packet.length()).isEqualTo(28);
        assertThat(packet.adjustHead(14)).isZero();
        assertThat(packet.length()).isEqualTo(14);
        assertThat(packet.adjustHead(1)).as("less than an Ethernet header would remain").isEqualTo(-22);
        assertThat(packet.adjustHead(-PacketBuffer.HEADROOM)).as("into the reserved head").isEqualTo(-22);
        assertThat(packet.adjustHead(-(PacketBuffer.HEADROOM - PacketBuffer.FRAME_RESERVED) + 14)).isZero();
    }

    @Test
    void aReloadedBufferShowsTheNewFrameAndNothingOfWhatEarlierFramesLeft() {
        PacketBuffer packet = new PacketBuffer(new byte[40]);
        packet.attach(memory, ctx, layout);
        long base = shadow("data") - PacketBuffer.HEADROOM;
        // A program grew the frame at both ends, reserved metadata and wrote everywhere it could.
        assertThat(packet.adjustHead(-32)).isZero();
        assertThat(packet.adjustMeta(-16)).isZero();
        assertThat(packet.adjustTail(100)).isZero();
        for (long at = shadow("data_meta"); at < shadow("data_end"); at++) memory.store(at, 1, 0xee);
        packet.redirect(7, 0);

        byte[] next = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
        packet.reload(next);
        assertThat(packet.frame()).containsExactly(next);
        assertThat(packet.metadataAndFrame()).as("no metadata").containsExactly(next);
        assertThat(shadow("data")).isEqualTo(base + PacketBuffer.HEADROOM);
        assertThat(shadow("data_end") - shadow("data")).isEqualTo(next.length);
        assertThat(shadow("data_meta")).isEqualTo(shadow("data"));
        assertThat(packet.redirectIfindex()).isEqualTo(-1);
        // The earlier frame's bytes around the new one are gone: growing the new frame shows zeroes.
        assertThat(packet.adjustHead(-48)).isZero();
        assertThat(packet.adjustTail(124)).isZero();
        byte[] grown = packet.frame();
        for (int i = 0; i < grown.length; i++) {
            if (i < 48 || i >= 48 + next.length) assertThat(grown[i]).as("byte %d", i).isZero();
        }
    }

    @Test
    void aReloadThatFailsChangesNothingAndMessagesCannotBeReloaded() {
        PacketBuffer packet = new PacketBuffer(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
        packet.attach(memory, ctx, layout);
        assertThatThrownBy(() -> packet.reload(new byte[PacketBuffer.MAX_FRAME + 1])).isInstanceOf(IllegalArgumentException.class);
        assertThat(packet.frame()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14);
        assertThat(shadow("data_end") - shadow("data")).isEqualTo(14);
        assertThatThrownBy(() -> PacketBuffer.forMessage(new byte[3]).reload(new byte[3])).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void adjustTailGrowsWithZeroesAndShrinks() {
        PacketBuffer packet = new PacketBuffer(new byte[] {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
        packet.attach(memory, ctx, layout);
        assertThat(packet.adjustTail(-2)).isZero();
        assertThat(packet.adjustTail(4)).isZero();
        assertThat(packet.frame()).containsExactly(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0);
        assertThat(packet.adjustTail(PacketBuffer.CAPACITY)).isEqualTo(-22);
        assertThat(shadow("data_end") - shadow("data")).isEqualTo(18);
    }

    @Test
    void aTailGrownAgainShowsZeroesFrameAfterFrame() {
        // What a reply does: grow the frame to the largest reply, write it, cut it back; the next
        // growth, in this frame or the next, must show zeroes wherever an earlier one wrote.
        PacketBuffer packet = new PacketBuffer(new byte[20]);
        packet.attach(memory, ctx, layout);
        for (int frame = 0; frame < 3; frame++) {
            assertThat(packet.adjustTail(1000)).isZero();
            for (long at = shadow("data"); at < shadow("data_end"); at++) memory.store(at, 1, 0xee);
            assertThat(packet.adjustTail(-900)).isZero();
            assertThat(packet.adjustTail(500)).isZero();
            byte[] grown = packet.frame();
            assertThat(grown).hasSize(620);
            for (int i = 120; i < grown.length; i++) assertThat(grown[i]).as("frame %d byte %d", frame, i).isZero();
            for (int i = 0; i < 120; i++) assertThat(grown[i]).isEqualTo((byte) 0xee);
            packet.reload(new byte[20 + frame]);
            assertThat(packet.adjustTail(1100)).isZero();
            byte[] fresh = packet.frame();
            for (int i = 0; i < fresh.length; i++) assertThat(fresh[i]).as("after reload %d, byte %d", frame, i).isZero();
            packet.reload(new byte[20]);
        }
    }

    @Test
    void metadataIsWordAlignedAndLimitedByTheHeadroom() {
        PacketBuffer packet = new PacketBuffer(new byte[20]);
        packet.attach(memory, ctx, layout);
        assertThat(packet.adjustMeta(-8)).isZero();
        assertThat(shadow("data") - shadow("data_meta")).isEqualTo(8);
        assertThat(packet.adjustMeta(-3)).as("not a multiple of 4").isEqualTo(-13);
        assertThat(packet.adjustMeta(-32)).as("40 bytes: more than older kernels' 32, as Linux 6.18 allows").isZero();
        int free = PacketBuffer.HEADROOM - PacketBuffer.FRAME_RESERVED - 40;
        assertThat(packet.adjustMeta(-free - 4)).as("into the buffer's reserved head").isEqualTo(-22);
        assertThat(packet.adjustMeta(-free)).isZero();
        assertThat(shadow("data") - shadow("data_meta")).isEqualTo(PacketBuffer.HEADROOM - PacketBuffer.FRAME_RESERVED);
        assertThat(packet.adjustMeta(PacketBuffer.HEADROOM - PacketBuffer.FRAME_RESERVED - 8)).isZero();
        assertThat(packet.adjustMeta(20)).as("past data").isEqualTo(-22);
        memory.store(shadow("data_meta"), 8, 0x1122334455667788L);
        assertThat(packet.adjustHead(-4)).as("metadata moves with the front").isZero();
        assertThat(shadow("data") - shadow("data_meta")).isEqualTo(8);
        assertThat(memory.load(shadow("data_meta"), 8)).isEqualTo(0x1122334455667788L);
    }

    @Test
    void framesLargerThanAPageAreRefused() {
        assertThatThrownBy(() -> new PacketBuffer(new byte[PacketBuffer.MAX_FRAME + 1])).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void csumDiffMatchesLinuxOnesComplementSums() {
        AddressSpace m = new AddressSpace();
        MemorySegment buf = MemorySegment.ofArray(new long[4]);
        long base = m.map(new Region(Region.Kind.MEMORY, buf, true, "buf"));
        buf.set(ValueLayout.JAVA_INT_UNALIGNED, 0, 0x11223344);
        buf.set(ValueLayout.JAVA_INT_UNALIGNED, 4, 0xffffffff);
        Invocation inv = new Invocation(m);
        // to-only: plain one's-complement sum with end-around carry.
        assertThat(PacketHelpers.csumDiff(inv, 0, 0, base, 8, 0)).isEqualTo(0x11223344L);
        // from == to cancels out to the seed's one's-complement equivalent.
        long same = PacketHelpers.csumDiff(inv, base, 4, base, 4, 0);
        assertThat(same).isEqualTo(0xffffffffL);
        assertThat(PacketHelpers.csumDiff(inv, base, 3, base, 4, 0)).isEqualTo(-22);
        assertThat(PacketHelpers.csumDiff(inv, base, 516, base, 4, 0)).isEqualTo(-22);
    }
}
