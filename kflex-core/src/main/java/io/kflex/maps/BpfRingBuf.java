package io.kflex.maps;

import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Region;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code BPF_MAP_TYPE_RINGBUF}: a multi-producer, single-consumer byte ring of {@code max_entries}
 * bytes (a power of two, a multiple of the 4 KiB page) with Linux's record protocol. Each record
 * is an 8-byte header (length, plus a busy and a discard bit) followed by its data, padded to 8
 * bytes. {@code reserve} hands the program a pointer into the ring; records are consumed strictly
 * in reservation order, so a record reserved but not yet submitted holds back every later one,
 * and a discarded record is skipped by the consumer (it occupies its space until then).
 *
 * <p>The data area is followed by a mirror of the same size, standing in for Linux's double
 * mapping: a record that wraps around the end is contiguous in the program's view, and its
 * wrapped tail is copied to the start of the ring when it is committed (that part of the ring
 * belongs to the reservation, so nothing else reads it before).
 */
public final class BpfRingBuf extends BpfMap {
    /** Header bits and sizes, as in Linux's {@code BPF_RINGBUF_*}. */
    public static final int BUSY_BIT = 1 << 31, DISCARD_BIT = 1 << 30, HEADER_SIZE = 8;
    /** Submit/output flags. */
    public static final long RB_NO_WAKEUP = 1, RB_FORCE_WAKEUP = 2;
    /** {@code bpf_ringbuf_query} flags. */
    public static final long RB_AVAIL_DATA = 0, RB_RING_SIZE = 1, RB_CONS_POS = 2, RB_PROD_POS = 3;

    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;

    private final long size;
    private final long mask;
    private final MemorySegment memory;
    private final long base;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition committed = lock.newCondition();
    /** Offsets (in the ring) of records reserved and not yet committed. */
    private final Set<Long> outstanding = new HashSet<>();
    private volatile long consumerPos;
    private volatile long producerPos;
    private RingBufferConsumer consumer;

    BpfRingBuf(MapTable table, MapSpec spec, int id) {
        super(table, spec, id);
        this.size = spec.maxEntries() & 0xffffffffL;
        this.mask = size - 1;
        this.memory = MapMemory.allocate(2 * size);
        this.base = table.register(new Region(Region.Kind.MAP_VALUE, memory, true, "ring buffer " + spec.name()), this);
    }

    /** The ring's data size in bytes. */
    public long ringSize() { return size; }

    /** {@code bpf_ringbuf_reserve}: the address of {@code length} bytes of record data, or 0. */
    public long reserve(long length, long flags) {
        if (flags != 0 || length < 0 || length > size - HEADER_SIZE || length >= DISCARD_BIT) return 0;
        long total = roundUp8(length + HEADER_SIZE);
        lock.lock();
        try {
            long prod = producerPos;
            if (prod - consumerPos + total > size) return 0;
            long header = prod & mask;
            memory.set(INT, header, (int) length | BUSY_BIT);
            memory.set(INT, header + 4, 0);
            outstanding.add(header);
            producerPos = prod + total;
            return base + header + HEADER_SIZE;
        } finally {
            lock.unlock();
        }
    }

    /** {@code bpf_ringbuf_submit} ({@code discard} false) or {@code bpf_ringbuf_discard}. */
    public void commit(long dataAddress, boolean discard, long flags) {
        long header = (dataAddress - base) - HEADER_SIZE;
        lock.lock();
        try {
            if (!outstanding.remove(header)) {
                throw new ExtensionFault(String.format("0x%x is not a reserved, uncommitted record of ring buffer %s", dataAddress, spec.name()));
            }
            int length = memory.get(INT, header) & ~BUSY_BIT;
            long end = header + HEADER_SIZE + length;
            if (end > size) MemorySegment.copy(memory, size, memory, 0, end - size); // the wrapped tail
            memory.set(INT, header, length | (discard ? DISCARD_BIT : 0));
            if ((flags & RB_NO_WAKEUP) == 0) committed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** {@code bpf_ringbuf_output}: a record holding a copy of {@code data}; 0 or {@code -EAGAIN} when full. */
    public long output(MemorySegment data, long flags) {
        if ((flags & ~(RB_NO_WAKEUP | RB_FORCE_WAKEUP)) != 0) return -Errno.EINVAL;
        long at = reserve(data.byteSize(), 0);
        if (at == 0) return -Errno.EAGAIN;
        MemorySegment.copy(data, 0, memory, at - base, data.byteSize());
        commit(at, false, flags);
        return 0;
    }

    /** {@code bpf_ringbuf_query}. */
    public long query(long flags) {
        return switch ((int) flags) {
            case (int) RB_AVAIL_DATA -> producerPos - consumerPos;
            case (int) RB_RING_SIZE -> size;
            case (int) RB_CONS_POS -> consumerPos;
            case (int) RB_PROD_POS -> producerPos;
            default -> 0;
        };
    }

    /** The consumer of this ring; Linux allows one, and so does this (the same object every time). */
    public synchronized RingBufferConsumer consumer() {
        if (consumer == null) consumer = new RingBufferConsumer(this);
        return consumer;
    }

    /**
     * The next committed record, skipping discarded ones, waiting up to {@code timeout} for one;
     * empty when none arrived (or the next record is still reserved) in that time.
     */
    Optional<byte[]> poll(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, timeout.toNanos());
        lock.lock();
        try {
            while (true) {
                while (consumerPos < producerPos) {
                    long header = consumerPos & mask;
                    int word = memory.get(INT, header);
                    if ((word & BUSY_BIT) != 0) break; // reserved, not committed: later records wait
                    int length = word & ~(BUSY_BIT | DISCARD_BIT);
                    long total = roundUp8(length + HEADER_SIZE);
                    byte[] data = null;
                    if ((word & DISCARD_BIT) == 0) {
                        data = new byte[length];
                        long start = (header + HEADER_SIZE) & mask;
                        long first = Math.min(length, size - start);
                        MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, start, data, 0, (int) first);
                        if (first < length) MemorySegment.copy(memory, ValueLayout.JAVA_BYTE, 0, data, (int) first, (int) (length - first));
                    }
                    consumerPos += total;
                    if (data != null) return Optional.of(data);
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) return Optional.empty();
                committed.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Optional<byte[]> lookup(byte[] key) {
        throw new UnsupportedOperationException("ring buffer " + spec.name() + ": read records with consumer().poll(...)");
    }

    @Override
    public void update(byte[] key, byte[] value, long flags) throws MapException {
        throw new MapException(Errno.EINVAL, "ring buffer " + spec.name() + ": has no elements to update");
    }

    @Override
    public boolean delete(byte[] key) throws MapException {
        throw new MapException(Errno.EINVAL, "ring buffer " + spec.name() + ": has no elements to delete");
    }

    @Override
    public List<Entry> entries() { return List.of(); }

    @Override
    void release() {
        table.unregister(base);
    }

}
