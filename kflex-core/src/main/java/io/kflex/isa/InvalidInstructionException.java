package io.kflex.isa;

/** An instruction stream that cannot be decoded or encoded; names the instruction slot and the problem. */
public final class InvalidInstructionException extends Exception {
    private final int index;

    public InvalidInstructionException(int index, String problem) {
        super("insn " + index + ": " + problem);
        this.index = index;
    }

    /** The slot index of the offending instruction. */
    public int index() { return index; }
}
