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

    /** A lock family that logs what it frees, named "lock NAME+0x..". */
    private record Family(String name, List<String> log) implements HeldResources.LockFamily {
        @Override public void unlock(long word) { log.add(String.format("unlock %s+0x%x", name, word)); }
        @Override public String describe(long word) { return String.format("lock %s+0x%x", name, word); }
    }

    @Test
    void locksOfAFamilyAndOtherResourcesAreGivenBackNewestFirstInTheOrderTheyWereTaken() {
        List<String> log = new ArrayList<>();
        Family heap = new Family("heap", log), other = new Family("other", log);
        HeldResources held = new Invocation(new AddressSpace()).resources();
        assertThat(held.acquiredLock(heap, 0x40)).isTrue();
        held.acquired("sock", "socket s", () -> log.add("close s"));
        assertThat(held.acquiredLock(other, 0x40)).as("the same word of another family is another lock").isTrue();
        held.acquired(new Lock(7, log));
        assertThat(held.acquiredLock(heap, 0x80)).isTrue();
        assertThat(held.size()).isEqualTo(5);
        assertThat(held.list()).extracting(HeldResources.Held::description)
                .containsExactly("lock heap+0x40", "socket s", "lock other+0x40", "lock 7", "lock heap+0x80");

        assertThat(held.releaseAll()).containsExactly("lock heap+0x80", "lock 7", "lock other+0x40", "socket s", "lock heap+0x40");
        assertThat(log).containsExactly("unlock heap+0x80", "unlock 7", "unlock other+0x40", "close s", "unlock heap+0x40");
        assertThat(held.isEmpty()).isTrue();
    }

    @Test
    void aLockOfAFamilyIsRecordedOnceAndForgottenOrReleasedByItsWord() {
        List<String> log = new ArrayList<>();
        Family heap = new Family("heap", log);
        HeldResources held = new Invocation(new AddressSpace()).resources();
        assertThat(held.holdsLock(heap, 0x40)).isFalse();
        assertThat(held.forgetLock(heap, 0x40)).isFalse();
        assertThat(held.acquiredLock(heap, 0x40)).isTrue();
        assertThat(held.acquiredLock(heap, 0x40)).as("already held: nothing recorded").isFalse();
        assertThat(held.size()).isEqualTo(1);
        assertThat(held.holdsLock(heap, 0x40)).isTrue();
        assertThat(held.holdsLock(heap, 0x44)).isFalse();
        assertThat(held.holdsLock(new Family("heap", log), 0x40)).as("families are told apart by identity").isFalse();

        assertThat(held.forgetLock(heap, 0x40)).isTrue();
        assertThat(log).as("forgetting frees nothing").isEmpty();
        assertThat(held.acquiredLock(heap, 0x40)).isTrue();
        assertThat(held.releaseLock(heap, 0x40)).isTrue();
        assertThat(held.releaseLock(heap, 0x40)).isFalse();
        assertThat(log).containsExactly("unlock heap+0x40");
        assertThatThrownBy(() -> held.acquiredLock(heap, 1L << 32)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("32-bit");
        assertThat(held.holdsLock(heap, 1L << 32)).isFalse();
        assertThat(held.isEmpty()).isTrue();
    }

    @Test
    void aLockOfAFamilyIsAlsoAHeldResourceWithAKey() {
        List<String> log = new ArrayList<>();
        Family heap = new Family("heap", log);
        HeldResources held = new Invocation(new AddressSpace()).resources();
        held.acquired(new HeldResources.FamilyLock(heap, 0x10)); // as any Held: recorded as a lock of the family
        assertThat(held.holdsLock(heap, 0x10)).isTrue();
        assertThatThrownBy(() -> held.acquired(new HeldResources.FamilyLock(heap, 0x10))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("lock heap+0x10 is already held");
        held.acquiredLock(heap, 0x20);
        assertThat(held.holds(new HeldResources.FamilyLock(heap, 0x20))).isTrue();
        assertThat(held.remove(new HeldResources.FamilyLock(heap, 0x20))).isEqualTo(new HeldResources.FamilyLock(heap, 0x20));
        assertThat(held.release(new HeldResources.FamilyLock(heap, 0x10))).isTrue();
        assertThat(log).containsExactly("unlock heap+0x10");
        assertThat(held.isEmpty()).isTrue();
    }

    @Test
    void anyNumberOfResourcesAndFamiliesFitAndAnEntryInTheMiddleCanGo() {
        List<String> log = new ArrayList<>();
        List<Family> families = List.of(new Family("a", log), new Family("b", log), new Family("c", log));
        HeldResources held = new Invocation(new AddressSpace()).resources();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            if (i % 4 == 3) {
                held.acquired("r" + i, "resource " + i, () -> {});
                expected.add("resource " + i);
            } else {
                Family f = families.get(i % 3);
                held.acquiredLock(f, 4L * i);
                expected.add(f.describe(4L * i));
            }
        }
        assertThat(held.forgetLock(families.get(1), 4 * 10)).isTrue();
        expected.remove(families.get(1).describe(4 * 10));
        assertThat(held.release("r7")).isTrue();
        expected.remove("resource 7");
        assertThat(held.list()).extracting(HeldResources.Held::description).containsExactlyElementsOf(expected);
        assertThat(held.releaseAll()).containsExactlyElementsOf(expected.reversed());
    }
}
