package io.kflex.verifier;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Region;
import io.kflex.engine.TestEngines;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import io.kflex.isa.InvalidInstructionException;
import io.kflex.isa.asm.Disassembler;
import io.kflex.loader.ProgramType;
import java.lang.foreign.Arena;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Searches the programs of {@link VerifiedProgramsNeverFaultTest} for one the verifier accepts
 * but that does not stop when asked to: each accepted program runs on every engine on its own
 * thread, is asked to cancel after 100 ms, and is given 2 s more. A run still going then is
 * printed with the verifier's back-edge facts. Run through {@link #main}: {@code [first [count]]} (numbers
 * only label the programs, which are sampled at random); it exits after the first runaway (its thread cannot be stopped).
 */
final class RunawayProgramSearch {
    private static final VerifierOptions OPTIONS = VerifierOptions.defaults().withLogLevel(0).withMaxProcessed(10_000)
            .withTimeBudget(Duration.ofSeconds(5));

    public static void main(String[] args) throws Exception {
        long first = args.length > 0 ? Long.parseLong(args[0]) : 0;
        long count = args.length > 1 ? Long.parseLong(args[1]) : 100_000;
        java.util.Iterator<List<Instruction>> programs = new VerifiedProgramsNeverFaultTest().programs().sampleStream().iterator();
        List<Engine> engines = TestEngines.all();
        long accepted = 0;
        for (long seed = first; seed < first + count; seed++) {
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
                if (!stops(engine, code, verified)) {
                    System.out.printf("program %d: runaway on %s%n%s%n%s%nback-edges: %s%n", seed, engine.name(),
                            Disassembler.of(Disassembler.Radix.DECIMAL).listing(code, pc -> null), program, verified.backEdges());
                    System.exit(1);
                }
            }
            if (seed % 1000 == 0) System.out.printf("program %d, %d accepted so far%n", seed, accepted);
        }
        System.out.printf("no runaway among %d accepted programs%n", accepted);
    }

    private static boolean stops(Engine engine, Code code, VerifiedProgram verified) throws Exception {
        Executable executable = engine.load(code, Bindings.of(VerifiedProgramsNeverFaultTest.HELPERS).withVerified(verified));
        Arena arena = Arena.ofAuto(); // a runaway thread may still use it
        AddressSpace memory = new AddressSpace();
        long ctx = memory.map(new Region(Region.Kind.CONTEXT, arena.allocate(ContextDescriptor.SYSCALL_BUFFER_SIZE), true, "ctx"));
        Invocation invocation = new Invocation(memory, ctx);
        CompletableFuture<Object> run = new CompletableFuture<>();
        Thread.ofPlatform().daemon().start(() -> {
            try {
                run.complete(executable.run(invocation));
            } catch (Throwable t) {
                run.completeExceptionally(t);
            }
        });
        try {
            return run.get(100, TimeUnit.MILLISECONDS) != null;
        } catch (TimeoutException slow) {
            invocation.requestCancel("search");
        }
        try {
            return run.get(2, TimeUnit.SECONDS) != null;
        } catch (TimeoutException runaway) {
            return false;
        }
    }
}
