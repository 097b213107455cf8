package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@link AddressSpace#resolveOwn} and {@link AddressSpace#resolveShared} are {@link
 * AddressSpace#resolve} with a guess of the window's kind: whatever the address, they give the
 * same segment or the same fault, guess right or wrong.
 */
class AddressSpaceResolveTest {

    private interface Resolver {
        MemorySegment resolve(AddressSpace memory, long address, long size, boolean write);
    }

    private static String outcome(Resolver r, AddressSpace memory, long address, long size, boolean write) {
        ExtensionFault fault = catchThrowableOfType(ExtensionFault.class, () -> r.resolve(memory, address, size, write));
        if (fault != null) return "fault: " + fault.getMessage();
        return "segment " + System.identityHashCode(r.resolve(memory, address, size, write));
    }

    @Test
    void everyAddressResolvesAsTheGeneralPathResolvesIt() {
        SharedRegions shared = new SharedRegions();
        long value = shared.map(new Region(Region.Kind.MAP_VALUE, MemorySegment.ofArray(new long[8]), true, "map v"));
        long frozen = shared.mapAt(0x5000, new Region(Region.Kind.MAP_VALUE, MemorySegment.ofArray(new long[2]), false, "map ro"));
        AddressSpace memory = new AddressSpace(shared);
        long packet = memory.map(new Region(Region.Kind.PACKET, MemorySegment.ofArray(new long[4]), true, "packet"));
        long ctx = memory.map(new Region(Region.Kind.CONTEXT, MemorySegment.ofArray(new long[2]), false, "ctx"));
        long gone = memory.map(new Region(Region.Kind.MEMORY, MemorySegment.ofArray(new long[1]), true, "gone"));
        memory.unmap(gone);

        List<Long> addresses = new ArrayList<>(List.of(0L, 8L, -1L, 1L << 32, 0x7fffL << 32, 0xfffL << 32, 0xffff_ffffL << 32));
        for (long base : new long[] {value, frozen, packet, ctx, gone}) {
            for (long off : new long[] {0, 1, 7, 8, 15, 16, 30, 31, 32, 63, 64, 0xffff_fff8L}) addresses.add(base + off);
        }
        int compared = 0;
        for (long address : addresses) {
            for (long size : new long[] {1, 2, 4, 8}) {
                for (boolean write : new boolean[] {false, true}) {
                    String expected = outcome(AddressSpace::resolve, memory, address, size, write);
                    assertThat(outcome(AddressSpace::resolveOwn, memory, address, size, write))
                            .as("own: 0x%x, %d bytes, write %s", address, size, write).isEqualTo(expected);
                    assertThat(outcome(AddressSpace::resolveShared, memory, address, size, write))
                            .as("shared: 0x%x, %d bytes, write %s", address, size, write).isEqualTo(expected);
                    compared++;
                }
            }
        }
        assertThat(compared).isGreaterThan(400);
        assertThat(outcome(AddressSpace::resolveOwn, memory, packet + 8, 8, true)).startsWith("segment");
        assertThat(outcome(AddressSpace::resolveShared, memory, frozen, 8, true)).contains("read-only");
    }
}
