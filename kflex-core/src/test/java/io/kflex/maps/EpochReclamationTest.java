package io.kflex.maps;

import static io.kflex.maps.MapHarness.u32;
import static io.kflex.maps.MapHarness.u64;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EpochReclamationTest {
    private final MapHarness h = new MapHarness();

    private static MemorySegment key(int k) { return MemorySegment.ofArray(u32(k)); }

    @Test
    void aDeletedValueStaysIntactUntilTheLookingUpInvocationExits() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 4, 0));
        m.update(u32(1), u64(111), BpfMap.BPF_ANY);
        AddressSpace memory = new AddressSpace(h.regions);
        long pointer;
        try (var epoch = h.table.epochs().enter()) {
            pointer = m.lookupElem(key(1), 0);
            // Another thread deletes the element and churns the map hard enough to reuse any free slot.
            CompletableFuture.runAsync(() -> {
                try {
                    m.delete(u32(1));
                    for (int round = 0; round < 50; round++) {
                        for (int k = 10; k < 14; k++) m.update(u32(k), u64(-1), BpfMap.BPF_ANY);
                        for (int k = 10; k < 14; k++) m.delete(u32(k));
                    }
                } catch (MapException e) {
                    throw new AssertionError(e);
                }
            }).get(10, TimeUnit.SECONDS);
            assertThat(m.lookup(u32(1))).isEmpty();
            assertThat(memory.load(pointer, 8)).as("the deleted value, still readable").isEqualTo(111);
            assertThat(m.slotsAwaitingReclamation()).isGreaterThan(0);
        }
        // Once the invocation has left, the slot is reused.
        boolean reused = false;
        for (int round = 0; round < 200 && !reused; round++) {
            for (int k = 10; k < 14; k++) m.update(u32(k), u64(-1), BpfMap.BPF_ANY);
            reused = memory.load(pointer, 8) == -1;
            for (int k = 10; k < 14; k++) m.delete(u32(k));
        }
        assertThat(reused).as("slot reused after the epoch").isTrue();
    }

    @Test
    void aReplacedValueKeepsItsOldContentsForTheReader() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 2, 0));
        m.update(u32(1), u64(1), BpfMap.BPF_ANY);
        AddressSpace memory = new AddressSpace(h.regions);
        try (var epoch = h.table.epochs().enter()) {
            long pointer = m.lookupElem(key(1), 0);
            CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 2; i < 500; i++) m.update(u32(1), u64(i), BpfMap.BPF_ANY);
                } catch (MapException e) {
                    throw new AssertionError(e);
                }
            }).get(10, TimeUnit.SECONDS);
            assertThat(memory.load(pointer, 8)).isEqualTo(1);
            assertThat(u64(m.lookup(u32(1)).orElseThrow())).isEqualTo(499);
        }
    }

    @Test
    void slotsRetiredWhileNobodyRunsAreReusedAndTheMapNeverRunsOutOfSlots() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 100, 0));
        for (int round = 0; round < 1000; round++) {
            for (int k = 0; k < 100; k++) m.update(u32(k), u64(round), BpfMap.BPF_ANY);
            for (int k = 0; k < 100; k += 2) m.delete(u32(k));
        }
        assertThat(m.size()).isEqualTo(50);
        assertThat(m.slotsAwaitingReclamation()).isLessThan(200);
    }

    @Test
    void epochsAreReentrantAndPerThread() throws Exception {
        Epochs epochs = h.table.epochs();
        assertThat(epochs.inside()).isFalse();
        try (var outer = epochs.enter()) {
            try (var inner = epochs.enter()) {
                assertThat(epochs.inside()).isTrue();
            }
            assertThat(epochs.inside()).isTrue();
            long tag = epochs.retire();
            assertThat(epochs.reclaimable(tag)).as("this thread may still hold it").isFalse();
            assertThat(CompletableFuture.supplyAsync(epochs::inside).get()).isFalse();
        }
        assertThat(epochs.inside()).isFalse();
        assertThat(epochs.reclaimable(epochs.retire())).isTrue();
    }

    @Test
    void aLongInvocationBlocksReuseSoChurnEventuallyRunsOutOfSlotsThenRecovers() throws Exception {
        BpfHash m = (BpfHash) h.table.create(MapSpec.of("h", MapSpec.HASH, 4, 8, 2, 0));
        MemorySegment value = MemorySegment.ofArray(u64(5));
        long result = 0;
        int updates = 0;
        try (var epoch = h.table.epochs().enter()) {
            while (updates < 10_000 && (result = m.updateElem(key(1), value, BpfMap.BPF_ANY, 0)) == 0) updates++;
        }
        assertThat(result).isEqualTo(-Errno.ENOMEM);
        assertThat(updates).isGreaterThanOrEqualTo(ValueSlab.RESERVE_MIN);
        assertThat(m.updateElem(key(1), value, BpfMap.BPF_ANY, 0)).as("after the epoch").isZero();
    }
}
