package io.kflex.helpers;

import io.kflex.engine.CallbackOutcome;
import io.kflex.maps.Errno;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The general-purpose helpers every program type may call: time, random numbers, the CPU slot,
 * {@code bpf_trace_printk} and {@code bpf_loop}.
 */
public final class StandardHelpers {
    public static final int KTIME_GET_NS = 5, TRACE_PRINTK = 6, GET_PRANDOM_U32 = 7, GET_SMP_PROCESSOR_ID = 8,
            KTIME_GET_BOOT_NS = 125, LOOP = 181;

    /** Linux's bound on {@code bpf_loop} iterations. */
    public static final long MAX_LOOPS = 1L << 23;

    private StandardHelpers() {}

    /** Adds the helpers with {@code trace_printk} going to the {@code io.kflex.trace} logger. */
    public static HelperTable.Builder register(HelperTable.Builder builder) {
        return register(builder, new TracePrintk(System.getLogger("io.kflex.trace"), TracePrintk.DEFAULT_LINES_PER_SECOND));
    }

    /** Adds the helpers with {@code trace_printk} going to {@code printk}. */
    public static HelperTable.Builder register(HelperTable.Builder builder, TracePrintk printk) {
        // Monotonic clocks. The JVM has one: boot time (which counts suspend on Linux) is the same clock here.
        builder.add(KTIME_GET_NS, "bpf_ktime_get_ns", (inv, a, b, c, d, e) -> System.nanoTime());
        builder.add(KTIME_GET_BOOT_NS, "bpf_ktime_get_boot_ns", (inv, a, b, c, d, e) -> System.nanoTime());
        builder.add(GET_PRANDOM_U32, "bpf_get_prandom_u32", (inv, a, b, c, d, e) -> ThreadLocalRandom.current().nextInt() & 0xffffffffL);
        builder.add(GET_SMP_PROCESSOR_ID, "bpf_get_smp_processor_id", (inv, a, b, c, d, e) -> inv.cpu());
        builder.add(TRACE_PRINTK, "bpf_trace_printk", printk);
        builder.add(LOOP, "bpf_loop", (inv, nr, callback, ctx, flags, e) -> {
            if (flags != 0) return -Errno.EINVAL;
            long n = nr & 0xffffffffL;
            if (n > MAX_LOOPS) return -Errno.E2BIG;
            for (long i = 0; i < n; i++) {
                // The callback may have no loop of its own: check here so a long bpf_loop stays cancellable.
                CallbackOutcome.checkCancellation(inv);
                if (inv.callFunction(callback, i, ctx, 0, 0, 0) != 0) return i + 1;
            }
            return n;
        });
        return builder;
    }
}
