package io.kflex.jmh;

/** The JVM options every benchmark fork runs with: those of {@code ./kflex} that matter to what is measured. */
final class ForkOptions {
    private ForkOptions() {}

    /** Heaps are FFM mappings. */
    static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";
}
