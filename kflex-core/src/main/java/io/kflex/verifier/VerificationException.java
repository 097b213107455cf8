package io.kflex.verifier;

/**
 * The verifier rejected a program: {@code pc} is the instruction slot, {@code rule} the broken
 * rule, {@code state} the abstract registers (and stack) at that point in Linux's log notation,
 * {@code log} the verifier log up to the rejection.
 */
public final class VerificationException extends Exception {
    private final int pc;
    private final Rule rule;
    private final String detail;
    private final String state;
    private final String log;

    public VerificationException(int pc, Rule rule, String detail, String state, String log) {
        super(format(pc, rule, detail, state));
        this.pc = pc;
        this.rule = rule;
        this.detail = detail;
        this.state = state;
        this.log = log;
    }

    private static String format(int pc, Rule rule, String detail, String state) {
        String where = pc >= 0 ? "insn " + pc + ": " : "";
        return where + detail + " [" + rule + "]" + (state == null || state.isEmpty() ? "" : "\n  state: " + state);
    }

    public int pc() { return pc; }

    public Rule rule() { return rule; }

    /** The message without location and state. */
    public String detail() { return detail; }

    public String state() { return state; }

    public String log() { return log; }
}
