package io.kflex.isa.asm;

/** Source text that does not assemble; names the (1-based) source line and the problem. */
public final class AssemblyException extends Exception {
    private final int line;
    private final String problem;

    public AssemblyException(int line, String problem) {
        super("line " + line + ": " + problem);
        this.line = line;
        this.problem = problem;
    }

    /** The 1-based line of the source the problem is on. */
    public int line() { return line; }

    /** The problem without the line prefix. */
    public String problem() { return problem; }
}
