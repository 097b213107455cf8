package io.kflex.engine;

import java.util.List;

/** How one invocation of an extension ended. */
public sealed interface Outcome {

    /** The program returned; {@code r0} is its verdict or return value. */
    record Returned(long r0) implements Outcome {}

    /** The program broke a runtime rule at instruction {@code pc}; the host stayed intact. */
    record Faulted(int pc, String reason) implements Outcome {}

    /**
     * The program was stopped at cancellation point {@code pc} (a watchdog budget or an interrupt);
     * {@code released} lists the resources the point's object table released.
     */
    record Cancelled(int pc, String reason, List<String> released) implements Outcome {}
}
