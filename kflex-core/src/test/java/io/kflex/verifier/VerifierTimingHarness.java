package io.kflex.verifier;

import io.kflex.helpers.Kfuncs;
import io.kflex.loader.ExtensionObject;
import io.kflex.loader.Program;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Measures how long the verifier takes on every committed extension object. It asserts
 * nothing about time (the machine it runs on decides that); it prints a Markdown table — the
 * one in docs/verifier.md — with the processed instruction count and stored states of each
 * program and the median, minimum and maximum wall-clock time of {@code N} verifications after
 * a warm-up that lets the JIT compile the verifier.
 *
 * <p>Run it with
 * {@code ./mvnw -q -B -o test -pl kflex-core -Dtest=VerifierTimingHarness -Dkflex.verifier.timing=true}
 * (optionally {@code -Dkflex.verifier.timing.runs=N}, default 31), or through {@link #main}.
 */
class VerifierTimingHarness {

    /** One program's figures. */
    record Row(String object, String program, int slots, long processed, long processedWithoutSlotLiveness, long states, long medianNs,
               long minNs, long maxNs) {}

    @Test
    @EnabledIfSystemProperty(named = "kflex.verifier.timing", matches = "true")
    void timeEveryCommittedProgram() throws Exception {
        int runs = Integer.getInteger("kflex.verifier.timing.runs", 31);
        System.out.println(table(measure(ExtensionObjectsVerifyTest.objects(), runs)));
    }

    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : ExtensionObjectsVerifyTest.objects();
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 31;
        System.out.println(table(measure(dir, runs)));
    }

    static List<Row> measure(Path objects, int runs) throws Exception {
        record Target(String object, ExtensionObject obj, Program program) {}
        List<Target> targets = new ArrayList<>();
        try (Stream<Path> files = Files.list(objects)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".o")).sorted().toList()) {
                ExtensionObject obj = ExtensionObject.open(f, Kfuncs.resolver());
                for (Program p : obj.programs()) targets.add(new Target(f.getFileName().toString(), obj, p));
            }
        }
        VerifierOptions options = VerifierOptions.defaults();
        // Warm-up: every program, repeatedly, so the measured runs see compiled verifier code.
        for (int round = 0; round < 20; round++) {
            for (Target t : targets) verifyOnce(t.program, t.obj, options);
        }
        List<Row> rows = new ArrayList<>();
        for (Target t : targets) {
            long[] times = new long[runs];
            long processed = -1, states = -1;
            for (int i = 0; i < runs; i++) {
                long start = System.nanoTime();
                VerifiedProgram v = verifyOnce(t.program, t.obj, options);
                times[i] = System.nanoTime() - start;
                if (v != null) {
                    processed = v.processedInstructions();
                    states = storedStates(v.log());
                }
            }
            Arrays.sort(times);
            VerifiedProgram plain = verifyOnce(t.program, t.obj, options.withStackLiveness(false));
            rows.add(new Row(t.object, t.program.name(), t.program.code().length(), processed, plain == null ? -1 : plain.processedInstructions(),
                    states, times[runs / 2], times[0], times[runs - 1]));
        }
        return rows;
    }

    private static VerifiedProgram verifyOnce(Program p, ExtensionObject obj, VerifierOptions options) {
        try {
            return Verifier.verify(p.code(), p.type(), obj.mapSpecs(), options);
        } catch (VerificationException rejected) {
            return null; // rejected on purpose (sk_leak): timed all the same
        }
    }

    /** {@code total_states N} from the summary line of the log. */
    private static long storedStates(String log) {
        int at = log.indexOf("total_states ");
        if (at < 0) return -1;
        int end = at + "total_states ".length();
        while (end < log.length() && Character.isDigit(log.charAt(end))) end++;
        return Long.parseLong(log.substring(at + "total_states ".length(), end));
    }

    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder("| object | program | slots | processed insns | without slot liveness | states | median ms | min ms | max ms |\n")
                .append("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (Row r : rows) {
            b.append(String.format("| `%s` | `%s` | %d | %s | %s | %s | %.3f | %.3f | %.3f |%n", r.object, r.program, r.slots,
                    r.processed < 0 ? "rejected" : Long.toString(r.processed),
                    r.processedWithoutSlotLiveness < 0 ? "rejected" : Long.toString(r.processedWithoutSlotLiveness),
                    r.states < 0 ? "-" : Long.toString(r.states),
                    r.medianNs / 1e6, r.minNs / 1e6, r.maxNs / 1e6));
        }
        return b.toString();
    }
}
