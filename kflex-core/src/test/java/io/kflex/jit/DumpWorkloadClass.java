package io.kflex.jit;

import io.kflex.bench.KflexTarget;
import io.kflex.bench.Workloads;
import java.nio.file.Files;
import java.nio.file.Path;

/** Describes the class the JIT generates for a benchmark workload's program and writes it to a file (optional second argument), for javap. */
public final class DumpWorkloadClass {
    private DumpWorkloadClass() {}

    public static void main(String[] args) throws Exception {
        var w = Workloads.named(args[0]).orElseThrow();
        try (KflexTarget t = KflexTarget.open(w, Path.of("extensions/objects"), new JitEngine())) {
            JitExecutable jit = (JitExecutable) t.program().executable();
            System.out.println(w.name() + ": " + jit.hostAccesses() + " direct host-region accesses, " + jit.stackBytesToZero()
                    + " stack bytes zeroed per run, " + jit.description());
            if (args.length > 1) Files.write(Path.of(args[1]), jit.classBytes());
        }
    }
}
