package io.kflex.maps;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The key → value-slot index of a plain (not LRU) hash map, built so that a program's lookup
 * neither allocates nor copies its key: the key is hashed and compared where it lies (a segment
 * and an offset, usually the program's stack), eight bytes at a time.
 *
 * <p>Lookups are lock-free; changes take the index's lock. A bucket is a chain of nodes whose key
 * never changes; a lookup that runs while the chain changes sees every key that was present for
 * its whole duration and may or may not see one inserted or removed meanwhile, as with Linux's
 * RCU-protected buckets:
 * <ul>
 *   <li>insertion publishes a new node at the head of its chain;</li>
 *   <li>removal unlinks a node by pointing its predecessor past it; the removed node keeps its
 *       successor, so a lookup standing on it still reaches the rest of the chain;</li>
 *   <li>a replacement changes the node's slot (a volatile write); a lookup returns the old or
 *       the new slot, and the old one stays valid until the lookup's epoch ends ({@link Epochs});</li>
 *   <li>growing builds new chains from copies of the nodes and publishes the new table, so a
 *       lookup on the old table walks unchanged chains.</li>
 * </ul>
 *
 * <p>The hash is seeded per index: keys chosen by a network peer cannot be made to collide
 * without knowing the seed.
 */
final class HashIndex {
    private static final VarHandle BUCKETS = MethodHandles.arrayElementVarHandle(Node[].class);
    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final VarHandle BYTES_LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int INITIAL_BUCKETS = 16;

    /**
     * One key: its bytes as little-endian words (the last one zero-padded), its hash, its slot.
     * The first word is also a field of its own: keys of up to eight bytes (the usual
     * {@code __u32}/{@code __u64} key) are compared without reaching the array, one dependent
     * load fewer on a lookup's chain.
     */
    static final class Node {
        final long[] words;
        final long first;
        final int hash;
        volatile int slot;
        volatile Node next;

        Node(long[] words, int hash, int slot, Node next) {
            this.words = words;
            this.first = words[0];
            this.hash = hash;
            this.slot = slot;
            this.next = next;
        }
    }

    /**
     * What a lookup needs to know of an index that never changes after it is made. A record, so
     * that when a compiled program holds the lookup that holds it as a constant
     * ({@link BpfMap#arrayKeyLookup}), C2 folds its fields: the key's words are then a fixed
     * count, and hashing and comparing a key become straight-line code with the seed as an
     * immediate (an instance field of the index is never folded, a record component is).
     */
    record Shape(int keySize, int fullWords, int tailBytes, long seed) {
        Shape {
            if (keySize <= 0) throw new IllegalArgumentException("key size " + keySize);
            if (fullWords != keySize / 8 || tailBytes != keySize % 8) throw new IllegalArgumentException("words of a " + keySize + "-byte key");
        }

        static Shape of(int keySize, long seed) {
            return new Shape(keySize, keySize / 8, keySize % 8, seed);
        }

        /** Words per key, the last one zero-padded. */
        int words() { return fullWords + (tailBytes == 0 ? 0 : 1); }
    }

    /** A key and its slot, for snapshots. */
    record Entry(byte[] key, int slot) {}

    private final Shape shape;
    // The shape's components again, for the segment forms below (host and generic lookups): a
    // field of the index each, not a load of the shape and then of its component.
    private final int keySize;
    private final int fullWords;
    private final int tailBytes;
    private final long seed;
    private volatile Node[] table = new Node[INITIAL_BUCKETS];
    /** Guarded by {@code this}. */
    private int size;

    HashIndex(int keySize) {
        this.shape = Shape.of(keySize, ThreadLocalRandom.current().nextLong());
        this.keySize = keySize;
        this.fullWords = shape.fullWords();
        this.tailBytes = shape.tailBytes();
        this.seed = shape.seed();
    }

    /** The index's fixed parameters (see {@link Shape}). */
    Shape shape() { return shape; }

    int keySize() { return keySize; }

    /** Keys in the index. */
    synchronized int size() { return size; }

    /** The slot of the {@link #keySize} bytes at {@code offset} of {@code key}, or -1. Lock-free. */
    int find(MemorySegment key, long offset) {
        int h = hash(key, offset);
        Node[] t = table;
        for (Node n = (Node) BUCKETS.getAcquire(t, h & (t.length - 1)); n != null; n = n.next) {
            if (n.hash == h && matches(n.words, key, offset)) return n.slot;
        }
        return -1;
    }

    /**
     * {@link #find(MemorySegment, long)} for a key in an array (a program's stack, see
     * {@link BpfMap#lookupElem(byte[], int, int)}): the same hash and comparison, reading the key
     * as array elements. The caller has checked that the key lies inside {@code key}.
     */
    int find(byte[] key, int offset) {
        return find(this, shape, key, offset);
    }

    /**
     * {@link #find(byte[], int)} of {@code index}, whose {@link #shape()} is {@code shape}: static,
     * with the shape passed in, for a caller that holds both as constants (see {@link Shape}).
     */
    static int find(HashIndex index, Shape shape, byte[] key, int offset) {
        int h = hash(shape, key, offset);
        Node[] t = index.table;
        for (Node n = (Node) BUCKETS.getAcquire(t, h & (t.length - 1)); n != null; n = n.next) {
            if (n.hash == h && matches(shape, n, key, offset)) return n.slot;
        }
        return -1;
    }

    /**
     * With the lock held ({@code synchronized (index)}): the node of the key, or null. The caller
     * may then {@link #setSlot}, {@link #insert} or {@link #remove} under the same lock.
     */
    Node node(MemorySegment key, long offset) {
        assert Thread.holdsLock(this);
        int h = hash(key, offset);
        Node[] t = table;
        for (Node n = t[h & (t.length - 1)]; n != null; n = n.next) {
            if (n.hash == h && matches(n.words, key, offset)) return n;
        }
        return null;
    }

    /** With the lock held: points an existing key at another slot. */
    void setSlot(Node node, int slot) {
        assert Thread.holdsLock(this);
        node.slot = slot;
    }

    /** With the lock held: adds a key that is not in the index (copied from the segment). */
    void insert(MemorySegment key, long offset, int slot) {
        assert Thread.holdsLock(this);
        if (size >= table.length - (table.length >>> 2)) grow();
        int h = hash(key, offset);
        long[] words = new long[fullWords + (tailBytes == 0 ? 0 : 1)];
        for (int i = 0; i < words.length; i++) words[i] = word(key, offset, i);
        Node[] t = table;
        int b = h & (t.length - 1);
        BUCKETS.setRelease(t, b, new Node(words, h, slot, t[b]));
        size++;
    }

    /** With the lock held: removes the key and returns its slot, or -1 when it is not there. */
    int remove(MemorySegment key, long offset) {
        assert Thread.holdsLock(this);
        int h = hash(key, offset);
        Node[] t = table;
        int b = h & (t.length - 1);
        Node prev = null;
        for (Node n = t[b]; n != null; prev = n, n = n.next) {
            if (n.hash != h || !matches(n.words, key, offset)) continue;
            if (prev == null) BUCKETS.setRelease(t, b, n.next);
            else prev.next = n.next;
            size--;
            return n.slot;
        }
        return -1;
    }

    /** A snapshot of the keys and their slots (each key as it was when its chain was read). */
    List<Entry> entries() {
        Node[] t = table;
        List<Entry> out = new ArrayList<>();
        for (int b = 0; b < t.length; b++) {
            for (Node n = (Node) BUCKETS.getAcquire(t, b); n != null; n = n.next) out.add(new Entry(bytes(n.words), n.slot));
        }
        return out;
    }

    private void grow() {
        Node[] old = table;
        Node[] bigger = new Node[old.length * 2];
        for (Node head : old) {
            for (Node n = head; n != null; n = n.next) {
                int b = n.hash & (bigger.length - 1);
                bigger[b] = new Node(n.words, n.hash, n.slot, bigger[b]);
            }
        }
        table = bigger; // volatile write: publishes the new chains
    }

    // The segment and array forms of hash, matches and word below are the same code over the
    // two ways a key can lie: a segment access where the array's would do costs a lookup most
    // of its time (liveness and bounds checks of the segment on every word).

    private int hash(MemorySegment key, long offset) {
        long h = seed ^ keySize;
        int words = fullWords + (tailBytes == 0 ? 0 : 1);
        for (int i = 0; i < words; i++) h = mixWord(h, word(key, offset, i));
        return finish(h);
    }

    private static int hash(Shape shape, byte[] key, int offset) {
        long h = shape.seed() ^ shape.keySize();
        int words = shape.words();
        for (int i = 0; i < words; i++) h = mixWord(h, word(shape, key, offset, i));
        return finish(h);
    }

    private static long mixWord(long h, long word) {
        return (h ^ word) * 0x9e3779b97f4a7c15L;
    }

    private static int finish(long h) {
        h ^= h >>> 29;
        h *= 0xbf58476d1ce4e5b9L;
        h ^= h >>> 32;
        return (int) h;
    }

    private boolean matches(long[] words, MemorySegment key, long offset) {
        for (int i = 0; i < words.length; i++) if (words[i] != word(key, offset, i)) return false;
        return true;
    }

    private static boolean matches(Shape shape, Node n, byte[] key, int offset) {
        if (n.first != word(shape, key, offset, 0)) return false;
        int words = shape.words();
        if (words == 1) return true;
        long[] nodeWords = n.words;
        for (int i = 1; i < words; i++) if (nodeWords[i] != word(shape, key, offset, i)) return false;
        return true;
    }

    /** Little-endian word {@code i} of the key; the last word of a key whose size is not a multiple of 8 is zero-padded. */
    private long word(MemorySegment key, long offset, int i) {
        long at = offset + 8L * i;
        if (i < fullWords) return key.get(LE64, at);
        long w = 0;
        for (int k = 0; k < tailBytes; k++) w |= (key.get(U8, at + k) & 0xffL) << (8 * k);
        return w;
    }

    private static long word(Shape shape, byte[] key, int offset, int i) {
        int at = offset + 8 * i;
        if (i < shape.fullWords()) return (long) BYTES_LE64.get(key, at);
        long w = 0;
        for (int k = 0; k < shape.tailBytes(); k++) w |= (key[at + k] & 0xffL) << (8 * k);
        return w;
    }

    private byte[] bytes(long[] words) {
        byte[] out = new byte[keySize];
        for (int i = 0; i < keySize; i++) out[i] = (byte) (words[i / 8] >>> (8 * (i % 8)));
        return out;
    }
}
