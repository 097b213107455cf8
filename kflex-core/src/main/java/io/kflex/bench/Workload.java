package io.kflex.bench;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One benchmark: an extension program run on a fixed input, and the same algorithm written in
 * plain Java. Times are reported per run and per {@link #unit()} (an iteration of the loop, a node
 * of the list, a request), of which one run does {@link #unitsPerRun()}.
 *
 * @param name          the suite name ({@code kflex bench --suite NAME})
 * @param description   one line for tables
 * @param unit          what {@link #unitsPerRun()} counts
 * @param object        the object file's name in {@code extensions/objects}
 * @param program       the program timed
 * @param ctxIn         the context of a {@code syscall} program (empty otherwise)
 * @param dataIn        the frame of a packet program (empty otherwise)
 * @param expectedRetval what every timed run must return (checked, so a broken run is never timed)
 * @param setupRuns     programs of the same object run once before timing (e.g. building a list)
 * @param mapFills      map entries the host stores before timing
 * @param arenaPages    pages of the object's heap (Linux needs a pre-mapped arena of that size), 0 if none
 * @param plainJava     a fresh plain-Java implementation of the same algorithm on the same input
 * @param linuxNote     why Linux cannot run the object (it uses KFlex-only kfuncs, say), or null
 *                      when {@code linux.py bench} can time it
 */
public record Workload(String name, String description, String unit, long unitsPerRun,
                       String object, String program, byte[] ctxIn, byte[] dataIn, long expectedRetval,
                       List<SetupRun> setupRuns, List<MapFill> mapFills, int arenaPages,
                       Supplier<PlainJava> plainJava, String linuxNote) {

    /** A program of the workload's object run once before timing, with its context. */
    public record SetupRun(String program, byte[] ctxIn, long expectedRetval) {}

    /** Entries ({@code key, value} byte arrays) the host stores in map {@code map} before timing. */
    public record MapFill(String map, List<Entry> entries) {
        public record Entry(byte[] key, byte[] value) {}
    }

    /** The algorithm in plain Java: one call is one run; returns what the program returns. */
    @FunctionalInterface
    public interface PlainJava {
        long run();
    }

    /** A workload that Linux runs too. */
    public Workload(String name, String description, String unit, long unitsPerRun,
                    String object, String program, byte[] ctxIn, byte[] dataIn, long expectedRetval,
                    List<SetupRun> setupRuns, List<MapFill> mapFills, int arenaPages,
                    Supplier<PlainJava> plainJava) {
        this(name, description, unit, unitsPerRun, object, program, ctxIn, dataIn, expectedRetval, setupRuns, mapFills,
                arenaPages, plainJava, null);
    }

    public Workload {
        Objects.requireNonNull(name);
        if (unitsPerRun < 1) throw new IllegalArgumentException("unitsPerRun must be positive");
        ctxIn = ctxIn.clone();
        dataIn = dataIn.clone();
        setupRuns = List.copyOf(setupRuns);
        mapFills = List.copyOf(mapFills);
    }

    @Override public byte[] ctxIn() { return ctxIn.clone(); }

    @Override public byte[] dataIn() { return dataIn.clone(); }
}
