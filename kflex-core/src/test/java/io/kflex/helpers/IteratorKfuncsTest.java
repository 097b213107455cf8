package io.kflex.helpers;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.loader.KfuncResolver;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bpf_iter_num_*} with Linux's semantics, and the kfunc registry. */
class IteratorKfuncsTest {
    private final AddressSpace memory = new AddressSpace();
    private final long it = memory.map(new Region(Region.Kind.STACK, Arena.ofAuto().allocate(8, 8), true, "stack"));
    private final Invocation inv = new Invocation(memory);

    private long create(int start, int end) { return IteratorKfuncs.iterNew(inv, it, start, end, 0, 0); }

    /** Every value {@code next} yields until NULL (at most {@code limit}). */
    private List<Integer> drain(int limit) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < limit; i++) {
            long p = IteratorKfuncs.iterNext(inv, it, 0, 0, 0, 0);
            if (p == 0) return out;
            assertThat(p).isEqualTo(it);
            out.add((int) memory.load(p, 4));
        }
        return out;
    }

    @Test
    void yieldsTheHalfOpenRangeThenNullForever() {
        assertThat(create(0, 3)).isZero();
        assertThat(drain(10)).containsExactly(0, 1, 2);
        assertThat(IteratorKfuncs.iterNext(inv, it, 0, 0, 0, 0)).isZero();
        assertThat(create(-2, 1)).isZero();
        assertThat(drain(10)).containsExactly(-2, -1, 0);
    }

    @Test
    void emptyInvalidAndTooLongRanges() {
        assertThat(create(4, 4)).isZero();
        assertThat(drain(10)).isEmpty();
        assertThat(create(5, 3)).isEqualTo(-22);
        assertThat(drain(10)).isEmpty();
        assertThat(create(Integer.MIN_VALUE, Integer.MAX_VALUE)).isEqualTo(-7);
        assertThat(drain(10)).isEmpty();
        assertThat(create(0, (int) IteratorKfuncs.MAX_STEPS)).isZero();
        assertThat(create(0, (int) IteratorKfuncs.MAX_STEPS + 1)).isEqualTo(-7);
    }

    @Test
    void extremesDoNotOverflow() {
        assertThat(create(Integer.MAX_VALUE - 2, Integer.MAX_VALUE)).isZero();
        assertThat(drain(10)).containsExactly(Integer.MAX_VALUE - 2, Integer.MAX_VALUE - 1);
        assertThat(create(Integer.MIN_VALUE, Integer.MIN_VALUE + 2)).isZero();
        assertThat(drain(10)).containsExactly(Integer.MIN_VALUE, Integer.MIN_VALUE + 1);
    }

    @Test
    void destroyClearsTheState() {
        create(0, 100);
        drain(3);
        IteratorKfuncs.iterDestroy(inv, it, 0, 0, 0, 0);
        assertThat(memory.load(it, 8)).isZero();
        assertThat(drain(10)).isEmpty();
    }

    @Test
    void registryResolvesNamesToStableDistinctIds() {
        KfuncResolver r = Kfuncs.resolver();
        assertThat(r.resolve("bpf_iter_num_next")).hasValue(Kfuncs.BPF_ITER_NUM_NEXT);
        assertThat(r.resolve("kflex_malloc")).hasValue(Kfuncs.KFLEX_MALLOC);
        assertThat(r.resolve("bpf_kflex_probe")).isEmpty();
        assertThat(Kfuncs.ids()).hasSize(9);
        assertThat(Kfuncs.ids().values()).doesNotHaveDuplicates().allSatisfy(id -> assertThat(id).isGreaterThanOrEqualTo(Kfuncs.FIRST_ID));
        assertThat(Kfuncs.find(Kfuncs.KFLEX_SPIN_LOCK).orElseThrow().has(Kfuncs.Effect.HEAP_LOCK)).isTrue();
        HelperTable table = IteratorKfuncs.register(HelperTable.builder()).build();
        assertThat(table.kfunc(Kfuncs.BPF_ITER_NUM_NEW).name()).isEqualTo("bpf_iter_num_new");
    }
}
