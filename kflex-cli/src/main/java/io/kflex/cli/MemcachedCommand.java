package io.kflex.cli;

import io.kflex.engine.EngineException;
import io.kflex.loader.LoadException;
import io.kflex.maps.MapException;
import io.kflex.memcached.HeapStore;
import io.kflex.memcached.MemcachedServer;
import io.kflex.memcached.OffloadMode;
import io.kflex.verifier.VerificationException;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kflex memcached [--port P] [--udp-port U] [--threads N] [--offload OBJ] [--offload-mode M]
 * [--engine E] [--memory-limit MB] [--bpf-stats]}: the memcached host (text and binary protocols,
 * LRU eviction; the KFlex offload or a BMC-style cache at the UDP hook). Prints where it listens
 * (or one JSON object with {@code --json}) and serves until interrupted. A server that cannot start (port taken, object refused) exits 2.
 */
@Command(name = "memcached", mixinStandardHelpOptions = true,
        description = {"Runs a memcached server (text and binary protocols on the same port) whose store lives in an extension heap; "
                + "--offload serves UDP GETs and SETs at the packet hook, --offload-mode bmc a BMC-style look-aside cache instead.",
                "Past --memory-limit the least recently used items are evicted (CLOCK: reads by the server and by the offload mark items used)."})
final class MemcachedCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--port", paramLabel = "P", description = "TCP port (default 11211, 0 picks one).")
    int port = 11211;

    @Option(names = "--udp-port", paramLabel = "U", description = "UDP port (default 11211, 0 picks one, -1 disables UDP).")
    int udpPort = 11211;

    @Option(names = "--listen", paramLabel = "ADDR", description = "Address to listen on (default 127.0.0.1).")
    String listen = "127.0.0.1";

    @Option(names = "--threads", paramLabel = "N", description = "UDP receiver threads, each a CPU of the hook (default 4).")
    int threads = 4;

    @Option(names = "--offload", paramLabel = "OBJ", description = "Object whose XDP program serves GETs and SETs at the UDP socket's hook (e.g. extensions/objects/memcached_offload.bpf.o).")
    Path offload;

    @Option(names = "--offload-mode", paramLabel = "MODE",
            description = "What runs at the UDP hook: kflex (the offload reading the server's store; the default with --offload), "
                    + "bmc (a BMC-style look-aside cache in a BPF map, bmc_cache.bpf.o unless --offload names another) or none (the default without --offload).")
    String offloadMode;

    @Option(names = "--engine", paramLabel = "E", description = "interpreter or jit (default jit).")
    String engine = "jit";

    @Option(names = "--timeout", paramLabel = "D", converter = DurationConverter.class,
            description = "Time budget of one invocation at the hook (default 100ms; a cancelled offload is unloaded and Java answers everything).")
    Duration budget = Duration.ofMillis(100);

    @Option(names = "--lenient-keys", description = "Accept control characters in keys, as memcached does (memcaslap's keys start with 0x10 bytes).")
    boolean lenientKeys;

    @Option(names = "--memory-limit", paramLabel = "MB",
            description = "Memory for items in MiB, as memcached's -m (default 64, at most 512); past it the least recently used items are evicted.")
    long memoryLimitMb = 64;

    @Option(names = "--bpf-stats", description = "Time every run of the program at the hook (kflex_offload_run_time_ns in stats), "
            + "as Linux's kernel.bpf_stats_enabled; off by default, since two clock reads cost more than a short run.")
    boolean bpfStats;

    @Option(names = "--json", description = "Print one JSON object with the addresses and the offload status.")
    boolean json;

    /** Lets tests stop a running command; null when run from the command line. */
    static volatile CountDownLatch stopForTests;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (threads < 1 || threads > 256) {
            err.println("kflex: --threads must be between 1 and 256");
            return Main.USAGE;
        }
        if (port < 0 || port > 65535 || udpPort < -1 || udpPort > 65535) {
            err.println("kflex: ports must be between 0 and 65535 (--udp-port -1 disables UDP)");
            return Main.USAGE;
        }
        if (memoryLimitMb < 1 || memoryLimitMb > (HeapStore.MEMORY_LIMIT_MAX >> 20)) {
            err.println("kflex: --memory-limit must be between 1 and " + (HeapStore.MEMORY_LIMIT_MAX >> 20) + " (MiB)");
            return Main.USAGE;
        }
        if (!engine.equals("jit") && !engine.equals("interpreter")) {
            err.println("kflex: --engine must be interpreter or jit");
            return Main.USAGE;
        }
        OffloadMode mode;
        try {
            mode = offloadMode == null ? (offload == null ? OffloadMode.NONE : OffloadMode.KFLEX) : OffloadMode.of(offloadMode);
        } catch (IllegalArgumentException e) {
            err.println("kflex: --" + e.getMessage());
            return Main.USAGE;
        }
        if (mode == OffloadMode.NONE && offload != null) {
            err.println("kflex: --offload needs --offload-mode kflex or bmc");
            return Main.USAGE;
        }
        MemcachedServer.Config config;
        try {
            config = new MemcachedServer.Config(InetAddress.getByName(listen), port, udpPort, threads,
                    Optional.ofNullable(offload), engine, budget, !lenientKeys, memoryLimitMb << 20, mode);
        } catch (UnknownHostException e) {
            err.println("kflex: unknown address " + listen);
            return Main.USAGE;
        }
        MemcachedServer server;
        try {
            server = MemcachedServer.start(config);
        } catch (VerificationException e) {
            err.println("kflex: the offload program was rejected: " + e.getMessage());
            return Main.FAILED;
        } catch (IOException | LoadException | EngineException | MapException | RuntimeException e) {
            err.println("kflex: cannot start the server: " + e.getMessage());
            return Main.USAGE;
        }
        try (server) {
            if (bpfStats) server.runtime().enableRunTimeStats(true);
            if (json) {
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("tcp_port", server.tcpAddress().getPort());
                o.put("udp_port", server.udpAddress().map(a -> (Object) a.getPort()).orElse(null));
                o.put("address", server.tcpAddress().getAddress().getHostAddress());
                o.put("engine", engine);
                o.put("offload", server.offloaded());
                o.put("offload_mode", mode.label());
                o.put("offload_object", offload == null ? null : offload.toString());
                o.put("offload_program", server.offload().map(p -> p.name()).orElse(null));
                o.put("memory_limit", server.store().memoryLimit());
                out.println(Json.object(o));
            } else {
                out.println("memcached: tcp " + server.tcpAddress()
                        + server.udpAddress().map(a -> ", udp " + a).orElse(", no udp")
                        + ", engine " + engine + ", memory limit " + memoryLimitMb + " MiB"
                        + (server.offloaded() ? ", offload " + mode.label() + ": " + server.offload().orElseThrow().name() + " from "
                                + (offload == null ? "the bundled object" : offload) + " at the udp hook" : ", no offload"));
            }
            out.flush();
            CountDownLatch stop = stopForTests;
            if (stop == null) {
                stop = new CountDownLatch(1);
                Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown)); // Ctrl-C: close the server
            }
            stop.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return Main.OK;
    }
}
