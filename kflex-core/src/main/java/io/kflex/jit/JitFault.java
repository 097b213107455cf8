package io.kflex.jit;

/**
 * A fault raised by generated code, already attributed to the eBPF instruction that caused it.
 * It crosses generated frames untouched (their exception handlers only catch the host's
 * {@link io.kflex.engine.ExtensionFault}) and becomes an {@code Outcome.Faulted} at the invocation
 * boundary. No stack trace: faults are expected control flow.
 */
final class JitFault extends RuntimeException {
    final int pc;
    final String reason;

    JitFault(int pc, String reason) {
        super(reason, null, false, false);
        this.pc = pc;
        this.reason = reason;
    }
}
