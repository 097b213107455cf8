package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** SharedRegions#lockFamily: one family per mapped window, made once, dropped at unmap. */
class SharedRegionsLockFamilyTest {

    private record Family(long window, Region region) implements HeldResources.LockFamily {
        @Override public void unlock(long word) { }
        @Override public String describe(long word) { return String.format("lock 0x%x+0x%x", window, word); }
    }

    private static Region region(String name) {
        return new Region(Region.Kind.MAP_VALUE, Arena.ofAuto().allocate(64, 8), true, name);
    }

    @Test
    void aWindowsFamilyIsMadeOnceForItsRegionAndDroppedWhenTheWindowIsUnmapped() {
        SharedRegions shared = new SharedRegions();
        Region a = region("a");
        long base = shared.map(a), window = base >>> 32;
        List<Long> made = new ArrayList<>();
        SharedRegions.LockFamilyFactory factory = (w, r) -> {
            made.add(w);
            return new Family(w, r);
        };
        HeldResources.LockFamily first = shared.lockFamily(window, factory);
        assertThat(first).isEqualTo(new Family(window, a));
        assertThat(shared.lockFamily(window, factory)).isSameAs(first);
        assertThat(made).containsExactly(window);

        shared.unmap(base);
        assertThat(shared.lockFamily(window, factory)).as("nothing mapped").isNull();
        Region b = region("b");
        assertThat(shared.map(b)).isEqualTo(base);
        HeldResources.LockFamily second = shared.lockFamily(window, factory);
        assertThat(second).isNotSameAs(first).isEqualTo(new Family(window, b));
        assertThat(made).containsExactly(window, window);
    }

    @Test
    void ownWindowsAndWindowsFixedByAnAbiAreHandledToo() {
        SharedRegions shared = new SharedRegions();
        SharedRegions.LockFamilyFactory factory = Family::new;
        assertThat(shared.lockFamily(1, factory)).as("an invocation's own window").isNull();
        assertThat(shared.lockFamily(SharedRegions.FIRST_WINDOW, factory)).as("nothing mapped yet").isNull();
        long fixedWindow = 0x10_0000;
        Region fixed = region("arena");
        long base = shared.mapAt(fixedWindow, fixed);
        HeldResources.LockFamily f = shared.lockFamily(fixedWindow, factory);
        assertThat(f).isEqualTo(new Family(fixedWindow, fixed));
        assertThat(shared.lockFamily(fixedWindow, factory)).isSameAs(f);
        shared.unmap(base);
        assertThat(shared.lockFamily(fixedWindow, factory)).isNull();
    }
}
