package io.kflex.engine;

import io.kflex.isa.Code;

/**
 * The seam between everything that prepares a program and the two ways of running it: the
 * interpreter (reference semantics) and the JIT to JVM bytecode. Every semantic test runs on both.
 */
public interface Engine {

    /** A short name used on the command line ({@code interpreter}, {@code jit}). */
    String name();

    /** Prepares {@code code} for execution against the helpers and resources of {@code bindings}. */
    Executable load(Code code, Bindings bindings) throws EngineException;
}
