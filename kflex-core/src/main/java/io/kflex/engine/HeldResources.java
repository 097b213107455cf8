package io.kflex.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The resources an invocation holds right now (locks, and whatever else a helper acquires on its
 * behalf), each with the action that gives it back. Helpers record an acquisition here and remove
 * it on release; when an invocation ends in any other way (a fault, a cancellation) the engine
 * driver releases what is left, newest first, so the host is quiescent again. A lock taken on
 * every operation of a hot program (a heap's {@code kflex_spin_lock}, a map value's
 * {@code bpf_spin_lock}) is recorded as a word of a {@link LockFamily}, with no object per lock;
 * it takes its place in the same order as any other resource. Confined to the invocation's thread, like the invocation.
 */
public final class HeldResources {

    /**
     * One held resource: {@code key} identifies it (equal keys are the same resource),
     * {@link #description()} names it in reports: its kind, a space, then which one
     * ("kflex_spin_lock heap+0x40", "socket udp /127.0.0.1:53", "ringbuf_record events+0x1008").
     * The name is made only when a report asks for it: locks are taken and released on every
     * run of a hot program, and formatting a name costs more than the lock itself.
     */
    public record Resource(Object key, Supplier<String> describer, Runnable release) implements Held {
        public Resource {
            Objects.requireNonNull(key);
            Objects.requireNonNull(describer);
            Objects.requireNonNull(release);
        }

        @Override
        public String description() { return describer.get(); }

        @Override
        public void giveBack() { release.run(); }
    }

    /**
     * A held resource that is its own record: what a helper on a hot path (a lock taken on every
     * run) records, so that an acquisition costs one small object instead of a key, two lambdas
     * and a {@link Resource}. Equal {@link #key()}s are the same resource.
     */
    public interface Held {
        /** What identifies the resource (equal keys are the same resource). */
        Object key();

        /** The resource's name in reports (see {@link Resource}); made only when asked for. */
        String description();

        /** Gives the resource back. */
        void giveBack();
    }

    /**
     * A family of locks each named by an unsigned 32-bit number — a heap's lock words by their
     * offset — that an invocation records without an object per lock ({@link #acquiredLock}): the
     * lock path of a hot program takes and frees one on every operation. Families are told apart
     * by identity.
     */
    public interface LockFamily {
        /** Frees lock {@code word} of this family. */
        void unlock(long word);

        /** The name of lock {@code word} in reports (see {@link Resource}): "kflex_spin_lock heap+0x40". */
        String describe(long word);
    }

    /**
     * Lock {@code word} of {@code family} as a held resource: what {@link #list()} shows for a lock
     * recorded with {@link #acquiredLock}, and its key ({@link #holds}, {@link #remove},
     * {@link #release} accept it).
     */
    public record FamilyLock(LockFamily family, long word) implements Held {
        public FamilyLock {
            Objects.requireNonNull(family);
        }

        @Override
        public Object key() { return this; }

        @Override
        public String description() { return family.describe(word); }

        @Override
        public void giveBack() { family.unlock(word); }

        @Override
        public boolean equals(Object o) { return o instanceof FamilyLock l && l.family == family && l.word == word; }

        @Override
        public int hashCode() { return System.identityHashCode(family) * 31 + Long.hashCode(word); }
    }

    /** Kinds of resources the host's helpers record (the first word of a description). */
    public static final String SOCKET = "socket", HEAP_LOCK = "kflex_spin_lock", MAP_LOCK = "bpf_spin_lock",
            RINGBUF_RECORD = "ringbuf_record";

    private static final int INITIAL_CAPACITY = 4;
    /** The key of an entry that is a {@link Held} record. */
    private static final long RECORD = -1;

    // The held resources, oldest first: entry i is records[i] when keys[i] == RECORD, else lock
    // (keys[i] & 0xffffffff) of family families[keys[i] >>> 32]. One order for both kinds, so that
    // releaseAll gives everything back newest first however they interleave. Recording or
    // forgetting a lock touches one long[] and no reference: it is on the path of every lock a hot
    // program takes, as is finding its family, which is nearly always the first one (the heap's).
    private Held[] records = new Held[INITIAL_CAPACITY];
    private long[] keys = new long[INITIAL_CAPACITY];
    private int size;
    private LockFamily firstFamily; // families[0], compared without an array access
    private LockFamily[] families = new LockFamily[1];
    private int familyCount;

    /** The kind of a resource from its description (see {@link Resource}): its first word. */
    public static String kindOf(String description) {
        int space = description.indexOf(' ');
        return space < 0 ? description : description.substring(0, space);
    }

    /** Records that {@code key} was acquired; {@code release} gives it back. */
    public void acquired(Object key, String description, Runnable release) {
        Objects.requireNonNull(description);
        acquired(key, () -> description, release);
    }

    /** Records that {@code key} was acquired, named by {@code description} when a report needs it; {@code release} gives it back. */
    public void acquired(Object key, Supplier<String> description, Runnable release) {
        acquired(new Resource(key, description, release));
    }

    /** Records that {@code resource} was acquired. */
    public void acquired(Held resource) {
        if (resource instanceof FamilyLock l) {
            if (!acquiredLock(l.family(), l.word())) throw new IllegalStateException(l.description() + " is already held");
            return;
        }
        if (holds(resource.key())) throw new IllegalStateException(resource.description() + " is already held");
        append(resource, RECORD);
    }

    /**
     * Records that lock {@code word} of {@code family} was acquired, without allocating: what a
     * lock taken on every run records. {@link #releaseAll} frees it with {@link LockFamily#unlock}
     * and reports it as {@link LockFamily#describe} names it. Returns false, recording nothing,
     * when that lock is already recorded.
     *
     * @throws IllegalArgumentException when {@code word} is not an unsigned 32-bit number
     */
    public boolean acquiredLock(LockFamily family, long word) {
        checkWord(word);
        int f = familyIndex(family);
        if (f < 0) f = addFamily(family);
        long key = (long) f << 32 | word;
        if (indexOfKey(key) >= 0) return false;
        append(null, key);
        return true;
    }

    /** Whether lock {@code word} of {@code family} is held. */
    public boolean holdsLock(LockFamily family, long word) {
        return indexOfLock(family, word) >= 0;
    }

    /**
     * Forgets lock {@code word} of {@code family} without freeing it (the caller frees it itself);
     * false when it is not held.
     */
    public boolean forgetLock(LockFamily family, long word) {
        int i = indexOfLock(family, word);
        if (i < 0) return false;
        removeAt(i);
        return true;
    }

    /** Frees and forgets lock {@code word} of {@code family}; false when it is not held. */
    public boolean releaseLock(LockFamily family, long word) {
        if (!forgetLock(family, word)) return false;
        family.unlock(word);
        return true;
    }

    /** Whether {@code key} is held. */
    public boolean holds(Object key) {
        return indexOf(key) >= 0;
    }

    /**
     * Forgets {@code key} without running its release action (the caller releases it itself) and
     * returns its record, or null when it is not held.
     */
    public Held remove(Object key) {
        int i = indexOf(key);
        if (i < 0) return null;
        Held r = entry(i);
        removeAt(i);
        return r;
    }

    /** Releases and forgets {@code key}; false when it is not held. */
    public boolean release(Object key) {
        Held r = remove(key);
        if (r == null) return false;
        r.giveBack();
        return true;
    }

    /** The resources held, oldest first. */
    public List<Held> list() {
        List<Held> all = new ArrayList<>(size);
        for (int i = 0; i < size; i++) all.add(entry(i));
        return List.copyOf(all);
    }

    public boolean isEmpty() { return size == 0; }

    public int size() { return size; }

    /**
     * Releases everything still held, newest first, and returns the descriptions in that order.
     * A release action that throws does not stop the others.
     */
    public List<String> releaseAll() {
        if (size == 0) return List.of();
        List<String> released = new ArrayList<>(size);
        while (size > 0) {
            Held r = entry(size - 1);
            removeAt(size - 1); // forgotten before its release runs, as remove-then-release does
            try {
                r.giveBack();
                released.add(r.description());
            } catch (RuntimeException e) {
                released.add(r.description() + " (release failed: " + e.getMessage() + ")");
            }
        }
        return released;
    }

    private static void checkWord(long word) {
        if (word >>> 32 != 0) throw new IllegalArgumentException("lock word 0x" + Long.toHexString(word) + " is not an unsigned 32-bit number");
    }

    /** The index of {@code family} in {@link #families}, or -1. */
    private int familyIndex(LockFamily family) {
        if (family == firstFamily && family != null) return 0;
        for (int f = 1; f < familyCount; f++) {
            if (families[f] == family) return f;
        }
        return -1;
    }

    private int addFamily(LockFamily family) {
        Objects.requireNonNull(family);
        if (familyCount == families.length) families = Arrays.copyOf(families, 2 * familyCount);
        if (familyCount == 0) firstFamily = family;
        families[familyCount] = family;
        return familyCount++;
    }

    /** The newest entry of lock {@code word} of {@code family}, or -1. */
    private int indexOfLock(LockFamily family, long word) {
        int f = familyIndex(family);
        return f < 0 || word >>> 32 != 0 ? -1 : indexOfKey((long) f << 32 | word);
    }

    /** The newest entry whose key is {@code key}, or -1. */
    private int indexOfKey(long key) {
        for (int i = size - 1; i >= 0; i--) {
            if (keys[i] == key) return i;
        }
        return -1;
    }

    private int indexOf(Object key) {
        if (key instanceof FamilyLock l) return indexOfLock(l.family(), l.word());
        for (int i = size - 1; i >= 0; i--) {
            Held r = records[i];
            if (r != null && r.key().equals(key)) return i;
        }
        return -1;
    }

    /** Entry {@code i} as a record (a lock of a family as a {@link FamilyLock}). */
    private Held entry(int i) {
        long key = keys[i];
        return key == RECORD ? records[i] : new FamilyLock(families[(int) (key >>> 32)], key & 0xffff_ffffL);
    }

    /** Appends entry {@code record} (null for a lock) with {@code key}. */
    private void append(Held record, long key) {
        if (size == keys.length) {
            records = Arrays.copyOf(records, 2 * size);
            keys = Arrays.copyOf(keys, 2 * size);
        }
        if (record != null) records[size] = record; // else the free slot's null stays
        keys[size] = key;
        size++;
    }

    private void removeAt(int i) {
        int after = size - 1 - i;
        if (after > 0) {
            System.arraycopy(records, i + 1, records, i, after);
            System.arraycopy(keys, i + 1, keys, i, after);
        }
        size--;
        records[size] = null; // free slots hold no reference: nothing given back stays reachable
    }
}
