package io.kflex.engine;

import java.util.List;

/** How one invocation of an extension ended. */
public sealed interface Outcome {

    /** The program returned; {@code r0} is its verdict or return value. */
    record Returned(long r0) implements Outcome {
        /** Shared outcomes of the small return values most programs give (verdicts, -1, 0, 1): see {@link #of}. */
        private static final int SMALL_MIN = -1, SMALL_MAX = 255;
        private static final Returned[] SMALL = new Returned[SMALL_MAX - SMALL_MIN + 1];

        static {
            for (int i = 0; i < SMALL.length; i++) SMALL[i] = new Returned(SMALL_MIN + i);
        }

        /**
         * The outcome of a program that returned {@code r0}: a shared instance for a small value
         * (a record has no identity worth keeping), so that a hot path that runs a program again
         * and again does not allocate one per run.
         */
        public static Returned of(long r0) {
            return r0 >= SMALL_MIN && r0 <= SMALL_MAX ? SMALL[(int) r0 - SMALL_MIN] : new Returned(r0);
        }
    }

    /** The program broke a runtime rule at instruction {@code pc}; the host stayed intact. */
    record Faulted(int pc, String reason) implements Outcome {}

    /**
     * The program was stopped at cancellation point {@code pc} (a watchdog budget or an interrupt);
     * {@code released} lists the resources the point's object table released.
     */
    record Cancelled(int pc, String reason, List<String> released) implements Outcome {}
}
