package io.kflex.cli;

import io.kflex.helpers.Kfuncs;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import io.kflex.verifier.VerificationException;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code kflex verify OBJ [--program NAME] [--log-level N]}: the verifier's verdict per program
 * with its statistics on stdout, the verifier log on stderr. Exit 1 when any program is rejected.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Verifies the programs of an eBPF object file.")
final class VerifyCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Mixin
    ProgramSelection.Options target;

    @Option(names = "--log-level", paramLabel = "N", description = "0 = none, 1 = errors and summary (default), 2 = state per instruction.")
    int logLevel = 1;

    @Option(names = "--json", description = "One JSON object per program on stdout.")
    boolean json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (logLevel < 0 || logLevel > 2) {
            err.println("kflex: --log-level must be 0, 1 or 2");
            return Main.USAGE;
        }
        ProgramSelection selection;
        try {
            selection = target.open(Kfuncs.resolver());
        } catch (LoadException e) {
            err.println("kflex: " + e.getMessage());
            return Main.USAGE;
        }
        boolean allAccepted = true;
        for (Program p : selection.programs()) {
            VerifierOptions options = VerifierOptions.defaults().withLogLevel(Math.max(logLevel, 1)).withSourceLines(p.sourceLines());
            Map<String, Object> result = new LinkedHashMap<>();
            result.put("program", p.name());
            String log;
            long started = System.nanoTime();
            try {
                VerifiedProgram v = Verifier.verify(p.code(), p.type(), selection.object().mapSpecs(), options);
                long elapsed = System.nanoTime() - started;
                result.put("accepted", true);
                result.put("error", null);
                result.put("processed_insns", v.processedInstructions());
                result.put("guards_needed", v.guardsNeeded());
                result.put("guards_elided", v.guardsElided());
                result.put("cancellation_points", v.cancellationPoints().size());
                putDuration(result, elapsed);
                log = v.log();
            } catch (VerificationException e) {
                long elapsed = System.nanoTime() - started;
                allAccepted = false;
                result.put("accepted", false);
                result.put("error", e.getMessage());
                putDuration(result, elapsed);
                log = e.log();
            }
            if (logLevel > 0 && log != null && !log.isBlank()) err.print(log.endsWith("\n") ? log : log + "\n");
            if (json) {
                out.println(Json.object(result));
            } else if (Boolean.TRUE.equals(result.get("accepted"))) {
                out.printf("%s: accepted (%s insns processed, %s cancellation points, heap guards %s needed / %s elided, %s ms)%n",
                        p.name(), result.get("processed_insns"), result.get("cancellation_points"),
                        result.get("guards_needed"), result.get("guards_elided"), result.get("duration_ms"));
            } else {
                out.printf("%s: rejected: %s%n", p.name(), result.get("error"));
            }
        }
        return allAccepted ? Main.OK : Main.FAILED;
    }

    /**
     * Wall-clock time of this verification: nanoseconds, and milliseconds with three decimals.
     * A single cold run in a fresh JVM includes class loading and interpretation of the
     * verifier itself, so it overstates the warm figure (docs/verifier.md has those).
     */
    private static void putDuration(Map<String, Object> result, long nanos) {
        result.put("verify_ns", nanos);
        result.put("duration_ms", java.math.BigDecimal.valueOf(nanos, 6).setScale(3, java.math.RoundingMode.HALF_UP));
    }
}
