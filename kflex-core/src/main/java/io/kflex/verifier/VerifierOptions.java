package io.kflex.verifier;

import java.time.Duration;

/**
 * Verifier knobs. {@code logLevel}: 0 none, 1 errors and summary, 2 state at every instruction.
 * {@code maxProcessed}: Linux's complexity limit (1M). {@code timeBudget}: wall-clock budget.
 */
public record VerifierOptions(int logLevel, long maxProcessed, Duration timeBudget) {
    public static final long DEFAULT_MAX_PROCESSED = 1_000_000;
    public static final Duration DEFAULT_TIME_BUDGET = Duration.ofSeconds(30);

    public VerifierOptions {
        if (logLevel < 0 || logLevel > 2) throw new IllegalArgumentException("log level " + logLevel + " not in 0..2");
        if (maxProcessed <= 0) throw new IllegalArgumentException("instruction limit must be positive");
        if (timeBudget == null || timeBudget.isNegative() || timeBudget.isZero()) throw new IllegalArgumentException("time budget must be positive");
    }

    public static VerifierOptions defaults() { return new VerifierOptions(1, DEFAULT_MAX_PROCESSED, DEFAULT_TIME_BUDGET); }

    public VerifierOptions withLogLevel(int level) { return new VerifierOptions(level, maxProcessed, timeBudget); }

    public VerifierOptions withMaxProcessed(long max) { return new VerifierOptions(logLevel, max, timeBudget); }

    public VerifierOptions withTimeBudget(Duration budget) { return new VerifierOptions(logLevel, maxProcessed, budget); }
}
