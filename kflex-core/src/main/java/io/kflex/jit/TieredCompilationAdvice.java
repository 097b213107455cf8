package io.kflex.jit;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tells the host, once per JVM, when its HotSpot options may leave a generated program method
 * running in C1's code for good (docs/jit.md, "C1's limit and tier 2"): C1 refuses to compile
 * methods past a few kilobytes of bytecode with full profiling, and a method that HotSpot first
 * compiled with C1's limited profiling — which it chooses while the C2 queue is long — then never
 * gets the profile C2 waits for. {@code -XX:Tier3DelayOn=100000} keeps HotSpot from choosing it;
 * {@code ./kflex} runs with it, a host embedding kflex should too.
 */
final class TieredCompilationAdvice {
    /**
     * Bytes of bytecode from which a generated method may be past C1's limit: the smallest method
     * of the corpus C1 refused (3,486 bytes, compiling every method at tier 3 as it was first
     * called) less a margin, since the limit is on C1's registers, not on bytes.
     */
    static final int C1_COMFORTABLE_BYTES = 2_500;
    /** The {@code Tier3DelayOn} from which a busy C2 queue no longer sends methods to C1's limited profile. */
    static final long ENOUGH_TIER3_DELAY = 100_000;

    private static final AtomicBoolean GIVEN = new AtomicBoolean();

    private TieredCompilationAdvice() {}

    /**
     * Whether a JVM with these options could leave a method of {@code largestMethodBytes} at tier 2:
     * tiered compilation on, and {@code Tier3DelayOn} below {@link #ENOUGH_TIER3_DELAY}.
     */
    static boolean needed(int largestMethodBytes, boolean tieredCompilation, long tier3DelayOn) {
        return tieredCompilation && largestMethodBytes > C1_COMFORTABLE_BYTES && tier3DelayOn < ENOUGH_TIER3_DELAY;
    }

    /** Logs the advice the first time a program's largest method calls for it in this JVM. */
    static void adviseFor(int largestMethodBytes) {
        // Small methods and a JVM already told need no look at its options (a management call).
        if (largestMethodBytes <= C1_COMFORTABLE_BYTES || GIVEN.get()) return;
        Options options = Options.current();
        if (options == null || !needed(largestMethodBytes, options.tiered(), options.tier3DelayOn())) return;
        if (!GIVEN.compareAndSet(false, true)) return;
        System.getLogger("io.kflex.jit").log(System.Logger.Level.WARNING, message(largestMethodBytes));
    }

    /** The warning: the option spelled as it must be typed. */
    static String message(int largestMethodBytes) {
        return "a generated program method has " + largestMethodBytes + " bytes of bytecode, more than HotSpot's C1 compiles "
                + "with full profiling: run the JVM with -XX:Tier3DelayOn=" + ENOUGH_TIER3_DELAY + " so that C2 compiles it even "
                + "when it was loaded while the JVM was busy (otherwise it may run C1's code for good; see docs/jit.md)";
    }

    /** The HotSpot options that matter here, or null on a JVM that does not report them. */
    record Options(boolean tiered, long tier3DelayOn) {
        static Options current() {
            try {
                HotSpotDiagnosticMXBean hotspot = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
                if (hotspot == null) return null;
                return new Options(Boolean.parseBoolean(hotspot.getVMOption("TieredCompilation").getValue()),
                        Long.parseLong(hotspot.getVMOption("Tier3DelayOn").getValue()));
            } catch (RuntimeException | LinkageError e) {
                return null; // not HotSpot, or the option is gone: nothing to advise
            }
        }
    }
}
