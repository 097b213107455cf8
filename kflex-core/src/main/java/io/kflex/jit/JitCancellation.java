package io.kflex.jit;

/** Unwinds generated code from the cancellation point {@code pc} to the invocation boundary. */
final class JitCancellation extends RuntimeException {
    final int pc;
    final String reason;

    JitCancellation(int pc, String reason) {
        super(reason, null, false, false);
        this.pc = pc;
        this.reason = reason;
    }
}
