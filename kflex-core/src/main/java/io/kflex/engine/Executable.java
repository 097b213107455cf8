package io.kflex.engine;

/** A prepared program; thread-safe, each call to {@link #run} is one independent invocation. */
public interface Executable {

    /**
     * Runs the program once. r1..r5 start as {@link Invocation#arguments()}; the outcome is never
     * an exception: faults and cancellations are values.
     */
    Outcome run(Invocation invocation);

    /**
     * How the program runs, for reports ({@code kflex verify}/{@code run}, logs): the engine's
     * name, and for an engine that had to fall back to another one, which and why.
     */
    default String description() {
        return getClass().getSimpleName();
    }
}
