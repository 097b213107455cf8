import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workload;
import io.kflex.bench.Workloads;
import io.kflex.jit.JitEngine;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * One build's side of {@code bin/ab-builds}: compiled once, loaded into each build's class
 * loader, so the same source opens the suite's target with that build's classes. A run is one
 * {@link KflexTarget#run} on the JIT, as a hook runs it.
 */
public final class BuildTarget implements LongSupplier {
    private final KflexTarget target;

    /**
     * @param frame for {@code memcached-get}: {@code hit} (the suite's frame) or {@code not-ipv4}
     *              (an EtherType the program rejects after a dozen instructions: the per-run floor)
     */
    public BuildTarget(String suite, String objects, String frame) {
        Workload w = Workloads.named(suite).orElseThrow(() -> new IllegalArgumentException("unknown suite " + suite));
        if (frame.equals("not-ipv4")) {
            byte[] data = w.dataIn().clone();
            if (data.length < 14) throw new IllegalArgumentException(suite + " has no frame to change");
            data[12] = (byte) 0x86; // EtherType 0x86dd: the program passes it (XDP_PASS = 2)
            w = new Workload(w.name(), w.description(), w.unit(), 1, w.object(), w.program(), w.ctxIn(), data, 2,
                    w.setupRuns(), w.mapFills(), w.arenaPages(), w.plainJava(), w.linuxNote());
        } else if (!frame.equals("hit")) {
            throw new IllegalArgumentException("frame is hit or not-ipv4, not " + frame);
        }
        target = KflexTarget.open(w, Path.of(objects), new JitEngine());
    }

    @Override
    public long getAsLong() {
        return target.run();
    }
}
