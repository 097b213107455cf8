package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class HeldResourcesTest {

    @Test
    void releasesNewestFirstAndKeepsGoingPastAFailure() {
        List<String> log = new ArrayList<>();
        Invocation inv = new Invocation(new AddressSpace());
        assertThat(inv.holdsResources()).isFalse();
        HeldResources held = inv.resources();
        held.acquired("a", "lock a", () -> log.add("a"));
        held.acquired("b", "lock b", () -> { throw new IllegalStateException("gone"); });
        held.acquired("c", "lock c", () -> log.add("c"));
        assertThat(inv.holdsResources()).isTrue();
        assertThat(held.size()).isEqualTo(3);
        assertThatThrownBy(() -> held.acquired("a", "lock a", () -> {})).isInstanceOf(IllegalStateException.class);

        assertThat(held.release("c")).isTrue();
        assertThat(held.release("c")).isFalse();
        assertThat(held.remove("zzz")).isNull();
        held.acquired("d", "lock d", () -> log.add("d"));
        assertThat(held.releaseAll()).containsExactly("lock d", "lock b (release failed: gone)", "lock a");
        assertThat(log).containsExactly("c", "d", "a");
        assertThat(held.isEmpty()).isTrue();
        assertThat(held.releaseAll()).isEmpty();
    }

    @Test
    void aResourceIsNamedOnlyWhenAReportAsksForIt() {
        HeldResources held = new Invocation(new AddressSpace()).resources();
        int[] named = {0};
        held.acquired("k", () -> {
            named[0]++;
            return "kflex_spin_lock heap+0x40";
        }, () -> {});
        assertThat(held.release("k")).isTrue();
        assertThat(named[0]).as("acquired and released: never named").isZero();
        held.acquired("k", () -> "kflex_spin_lock heap+0x40", () -> {});
        assertThat(held.releaseAll()).containsExactly("kflex_spin_lock heap+0x40");
    }

    /** A resource that is its own record, as a hot-path helper's lock is; equal to a probe of the same lock. */
    private record Lock(int word, List<String> log) implements HeldResources.Held {
        @Override public Object key() { return word; }
        @Override public String description() { return "lock " + word; }
        @Override public void giveBack() { log.add("unlock " + word); }
    }

    @Test
    void aResourceThatIsItsOwnRecordIsFoundByItsKeyAndGivenBackLikeAnyOther() {
        List<String> log = new ArrayList<>();
        HeldResources held = new Invocation(new AddressSpace()).resources();
        held.acquired(new Lock(1, log));
        held.acquired("sock", "socket s", () -> log.add("close s"));
        held.acquired(new Lock(2, log));
        assertThat(held.holds(1)).isTrue();
        assertThatThrownBy(() -> held.acquired(new Lock(1, log))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("lock 1 is already held");
        assertThat(held.release(2)).isTrue();
        assertThat(held.list()).extracting(HeldResources.Held::description).containsExactly("lock 1", "socket s");
        assertThat(held.releaseAll()).containsExactly("socket s", "lock 1");
        assertThat(log).containsExactly("unlock 2", "close s", "unlock 1");
    }
}
