package io.kflex.jit;

import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workloads;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes the class the JIT generates for a benchmark workload's program to a file, for javap. */
public final class DumpWorkloadClass {
    private DumpWorkloadClass() {}

    public static void main(String[] args) throws Exception {
        var w = Workloads.named(args[0]).orElseThrow();
        try (KflexTarget t = KflexTarget.open(w, Path.of("extensions/objects"), new JitEngine())) {
            Files.write(Path.of(args[1]), ((JitExecutable) t.program().executable()).classBytes());
        }
    }
}
