package io.kflex.engine;

import io.kflex.isa.AtomicOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The 64-bit address space an invocation sees. Window {@code w} (bits 32..63 of an address)
 * selects a {@link Region}, the low 32 bits are the offset inside it; window 0 is never mapped so
 * NULL and small integers fault. All accesses are little-endian and bounds-checked against the
 * region's segment: a bad address becomes an {@link ExtensionFault}, never a JVM error and never
 * a touch of memory the extension does not own.
 *
 * <p>Windows below {@link SharedRegions#FIRST_WINDOW} are the invocation's own (stack, context,
 * packet), handed out by {@link #map} and released with {@link #unmap}; an address space is
 * confined to the thread running the invocation. Windows from there up show the
 * {@link SharedRegions} the address space was built over: map values and heaps, the same for
 * every invocation of a runtime.
 */
public final class AddressSpace {
    /** Size of one window: the low 32 bits of an address. */
    public static final long WINDOW_SIZE = 1L << 32;

    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // Atomics need aligned, native-order access; every platform the JVM runs eBPF-style code on
    // that we support is little-endian, which the static check below makes explicit.
    private static final VarHandle ATOMIC32 = ValueLayout.JAVA_INT.varHandle();
    private static final VarHandle ATOMIC64 = ValueLayout.JAVA_LONG.varHandle();

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new ExceptionInInitializerError("kflex needs a little-endian host");
        }
    }

    private final SharedRegions shared;
    private Region[] windows = new Region[16];
    /** Per own window: the {@code long[]} behind its region's segment, if it is all of one (see {@link #wordsAt}). */
    private long[][] words = new long[16][];
    /** Per own window: the {@code byte[]} behind its region's segment, if it is all of one (see {@link #bytesAt}). */
    private byte[][] bytes = new byte[16][];
    private int next = 1;

    // The stack region this address space took over from its thread when its second run mapped a
    // stack (see Stack#mapInto): mapped from then on, each run's, and no other address space's.
    // Stack only.
    Stack.Mapped ownStackMapped;
    boolean ownStackInUse;
    /** Program runs started in this address space (counted by TailCalls#run, up to 2). */
    int runs;
    private Object hostState;

    /** An address space with no shared regions. */
    public AddressSpace() {
        this(SharedRegions.NONE);
    }

    /** An address space that also sees {@code shared} (map values, heaps). */
    public AddressSpace(SharedRegions shared) {
        this.shared = java.util.Objects.requireNonNull(shared);
    }

    /** The shared regions this address space sees. */
    public SharedRegions shared() { return shared; }

    /**
     * What the host that runs invocations in this address space keeps with it for the thread they
     * run on (the runtime keeps its per-thread slots here, so that a hook thread's runs skip their
     * thread-local look-ups), or null. Opaque to the engines; like the rest of the address space,
     * confined to the thread running in it.
     */
    public Object hostState() { return hostState; }

    /** Sets {@link #hostState()}. */
    public void hostState(Object state) { this.hostState = state; }

    /** Maps a region into a fresh window and returns its base address. */
    public long map(Region region) {
        long[] regionWords = wholeWords(region.segment());
        return map(region, regionWords, regionWords == null ? wholeBytes(region.segment()) : null);
    }

    /**
     * {@link #map(Region)} of a region whose {@link #wordsAt words} or {@link #bytesAt bytes} the
     * caller knows (a stack, mapped every run).
     */
    long map(Region region, long[] regionWords, byte[] regionBytes) {
        int w = next;
        while (w < windows.length && windows[w] != null) w++;
        if (w >= windows.length) {
            if (windows.length >= SharedRegions.FIRST_WINDOW) throw new IllegalStateException("address space exhausted");
            windows = Arrays.copyOf(windows, windows.length * 2);
            words = Arrays.copyOf(words, windows.length);
            bytes = Arrays.copyOf(bytes, windows.length);
        }
        windows[w] = region;
        words[w] = regionWords;
        bytes[w] = regionBytes;
        next = w + 1;
        return (long) w << 32;
    }

    /** Releases the window that {@code base} starts. */
    public void unmap(long base) {
        int w = (int) (base >>> 32);
        if (w <= 0 || w >= windows.length || windows[w] == null) throw new IllegalArgumentException("nothing mapped at 0x" + Long.toHexString(base));
        windows[w] = null;
        words[w] = null;
        bytes[w] = null;
        next = Math.min(next, w);
    }

    /**
     * The {@code long[]} behind the region of one of this address space's own windows (a context
     * a hook makes) when the region's segment is a writable view of all of such an array (word
     * {@code i} then holds bytes {@code 8i .. 8i + 7}, little-endian, and the array's bounds are
     * the region's) and the access {@code [address, address + size)} is one {@link #resolve}
     * would allow; else null. Found once, when the region is mapped, for compiled code that reads
     * and writes regions as array elements (its loads ask only for the array, and without one take
     * the generic load; its stores ask after the segment).
     */
    public long[] wordsAt(long address, long size, boolean write) {
        long w = address >>> 32;
        long[][] all = words;
        if (w <= 0 || w >= all.length) return null;
        long[] a = all[(int) w];
        return a != null && (address & 0xffffffffL) + size <= 8L * a.length && (!write || windows[(int) w].writable()) ? a : null;
    }

    /**
     * The {@code byte[]} behind the region of one of this address space's own windows when the
     * region's segment is a writable view of all of such an array (a packet a hook makes, a
     * stack) and the access is allowed; else null. As {@link #wordsAt}.
     */
    public byte[] bytesAt(long address, long size, boolean write) {
        long w = address >>> 32;
        byte[][] all = bytes;
        if (w <= 0 || w >= all.length) return null;
        byte[] a = all[(int) w];
        return a != null && (address & 0xffffffffL) + size <= a.length && (!write || windows[(int) w].writable()) ? a : null;
    }

    private static byte[] wholeBytes(MemorySegment s) {
        if (s.isNative() || s.isReadOnly() || s.address() != 0) return null;
        return s.heapBase().orElse(null) instanceof byte[] b && s.byteSize() == b.length ? b : null;
    }

    private static long[] wholeWords(MemorySegment s) {
        if (s.isNative() || s.isReadOnly() || s.address() != 0) return null;
        return s.heapBase().orElse(null) instanceof long[] w && s.byteSize() == 8L * w.length ? w : null;
    }

    /** The region an address falls in, or null. */
    public Region regionOf(long address) {
        long w = address >>> 32;
        if (w < SharedRegions.FIRST_WINDOW) return w > 0 && w < windows.length ? windows[(int) w] : null;
        return shared.get(w);
    }

    public long load(long address, int size) {
        MemorySegment s = resolve(address, size, false);
        long off = address & 0xffffffffL;
        return switch (size) {
            case 1 -> s.get(U8, off) & 0xffL;
            case 2 -> s.get(U16, off) & 0xffffL;
            case 4 -> s.get(U32, off) & 0xffffffffL;
            case 8 -> s.get(U64, off);
            default -> throw new IllegalArgumentException("size " + size);
        };
    }

    public void store(long address, int size, long value) {
        MemorySegment s = resolve(address, size, true);
        long off = address & 0xffffffffL;
        switch (size) {
            case 1 -> s.set(U8, off, (byte) value);
            case 2 -> s.set(U16, off, (short) value);
            case 4 -> s.set(U32, off, (int) value);
            case 8 -> s.set(U64, off, value);
            default -> throw new IllegalArgumentException("size " + size);
        }
    }

    /**
     * The segment slice {@code [address, address + length)} for helpers that take a buffer
     * argument (map keys, copy sources); faults like a load or store would.
     */
    public MemorySegment slice(long address, long length, boolean forWrite) {
        if (length < 0 || length > WINDOW_SIZE) throw new ExtensionFault("bad buffer length " + length);
        if (length == 0) return MemorySegment.NULL;
        MemorySegment s = resolve(address, length, forWrite);
        return s.asSlice(address & 0xffffffffL, length);
    }

    /** The segment holding {@code [address, address + size)}, checked for bounds and writability. */
    public MemorySegment resolve(long address, long size, boolean write) {
        Region r = regionOf(address);
        long off = address & 0xffffffffL;
        // Small enough to be inlined into every caller on the hot path; the messages are built out of line.
        if (r == null || off + size > r.size() || write && !r.writable()) throw accessFault(r, address, size, write);
        return r.segment();
    }

    /**
     * {@link #resolve} for an access the verifier proved to reach one of the invocation's own
     * regions (its packet, context or stack): the same segment and the same faults, but the shared
     * table is only consulted on the way to a fault. Compiled code inlines the resolution at every
     * access site, and there a path it never takes costs nothing, where {@link #resolve}'s own
     * branch profile (shared by every caller) makes the compiler inline both kinds of window.
     */
    public MemorySegment resolveOwn(long address, long size, boolean write) {
        long w = address >>> 32;
        Region[] own = windows;
        if (w > 0 && w < own.length) {
            Region r = own[(int) w];
            if (r != null && (address & 0xffffffffL) + size <= r.size() && (!write || r.writable())) return r.segment();
        }
        return resolve(address, size, write);
    }

    /** {@link #resolve} for an access the verifier proved to reach a map value (a shared region); see {@link #resolveOwn}. */
    public MemorySegment resolveShared(long address, long size, boolean write) {
        long w = address >>> 32;
        if (w >= SharedRegions.FIRST_WINDOW) {
            Region r = shared.get(w);
            if (r != null && (address & 0xffffffffL) + size <= r.size() && (!write || r.writable())) return r.segment();
        }
        return resolve(address, size, write);
    }

    private static ExtensionFault accessFault(Region r, long address, long size, boolean write) {
        long off = address & 0xffffffffL;
        if (r == null) {
            return new ExtensionFault(String.format("%s of %d bytes at unmapped address 0x%x", write ? "store" : "load", size, address));
        }
        if (off + size > r.size()) {
            return new ExtensionFault(String.format("%s of %d bytes at %s+%d is out of bounds (size %d)",
                    write ? "store" : "load", size, r.name(), off, r.size()));
        }
        return new ExtensionFault(String.format("store to read-only %s at offset %d", r.name(), off));
    }

    /**
     * Atomically applies {@code op} ({@code ADD}, {@code OR}, {@code AND}, {@code XOR} or
     * {@code XCHG}) with {@code operand} to the {@code size}-byte (4 or 8) value at
     * {@code address} and returns the old value, zero-extended. Misaligned addresses fault, as
     * Linux rejects them.
     */
    public long getAndApply(long address, int size, AtomicOp op, long operand) {
        Region r = atomicTarget(address, size);
        MemorySegment s = r.segment();
        long off = address & 0xffffffffL;
        try {
            if (size == 4) {
                int v = (int) operand;
                int old = switch (op) {
                    case ADD -> (int) ATOMIC32.getAndAdd(s, off, v);
                    case OR -> (int) ATOMIC32.getAndBitwiseOr(s, off, v);
                    case AND -> (int) ATOMIC32.getAndBitwiseAnd(s, off, v);
                    case XOR -> (int) ATOMIC32.getAndBitwiseXor(s, off, v);
                    case XCHG -> (int) ATOMIC32.getAndSet(s, off, v);
                    case CMPXCHG -> throw new IllegalArgumentException("use compareAndExchange");
                };
                return old & 0xffffffffL;
            }
            return switch (op) {
                case ADD -> (long) ATOMIC64.getAndAdd(s, off, operand);
                case OR -> (long) ATOMIC64.getAndBitwiseOr(s, off, operand);
                case AND -> (long) ATOMIC64.getAndBitwiseAnd(s, off, operand);
                case XOR -> (long) ATOMIC64.getAndBitwiseXor(s, off, operand);
                case XCHG -> (long) ATOMIC64.getAndSet(s, off, operand);
                case CMPXCHG -> throw new IllegalArgumentException("use compareAndExchange");
            };
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // A segment that cannot be accessed atomically (a byte[]-backed one has alignment 1):
            // fall back to a read-modify-write that is atomic with respect to other atomics on it.
            synchronized (r) {
                long old = load(address, size);
                long updated = switch (op) {
                    case ADD -> old + operand;
                    case OR -> old | operand;
                    case AND -> old & operand;
                    case XOR -> old ^ operand;
                    case XCHG -> operand;
                    case CMPXCHG -> throw new IllegalArgumentException("use compareAndExchange");
                };
                store(address, size, updated);
                return old;
            }
        }
    }

    /**
     * Atomically replaces the {@code size}-byte value at {@code address} with {@code value} if it
     * equals {@code expected} (compared on {@code size} bytes) and returns the old value,
     * zero-extended.
     */
    public long compareAndExchange(long address, int size, long expected, long value) {
        Region r = atomicTarget(address, size);
        MemorySegment s = r.segment();
        long off = address & 0xffffffffL;
        try {
            if (size == 4) return ((int) ATOMIC32.compareAndExchange(s, off, (int) expected, (int) value)) & 0xffffffffL;
            return (long) ATOMIC64.compareAndExchange(s, off, expected, value);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            synchronized (r) {
                long old = load(address, size);
                long mask = size == 4 ? 0xffffffffL : -1L;
                if (old == (expected & mask)) store(address, size, value);
                return old;
            }
        }
    }

    private Region atomicTarget(long address, int size) {
        if (size != 4 && size != 8) throw new IllegalArgumentException("atomic of " + size + " bytes");
        resolve(address, size, true);
        if ((address & (size - 1)) != 0) {
            throw new ExtensionFault(String.format("misaligned atomic of %d bytes at 0x%x", size, address));
        }
        return regionOf(address);
    }
}
