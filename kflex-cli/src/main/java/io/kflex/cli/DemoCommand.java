package io.kflex.cli;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Engines;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ExtensionObject;
import io.kflex.helpers.Kfuncs;
import io.kflex.loader.Program;
import io.kflex.runtime.Watchdog;
import io.kflex.verifier.VerificationException;
import io.kflex.verifier.VerifiedProgram;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A short end-to-end showcase that grows with the project: load and verify the committed
 * extension objects, run the same program on every engine, and cancel a runaway extension.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Runs the end-to-end showcase.")
final class DemoCommand implements Callable<Integer> {

    /** A 64-bit hash-mix loop: r0 = mix of 0..r1-1 (the loop has no static bound the verifier can use). */
    private static final String HASH_MIX = """
            mov %r0, 0x12345
            mov %r2, 0
            loop:
            jge %r2, %r1, done
            xor %r0, %r2
            lddw %r3, 0x9e3779b97f4a7c15
            mul %r0, %r3
            mov %r3, %r0
            rsh %r3, 29
            xor %r0, %r3
            add %r2, 1
            ja loop
            done:
            exit
            """;

    private static final String RUNAWAY = """
            mov %r0, 0
            spin:
            add %r0, 1
            ja spin
            """;

    @Spec
    CommandSpec spec;

    @Option(names = "--extensions", description = "Directory of extension objects (default: extensions/objects of the checkout).")
    Path extensions;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.println("== 1. Load and verify the committed extension objects");
        Path dir = extensions != null ? extensions : Path.of(System.getProperty("kflex.home", "."), "extensions", "objects");
        if (Files.isDirectory(dir)) {
            verifyObjects(dir, out);
        } else {
            out.println("   (no objects at " + dir + ")");
        }

        out.println();
        out.println("== 2. The same program on every engine (hash-mix loop, 1,000,000 iterations)");
        Code mix = Assembler.assemble(HASH_MIX);
        for (Engine engine : Engines.available()) {
            Executable exe = engine.load(mix, Bindings.of(HelperTable.empty()));
            long[] times = new long[7];
            Outcome last = null;
            for (int i = 0; i < times.length; i++) {
                long start = System.nanoTime();
                last = exe.run(new Invocation(new AddressSpace(), 1_000_000));
                times[i] = System.nanoTime() - start;
            }
            Arrays.sort(times);
            out.printf("   %-12s %s   median %.2f ms (%.2f ns/iteration)%n", engine.name(), describe(last),
                    times[times.length / 2] / 1e6, times[times.length / 2] / 1e6);
        }

        out.println();
        out.println("== 3. A runaway extension is cancelled; the host carries on");
        Code runaway = Assembler.assemble(RUNAWAY);
        try (Watchdog watchdog = new Watchdog()) {
            for (Engine engine : Engines.available()) {
                Executable exe = engine.load(runaway, Bindings.of(HelperTable.empty()));
                Invocation invocation = new Invocation(new AddressSpace());
                long start = System.nanoTime();
                Outcome outcome;
                try (Watchdog.Watch watch = watchdog.watch(invocation, Duration.ofMillis(100))) {
                    outcome = exe.run(invocation);
                }
                out.printf("   %-12s %s after %d ms%n", engine.name(), describe(outcome), (System.nanoTime() - start) / 1_000_000);
            }
        }
        return Main.OK;
    }

    private static void verifyObjects(Path dir, PrintWriter out) throws Exception {
        List<Path> objects;
        try (Stream<Path> files = Files.list(dir)) {
            objects = files.filter(p -> p.toString().endsWith(".o")).sorted().toList();
        }
        for (Path path : objects) {
            ExtensionObject object;
            try {
                object = ExtensionObject.open(path, Kfuncs.resolver());
            } catch (Exception e) {
                out.printf("   %-26s not loaded: %s%n", path.getFileName(), e.getMessage());
                continue;
            }
            for (Program program : object.programs()) {
                String verdict;
                try {
                    VerifiedProgram verified = Verifier.verify(program.code(), program.type(), object.mapSpecs(), VerifierOptions.defaults());
                    verdict = String.format("accepted  %5d insns processed, %d cancellation point(s), heap guards %d needed / %d elided",
                            verified.processedInstructions(), verified.cancellationPoints().size(), verified.guardsNeeded(), verified.guardsElided());
                } catch (VerificationException e) {
                    verdict = "rejected  " + firstLine(e.getMessage());
                }
                out.printf("   %-26s %-22s %s%n", path.getFileName(), program.name(), verdict);
            }
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String describe(Outcome outcome) {
        return switch (outcome) {
            case Outcome.Returned r -> "returned 0x" + Long.toHexString(r.r0());
            case Outcome.Faulted f -> "faulted at insn " + f.pc() + ": " + f.reason();
            case Outcome.Cancelled c -> "cancelled at insn " + c.pc() + " (" + c.reason() + ")";
        };
    }
}
