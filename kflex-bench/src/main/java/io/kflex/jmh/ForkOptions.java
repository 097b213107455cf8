package io.kflex.jmh;

/** The JVM options every benchmark fork runs with: those of {@code ./kflex} that matter to what is measured. */
final class ForkOptions {
    private ForkOptions() {}

    /** Heaps are FFM mappings. */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";

    /** As {@code ./kflex} sets it: a generated method over C1's limit must not be left at tier 2 (docs/jit.md). */
    static final String TIER3_DELAY = "-XX:Tier3DelayOn=100000";
}
