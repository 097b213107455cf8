package io.kflex.engine;

/**
 * The run-time limits every engine enforces identically, taken from Linux so that programs that
 * load there behave the same here.
 */
public final class RuntimeLimits {
    /** Bytes of stack one call frame may use (Linux's MAX_BPF_STACK). */
    public static final int STACK_FRAME_SIZE = 512;

    /** Frames an invocation may have live at once, the main program included (Linux's MAX_CALL_FRAMES). */
    public static final int MAX_CALL_FRAMES = 8;

    /** Size of the stack region mapped for each program run. */
    public static final int STACK_SIZE = STACK_FRAME_SIZE * MAX_CALL_FRAMES;

    /** Tail calls one invocation may make; the next one fails (Linux's MAX_TAIL_CALL_CNT). */
    public static final int MAX_TAIL_CALLS = 33;

    /** {@code may_goto} fall-throughs a program run may make before it jumps (Linux's BPF_MAX_LOOPS). */
    public static final long DEFAULT_LOOP_BUDGET = 8L * 1024 * 1024;

    private RuntimeLimits() {}
}
