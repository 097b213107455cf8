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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

    @Option(names = "--json", description = "One JSON object per result on stdout (key \"step\": verify, engine, exchange, cancellation, summary).")
    boolean json;

    private PrintWriter out;

    /** A section heading (text mode only). */
    private void section(String title) {
        if (!json) {
            out.println();
            out.println("== " + title);
        }
    }

    /** Keys and values in the order given: JSON output keeps it. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        return map;
    }

    /** One result: a JSON object with {@code step} first, or its line of text. */
    private void emit(String step, Map<String, Object> fields, String text) {
        if (json) {
            Map<String, Object> object = new LinkedHashMap<>();
            object.put("step", step);
            object.putAll(fields);
            out.println(Json.object(object));
        } else {
            out.println("   " + text);
        }
    }

    @Override
    public Integer call() throws Exception {
        out = spec.commandLine().getOut();
        if (!json) out.println("== 1. Load and verify the committed extension objects");
        Path dir = extensions != null ? extensions : Path.of(System.getProperty("kflex.home", "."), "extensions", "objects");
        if (Files.isDirectory(dir)) {
            verifyObjects(dir);
        } else {
            spec.commandLine().getErr().println("kflex: no extension objects at " + dir);
            return Main.USAGE;
        }

        section("2. The same program on every engine (hash-mix loop, 1,000,000 iterations)");
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
            long median = times[times.length / 2];
            emit("engine", ordered("engine", engine.name(), "result", describe(last), "median_ns", median),
                    String.format("%-12s %s   median %.2f ms (%.2f ns/iteration)", engine.name(), describe(last), median / 1e6, median / 1e6));
        }

        section("3. A UDP server on loopback; an extension answers pings at its packet hook (XDP_TX)");
        Path pong = dir.resolve("xdp_pong.bpf.o");
        if (!Files.isRegularFile(pong)) {
            spec.commandLine().getErr().println("kflex: no " + pong);
            return Main.USAGE;
        }
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine("jit").budget(Duration.ofMillis(50)).runTimeStats(true).build();
             Extension ext = runtime.open(pong);
             UdpPacketHook server = UdpPacketHook.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), new PacketHook(), 2,
                     (from, payload, socket) -> socket.send(ByteBuffer.wrap(("app: " + US_ASCII.decode(payload)).getBytes(US_ASCII)), from));
             DatagramChannel client = DatagramChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            client.socket().setSoTimeout(2000);
            LoadedProgram program = ext.load("xdp_pong");
            if (!json) out.printf("   server at %s, %s attached (verified, JIT-compiled)%n", server.localAddress(), program.name());
            server.hook().attach(program);
            exchange(client, server, "ping 1", 2000);
            exchange(client, server, "hello", 2000);

            section("4. A runaway extension at the same hook is cancelled; the server never notices");
            Extension runawayExt = runtime.open("runaway", ProgramType.XDP, Assembler.assemble(RUNAWAY));
            LoadedProgram runaway = runawayExt.load("runaway");
            server.hook().attach(runaway);
            if (!json) out.printf("   attached %s (an endless loop: its back-edge is a cancellation point), budget 50 ms%n", runaway.name());
            exchange(client, server, "ping 2", 2000);
            String now = server.hook().attached().map(LoadedProgram::name).orElse("nothing");
            emit("cancellation", ordered("program", runaway.name(), "cancellations", runaway.stats().cancellations(), "hook_runs", now),
                    String.format("%s: %d cancellation(s); policy UNLOAD detached it: hook now runs %s", runaway.name(),
                            runaway.stats().cancellations(), now));
            server.hook().attach(program);
            exchange(client, server, "ping 3", 2000);
            Map<String, Object> summary = new LinkedHashMap<>();
            summary.put("program", program.name());
            summary.put("runs", program.stats().runCount());
            summary.put("run_time_ns", program.stats().runTimeNs());
            summary.put("tx", server.hook().count(XdpAction.TX));
            summary.put("pass", server.hook().count(XdpAction.PASS));
            summary.put("fallbacks", server.hook().fallbacks());
            emit("summary", summary, String.format("%s: %d runs, %d µs in total; hook verdicts: %d TX, %d PASS, %d fallbacks", program.name(),
                    program.stats().runCount(), program.stats().runTimeNs() / 1000, server.hook().count(XdpAction.TX),
                    server.hook().count(XdpAction.PASS), server.hook().fallbacks()));
        }
        return Main.OK;
    }

    private void verifyObjects(Path dir) throws Exception {
        List<Path> objects;
        try (Stream<Path> files = Files.list(dir)) {
            objects = files.filter(p -> p.toString().endsWith(".o")).sorted().toList();
        }
        for (Path path : objects) {
            ExtensionObject object;
            try {
                object = ExtensionObject.open(path, Kfuncs.resolver());
            } catch (Exception e) {
                emit("verify", ordered("object", path.getFileName().toString(), "loaded", false, "error", e.getMessage()),
                        String.format("%-26s not loaded: %s", path.getFileName(), e.getMessage()));
                continue;
            }
            for (Program program : object.programs()) {
                Map<String, Object> result = new LinkedHashMap<>();
                result.put("object", path.getFileName().toString());
                result.put("program", program.name());
                String verdict;
                try {
                    VerifiedProgram verified = Verifier.verify(program.code(), program.type(), object.mapSpecs(), VerifierOptions.defaults());
                    verdict = String.format("accepted  %5d insns processed, %d cancellation point(s), heap guards %d needed / %d elided",
                            verified.processedInstructions(), verified.cancellationPoints().size(), verified.guardsNeeded(), verified.guardsElided());
                    result.put("accepted", true);
                    result.put("processed_insns", verified.processedInstructions());
                    result.put("cancellation_points", verified.cancellationPoints().size());
                    result.put("guards_needed", verified.guardsNeeded());
                    result.put("guards_elided", verified.guardsElided());
                } catch (VerificationException e) {
                    verdict = "rejected  " + firstLine(e.getMessage());
                    result.put("accepted", false);
                    result.put("error", firstLine(e.getMessage()));
                }
                emit("verify", result, String.format("%-26s %-22s %s", path.getFileName(), program.name(), verdict));
            }
        }
    }

    /** Sends {@code request} and reports the answer and who gave it, or that none came. */
    private void exchange(DatagramChannel client, UdpPacketHook server, String request, int timeoutMillis) throws Exception {
        client.send(ByteBuffer.wrap(request.getBytes(US_ASCII)), server.localAddress());
        ByteBuffer answer = ByteBuffer.allocate(2048);
        client.configureBlocking(false);
        long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        long start = System.nanoTime();
        while (client.receive(answer) == null) {
            if (System.nanoTime() > deadline) {
                Map<String, Object> none = new LinkedHashMap<>();
                none.put("request", request);
                none.put("answer", null);
                emit("exchange", none, String.format("%-8s -> (no answer within %d ms)", "\"" + request + "\"", timeoutMillis));
                return;
            }
            Thread.onSpinWait();
        }
        answer.flip();
        long micros = (System.nanoTime() - start) / 1000;
        String text = US_ASCII.decode(answer).toString();
        boolean byApplication = text.startsWith("app: ");
        emit("exchange", ordered("request", request, "answer", text, "answered_by", byApplication ? "application" : "extension", "micros", micros),
                String.format("%-10s -> %-14s answered by %s in %d µs", "\"" + request + "\"", "\"" + text + "\"",
                        byApplication ? "the Java application" : "the extension", micros));
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
