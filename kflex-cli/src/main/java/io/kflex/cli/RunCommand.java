package io.kflex.cli;

import io.kflex.engine.EngineException;
import io.kflex.engine.HeldResources;
import io.kflex.engine.Outcome;
import io.kflex.loader.LoadException;
import io.kflex.runtime.CancellationPolicy;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import io.kflex.verifier.VerificationException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code kflex run OBJ --program NAME [--program NAME2 ...]}: like {@code bpftool prog run}. Each
 * program is verified, prepared by the engine and run {@code --repeat} times in the given order,
 * all against the same maps (and heap) of one opened object; a {@code syscall} program gets
 * {@code --ctx-in} as its context, a packet program {@code --data-in} as its frame. Prints the
 * return value, the median duration of one run, and whether a run was cancelled or faulted. A run
 * that exceeds {@code --timeout} is cancelled at its next cancellation point: the report names the
 * point (instruction and source line) and what the object table released, and the programs after
 * it still run against the same maps and heap (the policy is KEEP). Exit 1 when a program is
 * rejected, faults or is cancelled.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Runs programs of an eBPF object file once or repeatedly (like bpftool prog run).")
final class RunCommand implements Callable<Integer> {
    /** Budget of one run unless --timeout says otherwise: generous, a test run is not a hook. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "OBJ", description = "The eBPF object file.")
    Path object;

    @Option(names = "--program", paramLabel = "NAME", required = true,
            description = "A program to run; repeat to run several in order against the same maps.")
    List<String> programs;

    @Option(names = "--data-in", paramLabel = "FILE", description = "The packet for packet programs (an Ethernet frame).")
    Path dataIn;

    @Option(names = "--ctx-in", paramLabel = "FILE", description = "The context for syscall programs.")
    Path ctxIn;

    @Option(names = "--data-out", paramLabel = "FILE", description = "Where to write the last packet program's output frame.")
    Path dataOut;

    @Option(names = "--ctx-out", paramLabel = "FILE", description = "Where to write the last syscall program's context after it ran.")
    Path ctxOut;

    @Option(names = "--repeat", paramLabel = "N", description = "Runs per program (default 1); the duration is the median.")
    int repeat = 1;

    @Option(names = "--engine", paramLabel = "E", description = "interpreter or jit (default).")
    String engine = "jit";

    @Option(names = "--timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "Budget of one run, e.g. 10ms or 2s (default 1s); an exceeded run is cancelled.")
    Duration timeout = DEFAULT_TIMEOUT;

    @Option(names = "--checked-heap", description = "Check every heap access against the allocated pages (an address sanitizer for the heap).")
    boolean checkedHeap;

    @Option(names = "--json", description = "One JSON object per program on stdout.")
    boolean json;

    /** Largest --ctx-in, as Linux's test run of syscall programs takes (U16_MAX). */
    static final int MAX_CONTEXT = 65_535;

    /**
     * The file's bytes, reading no more than {@code limit} + 1 of them: an input can be a device
     * or a pipe that never ends ({@code /dev/zero}), which must give an error, not exhaust memory.
     */
    static byte[] readAtMost(Path file, int limit) throws IOException {
        try (var in = Files.newInputStream(file)) {
            byte[] bytes = in.readNBytes(limit + 1);
            if (bytes.length > limit) throw new IllegalArgumentException(file + " is larger than the " + limit + "-byte limit");
            return bytes;
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (repeat < 1) {
            err.println("kflex: --repeat must be at least 1");
            return Main.USAGE;
        }
        if (!engine.equals("jit") && !engine.equals("interpreter")) {
            err.println("kflex: unknown engine '" + engine + "' (interpreter or jit)");
            return Main.USAGE;
        }
        byte[] data, ctx;
        try {
            data = dataIn == null ? new byte[0] : readAtMost(dataIn, io.kflex.runtime.PacketBuffer.MAX_FRAME);
            ctx = ctxIn == null ? new byte[0] : readAtMost(ctxIn, MAX_CONTEXT);
        } catch (IOException e) {
            err.println("kflex: cannot read input: " + e.getMessage());
            return Main.USAGE;
        } catch (IllegalArgumentException e) {
            err.println("kflex: " + e.getMessage());
            return Main.USAGE;
        }
        // A test run keeps programs loaded after a cancellation so that the following ones still run.
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(timeout).policy(CancellationPolicy.KEEP)
                     .heapPolicy(c -> c.withChecked(checkedHeap)).build();
             Extension extension = runtime.open(object)) {
            List<LoadedProgram> loaded = new ArrayList<>();
            for (String name : programs) {
                try {
                    loaded.add(extension.load(name));
                } catch (VerificationException e) {
                    err.println(e.log());
                    Map<String, Object> rejected = new LinkedHashMap<>();
                    rejected.put("program", name);
                    rejected.put("accepted", false);
                    rejected.put("error", e.getMessage());
                    report(out, rejected, name + ": rejected: " + e.getMessage());
                    return Main.FAILED;
                } catch (EngineException e) {
                    err.println("kflex: " + name + ": " + e.getMessage());
                    return Main.FAILED;
                }
            }
            boolean allReturned = true;
            byte[] lastFrame = null, lastContext = null;
            TestRun request = new TestRun(data, ctx, repeat, timeout);
            for (LoadedProgram program : loaded) {
                TestRunResult result = program.testRun(request);
                if (result.dataOut().length > 0 || program.contextLayout().shadow("data") != null) lastFrame = result.dataOut();
                if (result.ctxOut().length > 0) lastContext = result.ctxOut();
                allReturned &= result.outcome() instanceof Outcome.Returned;
                print(out, program, result);
            }
            if (!write(err, dataOut, lastFrame) || !write(err, ctxOut, lastContext)) return Main.USAGE;
            return allReturned ? Main.OK : Main.FAILED;
        } catch (LoadException e) {
            err.println("kflex: " + e.getMessage());
            return Main.USAGE;
        } catch (IllegalArgumentException e) {
            err.println("kflex: " + e.getMessage());
            return Main.USAGE;
        }
    }

    private void print(PrintWriter out, LoadedProgram program, TestRunResult r) {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("program", program.name());
        json.put("retval", r.retval());
        json.put("duration_ns", r.durationNs());
        json.put("runs", r.runs());
        json.put("cancelled", r.cancelled());
        json.put("cancel_point", r.cancelled() ? r.cancelPoint() : null);
        // "released" names kinds (the stable contract), "released_resources" which ones exactly.
        json.put("released", r.released().stream().map(HeldResources::kindOf).toList());
        json.put("cancel_line", r.cancelled() ? program.verifiedSourceLine(r.cancelPoint()) : null);
        json.put("cancel_reason", r.outcome() instanceof Outcome.Cancelled c ? c.reason() : null);
        json.put("released_resources", r.released());
        json.put("fault", r.outcome() instanceof Outcome.Faulted f ? f.reason() : null);
        json.put("fault_insn", r.outcome() instanceof Outcome.Faulted f ? f.pc() : null);
        StringBuilder text = new StringBuilder(program.name()).append(": ");
        switch (r.outcome()) {
            case Outcome.Returned ret -> text.append("retval ").append(ret.r0()).append(String.format(" (0x%x)", ret.r0()));
            case Outcome.Faulted f -> text.append("faulted at insn ").append(f.pc()).append(where(program, f.pc())).append(": ").append(f.reason());
            case Outcome.Cancelled c -> text.append("cancelled at insn ").append(c.pc()).append(where(program, c.pc())).append(": ").append(c.reason())
                    .append("; released ").append(c.released().isEmpty() ? "nothing" : String.join(", ", c.released()));
        }
        text.append(", duration ").append(r.durationNs()).append(" ns");
        if (r.runs() > 1) text.append(" (median of ").append(r.runs()).append(" runs)");
        report(out, json, text.toString());
    }

    private static String where(LoadedProgram program, int pc) {
        String line = pc >= 0 ? program.verifiedSourceLine(pc) : null;
        return line == null ? "" : " (" + line + ")";
    }

    private void report(PrintWriter out, Map<String, ?> jsonObject, String text) {
        out.println(json ? Json.object(jsonObject) : text);
    }

    private static boolean write(PrintWriter err, Path path, byte[] bytes) {
        if (path == null) return true;
        try {
            Files.write(path, bytes == null ? new byte[0] : bytes);
            return true;
        } catch (IOException e) {
            err.println("kflex: cannot write " + path + ": " + e.getMessage());
            return false;
        }
    }
}
