package io.kflex.runtime;

import java.time.Duration;
import java.util.Objects;

/**
 * One {@code BPF_PROG_TEST_RUN}-style request: the packet ({@code dataIn}, for packet programs)
 * and context ({@code ctxIn}, for {@code syscall} programs) to run with, how many times to run,
 * and the time budget of each run (null = the runtime's default).
 */
public record TestRun(byte[] dataIn, byte[] ctxIn, int repeat, Duration budget) {
    public TestRun {
        dataIn = dataIn == null ? new byte[0] : dataIn.clone();
        ctxIn = ctxIn == null ? new byte[0] : ctxIn.clone();
        if (repeat < 1) throw new IllegalArgumentException("repeat must be at least 1, not " + repeat);
        if (budget != null && (budget.isNegative() || budget.isZero())) throw new IllegalArgumentException("budget must be positive");
    }

    public static TestRun once() { return new TestRun(null, null, 1, null); }

    public TestRun withData(byte[] data) { return new TestRun(data, ctxIn, repeat, budget); }

    public TestRun withContext(byte[] ctx) { return new TestRun(dataIn, ctx, repeat, budget); }

    public TestRun withRepeat(int n) { return new TestRun(dataIn, ctxIn, n, budget); }

    public TestRun withBudget(Duration d) { return new TestRun(dataIn, ctxIn, repeat, Objects.requireNonNull(d)); }

    @Override public byte[] dataIn() { return dataIn.clone(); }

    @Override public byte[] ctxIn() { return ctxIn.clone(); }
}
