package io.kflex.verifier;

/** The safety rule a rejected program breaks. */
public enum Rule {
    UNINIT_REGISTER,
    UNINIT_STACK,
    OUT_OF_BOUNDS,
    MISALIGNED,
    READ_ONLY,
    /** Dereference of something that is not memory (a scalar, a map pointer, a possibly-NULL pointer). */
    INVALID_ACCESS,
    BAD_HELPER_ARG,
    UNKNOWN_HELPER,
    /** A kfunc call whose id names no kfunc of the host (an unresolved weak extern has id 0). */
    UNKNOWN_KFUNC,
    /** A helper that this program type may not call. */
    HELPER_NOT_ALLOWED,
    POINTER_LEAK,
    POINTER_ARITHMETIC,
    INVALID_RETURN,
    UNREACHABLE,
    FALL_OFF_END,
    /**
     * A jump or call that leaves its subprogram or lands outside the program, including a
     * {@code callx} whose register is not a known function pointer.
     */
    BAD_JUMP,
    /** An instruction the verifier does not accept (an unresolved pseudo load, an unknown address-space cast). */
    UNSUPPORTED_INSTRUCTION,
    RECURSION,
    CALL_DEPTH,
    STACK_SIZE,
    TOO_COMPLEX,
    LEAKED_REFERENCE,
    USE_AFTER_RELEASE,
    DOUBLE_RELEASE,
    /** Spin-lock misuse: nested lock, unlock without lock, lock held at exit or across a call. */
    LOCK_VIOLATION,
    /** A map argument or pseudo load naming a map that does not exist or has the wrong type. */
    BAD_MAP
}
