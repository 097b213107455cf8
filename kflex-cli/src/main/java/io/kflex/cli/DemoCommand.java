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
import io.kflex.hooks.PacketHook;
import io.kflex.hooks.UdpPacketHook;
import io.kflex.hooks.XdpAction;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
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

import static java.nio.charset.StandardCharsets.US_ASCII;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * A short end-to-end showcase that grows with the project: load and verify the committed
 * extension objects, run the same program on every engine, serve UDP on loopback with an extension
 * answering at the packet hook, and cancel a runaway extension at that hook while the server
 * carries on.
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
        out.println("== 3. A UDP server on loopback; an extension answers pings at its packet hook (XDP_TX)");
        Path pong = dir.resolve("xdp_pong.bpf.o");
        if (!Files.isRegularFile(pong)) {
            out.println("   (no " + pong + ")");
            return Main.OK;
        }
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine("jit").budget(Duration.ofMillis(50)).build();
             Extension ext = runtime.open(pong);
             UdpPacketHook server = UdpPacketHook.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), new PacketHook(), 2,
                     (from, payload, socket) -> socket.send(ByteBuffer.wrap(("app: " + US_ASCII.decode(payload)).getBytes(US_ASCII)), from));
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.socket().setSoTimeout(2000);
            LoadedProgram program = ext.load("xdp_pong");
            out.printf("   server at %s, %s attached (verified, JIT-compiled)%n", server.localAddress(), program.name());
            server.hook().attach(program);
            exchange(out, client, server, "ping 1", 2000);
            exchange(out, client, server, "hello", 2000);

            out.println();
            out.println("== 4. A runaway extension at the same hook is cancelled; the server never notices");
            Extension runawayExt = runtime.open("runaway", ProgramType.XDP, Assembler.assemble(RUNAWAY));
            LoadedProgram runaway = runawayExt.load("runaway");
            server.hook().attach(runaway);
            out.printf("   attached %s (an endless loop: its back-edge is a cancellation point), budget 50 ms%n", runaway.name());
            exchange(out, client, server, "ping 2", 2000);
            out.printf("   %s: %d cancellation(s); policy UNLOAD detached it: hook now runs %s%n", runaway.name(),
                    runaway.stats().cancellations(), server.hook().attached().map(LoadedProgram::name).orElse("nothing"));
            server.hook().attach(program);
            exchange(out, client, server, "ping 3", 2000);
            out.printf("   %s: %d runs, %d µs in total; hook verdicts: %d TX, %d PASS, %d fallbacks%n", program.name(),
                    program.stats().runCount(), program.stats().runTimeNs() / 1000, server.hook().count(XdpAction.TX),
                    server.hook().count(XdpAction.PASS), server.hook().fallbacks());
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

    /** Sends {@code request} and prints the answer and who gave it, or that none came. */
    private static void exchange(PrintWriter out, DatagramChannel client, UdpPacketHook server, String request, int timeoutMillis) throws Exception {
        client.send(ByteBuffer.wrap(request.getBytes(US_ASCII)), server.localAddress());
        ByteBuffer answer = ByteBuffer.allocate(2048);
        client.configureBlocking(false);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        long start = System.nanoTime();
        while (client.receive(answer) == null) {
            if (System.nanoTime() > deadline) {
                out.printf("   %-8s -> (no answer within %d ms)%n", "\"" + request + "\"", timeoutMillis);
                return;
            }
            Thread.onSpinWait();
        }
        answer.flip();
        String text = US_ASCII.decode(answer).toString();
        out.printf("   %-10s -> %-14s answered by %s in %d µs%n", "\"" + request + "\"", "\"" + text + "\"",
                text.startsWith("app: ") ? "the Java application" : "the extension", (System.nanoTime() - start) / 1000);
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
