package io.kflex.cli;

import io.kflex.conformance.ConformanceFormatException;
import io.kflex.conformance.ConformanceRunner;
import io.kflex.conformance.ConformanceRunner.Result;
import io.kflex.conformance.ConformanceRunner.Status;
import io.kflex.conformance.TestFile;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code kflex conformance PATH...}: runs bpf_conformance {@code .data} files on the engines and
 * prints one verdict per file and engine, then a summary. Every file is parsed before anything
 * runs, so a malformed file stops the command (exit 2) instead of being reported as a failure.
 */
@Command(
        name = "conformance",
        mixinStandardHelpOptions = true,
        description = {
            "Runs eBPF conformance tests (.data files in the bpf_conformance format).",
            "r1 points to the -- mem bytes, r2 holds their length, helper 5 returns r1.",
        },
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:every test passed (or was skipped)", "1:a test failed", "2:usage error, unreadable path or malformed file"})
public final class ConformanceCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "PATH", description = "A .data file, or a directory: every .data file below it.")
    List<Path> paths;

    @Option(names = "--engine", paramLabel = "ENGINE", defaultValue = "both",
            description = "interpreter, jit, or both (every engine there is; the default).")
    String engine;

    @Option(names = "--json", description = "One JSON object per result, then a summary object.")
    boolean json;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "1s", converter = DurationConverter.class,
            description = "Budget per run before it is cancelled (a fault), e.g. 500ms, 2s. Default: ${DEFAULT-VALUE}.")
    Duration timeout;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();

        List<TestFile> tests = new ArrayList<>();
        Map<Path, String> names = new LinkedHashMap<>();
        try {
            for (Path root : paths) {
                for (Path file : ConformanceRunner.collect(List.of(root))) {
                    tests.add(TestFile.read(file));
                    names.put(file, Files.isDirectory(root) ? root.relativize(file).toString() : file.toString());
                }
            }
        } catch (IOException e) {
            err.println("kflex conformance: cannot read " + describe(e));
            return Main.USAGE;
        } catch (ConformanceFormatException e) {
            err.println("kflex conformance: malformed test file " + e.getMessage());
            return Main.USAGE;
        }
        if (tests.isEmpty()) {
            err.println("kflex conformance: no .data files in " + paths.stream().map(Path::toString).collect(Collectors.joining(" ")));
            return Main.USAGE;
        }

        List<Engine> engines;
        try {
            engines = engines();
        } catch (UsageError e) {
            err.println("kflex conformance: " + e.getMessage());
            return Main.USAGE;
        }

        Map<Status, Integer> counts = new EnumMap<>(Status.class);
        for (Status s : Status.values()) counts.put(s, 0);
        try (ConformanceRunner runner = new ConformanceRunner(engines, timeout)) {
            for (TestFile test : tests) {
                for (Result result : runner.run(test)) {
                    counts.merge(result.status(), 1, Integer::sum);
                    out.println(json ? jsonLine(result, names.get(result.file())) : textLine(result, names.get(result.file())));
                }
                out.flush();
            }
        }
        int passed = counts.get(Status.PASSED);
        int failed = counts.get(Status.FAILED);
        int skipped = counts.get(Status.SKIPPED);
        if (json) {
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("passed", passed);
            summary.put("failed", failed);
            summary.put("skipped", skipped);
            summary.put("engines", engines.stream().map(Engine::name).collect(Collectors.joining(",")));
            out.println(Json.object(summary));
        } else {
            out.println(passed + " passed, " + failed + " failed" + (skipped > 0 ? ", " + skipped + " skipped" : ""));
        }
        out.flush();
        return failed > 0 ? Main.FAILED : Main.OK;
    }

    private List<Engine> engines() throws UsageError {
        List<Engine> available = Engines.available();
        String names = available.isEmpty() ? "none" : available.stream().map(Engine::name).collect(Collectors.joining(", "));
        if (engine.equals("both") || engine.equals("all")) {
            if (available.isEmpty()) throw new UsageError("no engine is available in this build");
            return available;
        }
        if (!engine.equals("interpreter") && !engine.equals("jit")) {
            throw new UsageError("unknown engine '" + engine + "' (choose interpreter, jit or both)");
        }
        return available.stream().filter(e -> e.name().equals(engine)).findFirst().map(List::of)
                .orElseThrow(() -> new UsageError("engine '" + engine + "' is not available in this build (available: " + names + ")"));
    }

    private static String textLine(Result r, String name) {
        String verdict = switch (r.status()) {
            case PASSED -> "PASS";
            case FAILED -> "FAIL";
            case SKIPPED -> "SKIP";
        };
        return String.format("%-4s  %-11s  %s%s", verdict, r.engine(), name, r.message().isEmpty() ? "" : ": " + r.message());
    }

    private static String jsonLine(Result r, String name) {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("file", name);
        o.put("engine", r.engine());
        o.put("status", r.status().label());
        o.put("message", r.message());
        return Json.object(o);
    }

    private static String describe(IOException e) {
        return switch (e) {
            case java.nio.file.AccessDeniedException denied -> denied.getFile() + ": permission denied";
            case java.nio.file.NoSuchFileException missing -> missing.getFile() + ": no such file or directory";
            default -> e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        };
    }

    private static final class UsageError extends Exception {
        UsageError(String message) {
            super(message, null, false, false);
        }
    }
}
