package io.kflex.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The resources an invocation holds right now (locks, and whatever else a helper acquires on its
 * behalf), each with the action that gives it back. Helpers record an acquisition here and remove
 * it on release; when an invocation ends in any other way (a fault, a cancellation) the engine
 * driver releases what is left, newest first, so the host is quiescent again. Confined to the
 * invocation's thread, like the invocation.
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

    /** Kinds of resources the host's helpers record (the first word of a description). */
    public static final String SOCKET = "socket", HEAP_LOCK = "kflex_spin_lock", MAP_LOCK = "bpf_spin_lock",
            RINGBUF_RECORD = "ringbuf_record";

    private final ArrayList<Held> held = new ArrayList<>(4);

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
        if (holds(resource.key())) throw new IllegalStateException(resource.description() + " is already held");
        held.add(resource);
    }

    /** Whether {@code key} is held. */
    public boolean holds(Object key) {
        for (int i = held.size() - 1; i >= 0; i--) {
            if (held.get(i).key().equals(key)) return true;
        }
        return false;
    }

    /**
     * Forgets {@code key} without running its release action (the caller releases it itself) and
     * returns its record, or null when it is not held.
     */
    public Held remove(Object key) {
        for (int i = held.size() - 1; i >= 0; i--) {
            if (held.get(i).key().equals(key)) return held.remove(i);
        }
        return null;
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
        return List.copyOf(held);
    }

    public boolean isEmpty() { return held.isEmpty(); }

    public int size() { return held.size(); }

    /**
     * Releases everything still held, newest first, and returns the descriptions in that order.
     * A release action that throws does not stop the others.
     */
    public List<String> releaseAll() {
        if (held.isEmpty()) return List.of();
        List<String> released = new ArrayList<>(held.size());
        while (!held.isEmpty()) {
            Held r = held.removeLast();
            try {
                r.giveBack();
                released.add(r.description());
            } catch (RuntimeException e) {
                released.add(r.description() + " (release failed: " + e.getMessage() + ")");
            }
        }
        return released;
    }
}
