package io.kflex.engine;

/** A prepared program; thread-safe, each call to {@link #run} is one independent invocation. */
public interface Executable {

    /**
     * Runs the program once. r1..r5 start as {@link Invocation#arguments()}; the outcome is never
     * an exception: faults and cancellations are values.
     */
    Outcome run(Invocation invocation);
}
