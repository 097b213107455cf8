package io.kflex.conformance;

import io.kflex.conformance.TestFile.Expectation;
import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.Region;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.asm.Assembler;
import io.kflex.isa.asm.AssemblyException;
import io.kflex.runtime.Watchdog;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Runs conformance tests on engines, the way bpf_conformance does: r1 points to a writable copy
 * of the {@code -- mem} bytes (r1 = 0 without them), r2 holds their length, and helper 5 returns
 * its first argument. Each run is watched by a {@link Watchdog}: once the budget is spent the
 * invocation is asked to cancel, and a cancelled run counts as a fault.
 *
 * <p>A test expecting an error passes when its program does not assemble, decode or load, or
 * when the run faults or is cancelled; it fails when the program returns. Any other test passes
 * when r0 equals the expected result.
 */
public final class ConformanceRunner implements AutoCloseable {
    public static final Duration DEFAULT_BUDGET = Duration.ofSeconds(1);

    /** Helper number the suite calls; it returns r1 unchanged. */
    public static final int HELPER_ID = 5;


    public enum Status {
        PASSED, FAILED, SKIPPED;

        /** The lower-case name used in JSON ({@code passed}, ...). */
        public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** The verdict for one file on one engine; {@code message} is empty when there is nothing to add. */
    public record Result(Path file, String engine, Status status, String message) {
        public Result {
            Objects.requireNonNull(file);
            Objects.requireNonNull(engine);
            Objects.requireNonNull(status);
            message = message == null ? "" : message;
        }
    }

    private final List<Engine> engines;
    private final Duration budget;
    private final Bindings bindings;
    private final Duration grace;
    private final ExecutorService runs;
    private final Watchdog watchdog = new Watchdog();

    public ConformanceRunner(List<Engine> engines, Duration budget) {
        if (engines.isEmpty()) throw new IllegalArgumentException("no engine to run on");
        if (budget.isNegative() || budget.isZero()) throw new IllegalArgumentException("budget must be positive: " + budget);
        this.engines = List.copyOf(engines);
        this.budget = budget;
        // How long an engine may take to honour a cancellation before the run is abandoned: only an
        // engine that ignores cancellation ever waits it out, so it is generous enough that a
        // thread starved on a loaded machine is not mistaken for one.
        this.grace = Duration.ofMillis(Math.clamp(2 * budget.toMillis(), 1_000, 5_000));
        this.bindings = Bindings.of(HelperTable.builder()
                .add(HELPER_ID, "conformance_identity", (invocation, r1, r2, r3, r4, r5) -> r1)
                .build());
        // Runs happen on a worker so that the calling thread can watch the budget. Daemon
        // threads: an engine that ignores cancellation must not keep the JVM alive.
        this.runs = Executors.newCachedThreadPool(task -> {
            Thread t = new Thread(task, "kflex-conformance-run");
            t.setDaemon(true);
            return t;
        });
    }

    public List<Engine> engines() { return engines; }

    /** Every {@code .data} file: a directory stands for all files below it, in sorted order. */
    public static List<Path> collect(List<Path> paths) throws IOException {
        List<Path> files = new ArrayList<>();
        for (Path path : paths) {
            if (Files.isDirectory(path)) {
                try (Stream<Path> walk = Files.walk(path)) {
                    walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".data")).sorted().forEach(files::add);
                } catch (UncheckedIOException e) {
                    throw e.getCause(); // an unreadable directory below the root
                }
            } else if (Files.isRegularFile(path)) {
                files.add(path);
            } else {
                throw new IOException(path + ": no such file or directory");
            }
        }
        return files;
    }

    /** Runs one test on every engine; one result per engine. */
    public List<Result> run(TestFile test) {
        List<Result> results = new ArrayList<>();
        if (test.skipped()) {
            for (Engine engine : engines) results.add(new Result(test.path(), engine.name(), Status.SKIPPED, test.skipReason()));
            return results;
        }
        Program program = program(test);
        for (Engine engine : engines) {
            results.add(switch (program) {
                case Program.Broken b -> new Result(test.path(), engine.name(), Status.FAILED, b.problem());
                case Program.Rejected r -> rejected(test, engine, r.problem());
                case Program.Ready ready -> runOn(test, engine, ready.code());
            });
        }
        return results;
    }

    private sealed interface Program {
        record Ready(Code code) implements Program {}

        /** The program is invalid: a pass for a test expecting an error. */
        record Rejected(String problem) implements Program {}

        /** The test contradicts itself or kflex misreads it: always a failure. */
        record Broken(String problem) implements Program {}
    }

    private static Program program(TestFile test) {
        Code assembled = null;
        if (test.asm() != null) {
            try {
                assembled = Assembler.assemble(test.asm());
            } catch (AssemblyException e) {
                String problem = "does not assemble: line " + (test.asmFirstLine() - 1 + e.line()) + ": " + e.problem();
                // With raw words present, the raw program is the one that runs; the asm must agree with it.
                if (test.raw() == null) return new Program.Rejected(problem);
                return decode(test.raw()) instanceof Program.Ready ? new Program.Broken("-- asm " + problem) : new Program.Rejected(problem);
            }
        }
        if (test.raw() == null) return new Program.Ready(assembled);
        Program raw = decode(test.raw());
        if (assembled != null && raw instanceof Program.Ready ready) {
            long[] a = assembled.words();
            long[] r = ready.code().words();
            for (int i = 0; i < Math.max(a.length, r.length); i++) {
                if (i >= a.length || i >= r.length || a[i] != r[i]) {
                    return new Program.Broken(String.format("-- asm assembles to %s but -- raw has %s at slot %d",
                            i < a.length ? String.format("0x%016x", a[i]) : "nothing", i < r.length ? String.format("0x%016x", r[i]) : "nothing", i));
                }
            }
        }
        return raw;
    }

    private static Program decode(long[] words) {
        try {
            return new Program.Ready(Code.decode(words));
        } catch (InvalidInstructionException e) {
            return new Program.Rejected("does not decode: " + e.getMessage());
        }
    }

    private Result rejected(TestFile test, Engine engine, String problem) {
        return switch (test.expectation()) {
            case Expectation.Fails f -> pass(test, engine, problem, f);
            case Expectation.Returns r -> new Result(test.path(), engine.name(), Status.FAILED, problem);
        };
    }

    private Result runOn(TestFile test, Engine engine, Code code) {
        Executable executable;
        try {
            executable = engine.load(code, bindings);
        } catch (EngineException e) {
            return rejected(test, engine, "rejected by " + engine.name() + ": " + e.getMessage());
        } catch (RuntimeException e) {
            return new Result(test.path(), engine.name(), Status.FAILED, "engine error while loading: " + describe(e));
        }
        Outcome outcome;
        try {
            outcome = runWatched(executable, invocation(test.memory()));
        } catch (RunFailure e) {
            return new Result(test.path(), engine.name(), Status.FAILED, e.getMessage());
        }
        String failure = switch (outcome) {
            case Outcome.Returned r -> null;
            case Outcome.Faulted f -> "faulted at insn " + f.pc() + ": " + f.reason();
            case Outcome.Cancelled c -> "cancelled at insn " + c.pc() + ": " + c.reason();
        };
        return switch (test.expectation()) {
            case Expectation.Fails f -> outcome instanceof Outcome.Returned r
                    ? new Result(test.path(), engine.name(), Status.FAILED, "returned " + hex(r.r0()) + " but an error was expected" + expected(f))
                    : pass(test, engine, failure, f);
            case Expectation.Returns expected -> outcome instanceof Outcome.Returned r
                    ? (r.r0() == expected.value()
                            ? new Result(test.path(), engine.name(), Status.PASSED, "")
                            : new Result(test.path(), engine.name(), Status.FAILED, "returned " + hex(r.r0()) + ", expected " + hex(expected.value())))
                    : new Result(test.path(), engine.name(), Status.FAILED, failure);
        };
    }

    private static Invocation invocation(byte[] memory) {
        AddressSpace space = new AddressSpace();
        if (memory.length == 0) return new Invocation(space, 0, 0);
        long base = space.map(new Region(Region.Kind.MEMORY, MemorySegment.ofArray(memory.clone()), true, "mem"));
        return new Invocation(space, base, memory.length);
    }

    /** Thrown when a run cannot produce an outcome: the engine crashed or ignored cancellation. */
    private static final class RunFailure extends Exception {
        RunFailure(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Runs on a worker thread while the watchdog holds the budget: when it elapses the
     * invocation is asked to cancel. The calling thread waits for the budget plus a grace
     * period, so an engine that ignores the request is reported instead of hanging the run.
     */
    private Outcome runWatched(Executable executable, Invocation invocation) throws RunFailure {
        try (Watchdog.Watch watch = watchdog.watch(invocation, budget)) {
            Future<Outcome> run = runs.submit(() -> executable.run(invocation));
            try {
                return run.get(budget.plus(grace).toNanos(), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                run.cancel(true);
                throw new RunFailure("did not stop within " + format(grace) + " of being cancelled after its " + format(budget) + " budget");
            } catch (ExecutionException e) {
                throw new RunFailure("engine error: " + describe(e.getCause()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                run.cancel(true);
                throw new RunFailure("interrupted");
            }
        }
    }

    private static Result pass(TestFile test, Engine engine, String what, Expectation.Fails f) {
        return new Result(test.path(), engine.name(), Status.PASSED, what + expected(f));
    }

    private static String expected(Expectation.Fails f) {
        if (f.text().isEmpty()) return "";
        return " (expected " + (f.pattern() ? "error matching: " : "error: ") + f.text() + ")";
    }

    private static String describe(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    private static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }

    static String format(Duration d) {
        if (d.toMillis() < 1000 && d.toNanosPart() % 1_000_000 == 0) return d.toMillis() + "ms";
        if (d.toNanosPart() == 0 && d.toSeconds() < 60) return d.toSeconds() + "s";
        return d.toString();
    }

    @Override
    public void close() {
        watchdog.close();
        runs.shutdownNow();
    }
}
