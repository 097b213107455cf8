package io.kflex.memcached;

import java.util.concurrent.atomic.LongAdder;

/** The counters {@code stats} reports, named as memcached names them. */
public final class ServerStats {
    final long startedMillis = System.currentTimeMillis();
    final LongAdder currConnections = new LongAdder(), totalConnections = new LongAdder();
    final LongAdder cmdGet = new LongAdder(), cmdSet = new LongAdder(), cmdFlush = new LongAdder(), cmdTouch = new LongAdder();
    final LongAdder getHits = new LongAdder(), getMisses = new LongAdder();
    final LongAdder deleteHits = new LongAdder(), deleteMisses = new LongAdder();
    final LongAdder incrHits = new LongAdder(), incrMisses = new LongAdder(), decrHits = new LongAdder(), decrMisses = new LongAdder();
    final LongAdder casHits = new LongAdder(), casMisses = new LongAdder(), casBadval = new LongAdder();
    final LongAdder touchHits = new LongAdder(), touchMisses = new LongAdder();
    final LongAdder udpRequests = new LongAdder();

    public long getHits() { return getHits.sum(); }

    public long getMisses() { return getMisses.sum(); }

    public long udpRequests() { return udpRequests.sum(); }

    public long totalConnections() { return totalConnections.sum(); }

    void reset() {
        for (LongAdder a : new LongAdder[] {cmdGet, cmdSet, cmdFlush, cmdTouch, getHits, getMisses, deleteHits, deleteMisses,
                incrHits, incrMisses, decrHits, decrMisses, casHits, casMisses, casBadval, touchHits, touchMisses,
                totalConnections, udpRequests}) {
            a.reset();
        }
    }
}
