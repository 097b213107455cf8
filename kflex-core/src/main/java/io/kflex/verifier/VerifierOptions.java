package io.kflex.verifier;

import java.time.Duration;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Verifier knobs. {@code logLevel}: 0 none, 1 errors and summary, 2 state at every instruction.
 * {@code maxProcessed}: Linux's complexity limit (1M). {@code timeBudget}: wall-clock budget.
 * {@code sourceLines}: source text by the first instruction slot of each line (from BTF line
 * info, when the object file has it), quoted in messages and the log. {@code stackLiveness}:
 * whether pruning ignores stack slots that are never read again (default on).
 */
public record VerifierOptions(int logLevel, long maxProcessed, Duration timeBudget, NavigableMap<Integer, String> sourceLines,
                              boolean stackLiveness) {
    public static final long DEFAULT_MAX_PROCESSED = 1_000_000;
    public static final Duration DEFAULT_TIME_BUDGET = Duration.ofSeconds(30);

    public VerifierOptions {
        if (logLevel < 0 || logLevel > 2) throw new IllegalArgumentException("log level " + logLevel + " not in 0..2");
        if (maxProcessed <= 0) throw new IllegalArgumentException("instruction limit must be positive");
        if (timeBudget == null || timeBudget.isNegative() || timeBudget.isZero()) throw new IllegalArgumentException("time budget must be positive");
        sourceLines = sourceLines == null ? new TreeMap<>() : java.util.Collections.unmodifiableNavigableMap(new TreeMap<>(sourceLines));
    }

    public VerifierOptions(int logLevel, long maxProcessed, Duration timeBudget) {
        this(logLevel, maxProcessed, timeBudget, null, true);
    }

    public VerifierOptions(int logLevel, long maxProcessed, Duration timeBudget, NavigableMap<Integer, String> sourceLines) {
        this(logLevel, maxProcessed, timeBudget, sourceLines, true);
    }

    public static VerifierOptions defaults() { return new VerifierOptions(1, DEFAULT_MAX_PROCESSED, DEFAULT_TIME_BUDGET); }

    public VerifierOptions withLogLevel(int level) { return new VerifierOptions(level, maxProcessed, timeBudget, sourceLines, stackLiveness); }

    public VerifierOptions withMaxProcessed(long max) { return new VerifierOptions(logLevel, max, timeBudget, sourceLines, stackLiveness); }

    public VerifierOptions withTimeBudget(Duration budget) { return new VerifierOptions(logLevel, maxProcessed, budget, sourceLines, stackLiveness); }

    /** Source lines by the slot where each starts, e.g. {@code 12 -> "prog.c:40: if (ip + 1 > end)"}. */
    public VerifierOptions withSourceLines(Map<Integer, String> lines) {
        return new VerifierOptions(logLevel, maxProcessed, timeBudget, new TreeMap<>(lines), stackLiveness);
    }

    /**
     * With {@code false}, state comparison looks at every stack slot instead of only the live
     * ones: slower, never less safe; for measuring what slot liveness saves.
     */
    public VerifierOptions withStackLiveness(boolean enabled) {
        return new VerifierOptions(logLevel, maxProcessed, timeBudget, sourceLines, enabled);
    }

    /** The source line slot {@code pc} belongs to, or null. */
    public String sourceLineAt(int pc) {
        var e = sourceLines.floorEntry(pc);
        return e == null ? null : e.getValue();
    }
}
