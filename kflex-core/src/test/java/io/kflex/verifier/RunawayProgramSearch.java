package io.kflex.verifier;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.BoundedRuns;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.engine.TestEngines;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.loader.ProgramType;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;

/**
 * Searches the programs of {@link VerifiedProgramsNeverFaultTest} for one the verifier accepts
 * but that does not stop when asked to: each accepted program runs on every engine, is asked to
 * cancel after 100 ms and given 2 s more. The first runaway is printed with the verifier's
 * back-edge facts and the search ends (its thread cannot be stopped). Run through {@link #main}
 * with an optional count of programs to sample (default 100,000), niced: it keeps a core busy.
 */
final class RunawayProgramSearch {
    private static final VerifierOptions OPTIONS = VerifierOptions.defaults().withLogLevel(0).withMaxProcessed(10_000)
            .withTimeBudget(Duration.ofSeconds(5));

    public static void main(String[] args) throws EngineException {
        long count = args.length > 0 ? Long.parseLong(args[0]) : 100_000;
        Iterator<List<Instruction>> programs = new VerifiedProgramsNeverFaultTest().programs().sampleStream().iterator();
        List<Engine> engines = TestEngines.all();
        long accepted = 0;
        for (long n = 1; n <= count; n++) {
            List<Instruction> program = programs.next();
            Code code;
            VerifiedProgram verified;
            try {
                code = Code.of(program);
                verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(), OPTIONS);
            } catch (InvalidInstructionException | VerificationException e) {
                continue;
            }
            accepted++;
            for (Engine engine : engines) {
                AddressSpace memory = new AddressSpace();
                long ctx = memory.map(new Region(Region.Kind.CONTEXT, Arena.ofAuto().allocate(ContextDescriptor.SYSCALL_BUFFER_SIZE), true, "ctx"));
                try {
                    BoundedRuns.run(engine.load(code, Bindings.of(VerifiedProgramsNeverFaultTest.HELPERS).withVerified(verified)),
                            new Invocation(memory, ctx), Duration.ofMillis(100), Duration.ofSeconds(2),
                            () -> VerifiedProgramsNeverFaultTest.describe(code, verified) + "\n" + program);
                } catch (AssertionError runaway) {
                    System.out.printf("program %d, on %s: %s%n", n, engine.name(), runaway.getMessage());
                    System.exit(1);
                }
            }
            if (n % 10_000 == 0) System.out.printf("%d programs, %d accepted%n", n, accepted);
        }
        System.out.printf("no runaway among %d accepted programs%n", accepted);
    }
}
