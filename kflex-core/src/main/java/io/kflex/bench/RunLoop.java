package io.kflex.bench;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.function.LongSupplier;

/**
 * The loop that runs a workload {@code n} times. The JVM keeps one type profile per call site, so
 * one loop shared by every column would see the suppliers of all of them: the columns measured
 * later would run code compiled for an earlier column's profile (or a megamorphic call). {@link
 * #fresh()} defines a new hidden copy of this class, so every column gets a loop — and a call
 * site — of its own.
 */
public final class RunLoop {
    private static final MethodType TIMES = MethodType.methodType(long.class, LongSupplier.class, long.class);
    private static final byte[] BYTES = classBytes();

    private final MethodHandle times;

    private RunLoop(MethodHandle times) {
        this.times = times;
    }

    /** A loop with call sites of its own: a new hidden class, not yet profiled or compiled. */
    public static RunLoop fresh() {
        try {
            MethodHandles.Lookup copy = MethodHandles.lookup().defineHiddenClass(BYTES, true);
            // Nothing references the copy but this handle: it is unloaded with it.
            return new RunLoop(copy.findStatic(copy.lookupClass(), "times", TIMES));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot define a copy of the measuring loop", e);
        }
    }

    /** The loop of this class itself, shared by every caller of {@code shared()} (to measure what sharing costs). */
    public static RunLoop shared() {
        try {
            return new RunLoop(MethodHandles.lookup().findStatic(Body.class, "times", TIMES));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs {@code run} {@code n} times in this loop; returns the sum of the results. */
    public long run(LongSupplier run, long n) {
        try {
            return (long) times.invokeExact(run, n);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static byte[] classBytes() {
        try (InputStream in = Body.class.getResourceAsStream("RunLoop$Body.class")) {
            if (in == null) throw new IllegalStateException("RunLoop$Body.class is not readable as a resource");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read RunLoop$Body.class", e);
        }
    }

    /** The loop itself: a class with nothing but it, so that copies of it are cheap. */
    static final class Body {
        private Body() {}

        /** Runs {@code run} {@code n} times; returns the sum of what it returned (to keep the work alive). */
        static long times(LongSupplier run, long n) {
            long acc = 0;
            for (long i = 0; i < n; i++) acc += run.getAsLong();
            return acc;
        }
    }
}
