package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static io.kflex.memcached.TextProtocolTest.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.runtime.Extension;
import io.kflex.runtime.LoadedProgram;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * memcached_offload.bpf.o at the UDP socket's hook: GET hits are answered by the extension
 * (counted as XDP_TX at the hook), everything else by Java; both read the one heap table.
 */
@Timeout(120)
class OffloadTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    static Path offloadObject() {
        Path p = Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects", "memcached_offload.bpf.o");
        if (!Files.isRegularFile(p)) p = Path.of("..", "extensions", "objects", "memcached_offload.bpf.o");
        return p;
    }

    private static MemcachedServer start(String engine) throws Exception {
        return MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine).withBudget(Duration.ofSeconds(2))
                .withOffload(offloadObject()));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void hitsAreAnsweredAtTheHookAndEverythingElseByJava(String engine) throws Exception {
        try (MemcachedServer server = start(engine)) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            assertThat(server.offloaded()).isTrue();
            try (McClient c = new McClient(server.tcpAddress())) {
                assertThat(c.call("set k 7 0 5\r\nhello\r\n")).isEqualTo("STORED");
                assertThat(c.call("set big 1 0 2000\r\n" + "b".repeat(2000) + "\r\n")).isEqualTo("STORED");
                assertThat(c.call("set later 2 3600 3\r\nabc\r\n")).isEqualTo("STORED");
                String key250 = "x".repeat(250);
                assertThat(c.call("set " + key250 + " 4294967295 0 1024\r\n" + "v".repeat(1024) + "\r\n")).isEqualTo("STORED");

                // a hit: answered by the extension, request id kept
                byte[] reply = McClient.udp(udp, 0x1234, "get k\r\n", 1)[0];
                assertThat(header(reply)).containsExactly(0x1234, 0, 1, 0);
                assertThat(body(reply)).isEqualTo("VALUE k 7 5\r\nhello\r\nEND\r\n");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(1);
                long javaUdp = server.stats().udpRequests();
                assertThat(javaUdp).as("Java never saw the hit").isZero();

                // the largest offloaded reply: a 250-byte key, flags 2^32-1, 1024 value bytes
                reply = McClient.udp(udp, 2, "get " + key250 + "\r\n", 1)[0];
                assertThat(body(reply)).isEqualTo("VALUE " + key250 + " 4294967295 1024\r\n" + "v".repeat(1024) + "\r\nEND\r\n");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(2);

                // passed to Java: a miss, a value over the offload limit, an item that expires, several keys, gets
                assertThat(body(McClient.udp(udp, 3, "get nope\r\n", 1)[0])).isEqualTo("END\r\n");
                byte[][] parts = McClient.udp(udp, 4, "get big\r\n", 2);
                assertThat(header(parts[0])[2]).isEqualTo(2);
                assertThat(body(McClient.udp(udp, 5, "get later\r\n", 1)[0])).isEqualTo("VALUE later 2 3\r\nabc\r\nEND\r\n");
                assertThat(body(McClient.udp(udp, 6, "get k later\r\n", 1)[0])).isEqualTo("VALUE k 7 5\r\nhello\r\nVALUE later 2 3\r\nabc\r\nEND\r\n");
                assertThat(body(McClient.udp(udp, 7, "gets k\r\n", 1)[0])).startsWith("VALUE k 7 5 ");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(2);
                assertThat(hook.count(XdpAction.PASS)).isEqualTo(5);
                assertThat(server.stats().udpRequests()).isEqualTo(5);

                // the table is one: changes made by Java are what the extension serves next
                assertThat(c.call("set k 9 0 3\r\nnew\r\n")).isEqualTo("STORED");
                assertThat(body(McClient.udp(udp, 8, "get k\r\n", 1)[0])).isEqualTo("VALUE k 9 3\r\nnew\r\nEND\r\n");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(3);
                assertThat(c.call("delete k\r\n")).isEqualTo("DELETED");
                assertThat(body(McClient.udp(udp, 9, "get k\r\n", 1)[0])).isEqualTo("END\r\n");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(3);
                // what Java stores over UDP (noreply is not offloaded) is served by the extension
                assertThat(McClient.udpNoReply(udp, 10, "set viaudp 0 0 2 noreply\r\nok\r\n")).isTrue();
                assertThat(body(McClient.udp(udp, 11, "get viaudp\r\n", 1)[0])).isEqualTo("VALUE viaudp 0 2\r\nok\r\nEND\r\n");
                assertThat(hook.count(XdpAction.TX)).isEqualTo(4);

                assertThat(c.untilEnd("stats\r\n")).contains("STAT kflex_offload on", "STAT kflex_offload_hits 4",
                        "STAT kflex_offload_passed 7");
            }
            assertThat(hook.fallbacks()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void setsAreStoredAtTheHookAndJavaSeesThem(String engine) throws Exception {
        try (MemcachedServer server = start(engine); McClient c = new McClient(server.tcpAddress())) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            assertThat(c.call("set old 1 0 3\r\nabc\r\n")).isEqualTo("STORED");
            long javaCas = Long.parseLong(c.untilEnd("gets old\r\n").lines().findFirst().orElseThrow().split(" ")[4]);

            // a new key and a replacement, both stored by the extension
            byte[] reply = McClient.udp(udp, 0x4242, "set fresh 4294967295 0 5\r\nhello\r\n", 1)[0];
            assertThat(header(reply)).containsExactly(0x4242, 0, 1, 0);
            assertThat(body(reply)).isEqualTo("STORED\r\n");
            assertThat(body(McClient.udp(udp, 2, "set old 7 0 6\r\nnewval\r\n", 1)[0])).isEqualTo("STORED\r\n");
            String value1024 = "w".repeat(1024);
            assertThat(body(McClient.udp(udp, 3, "set " + "y".repeat(250) + " 0 0 1024\r\n" + value1024 + "\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(3);
            assertThat(server.stats().udpRequests()).as("Java saw none of them").isZero();

            // Java reads what the extension stored: values, flags, fresh CAS uniques, counters
            assertThat(c.untilEnd("get fresh old\r\n")).isEqualTo("VALUE fresh 4294967295 5\nhello\nVALUE old 7 6\nnewval\nEND\n");
            assertThat(c.untilEnd("get " + "y".repeat(250) + "\r\n")).isEqualTo("VALUE " + "y".repeat(250) + " 0 1024\n" + value1024 + "\nEND\n");
            long extensionCas = Long.parseLong(c.untilEnd("gets old\r\n").lines().findFirst().orElseThrow().split(" ")[4]);
            assertThat(extensionCas).as("one CAS counter for both sides").isGreaterThan(javaCas);
            assertThat(c.call("cas old 0 0 1 " + extensionCas + "\r\nz\r\n")).isEqualTo("STORED");
            assertThat(server.store().currentItems()).isEqualTo(3);
            assertThat(server.store().bytes()).isEqualTo((5 + 5) + (3 + 1) + (250 + 1024));
            assertThat(server.store().totalItems()).isEqualTo(5);
            assertThat(c.call("delete fresh\r\n")).isEqualTo("DELETED");
            assertThat(server.store().currentItems()).isEqualTo(2);

            // left to Java: noreply, an expiry, a key with control bytes, a bad chunk, too large, other commands
            long tx = hook.count(XdpAction.TX);
            assertThat(McClient.udpNoReply(udp, 4, "set q 0 0 1 noreply\r\nx\r\n")).isTrue();
            assertThat(body(McClient.udp(udp, 5, "set e 0 100 1\r\nx\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(body(McClient.udp(udp, 6, "set \u0001k 0 0 1\r\nx\r\n", 1)[0]))
                    .as("refused; the data line then reads as a command, as in memcached").isEqualTo("CLIENT_ERROR bad command line format\r\nERROR\r\n");
            assertThat(body(McClient.udp(udp, 7, "set b 0 0 3\r\nabcd\r\n", 1)[0])).startsWith("CLIENT_ERROR bad data chunk\r\n");
            assertThat(body(McClient.udp(udp, 8, "set big 0 0 1025\r\n" + "b".repeat(1025) + "\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(body(McClient.udp(udp, 9, "add a 0 0 1\r\nx\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(hook.count(XdpAction.TX)).as("none of these at the hook").isEqualTo(tx);
            assertThat(server.stats().udpRequests()).isEqualTo(6);
            assertThat(c.untilEnd("get q e big a\r\n")).contains("VALUE q 0 1", "VALUE e 0 1", "VALUE big 0 1025", "VALUE a 0 1");
        }
    }

    @org.junit.jupiter.api.Test
    void javaWritersAndOffloadedReadersShareTheTableUnderLoad() throws Exception {
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withThreads(2)
                .withBudget(Duration.ofSeconds(2)).withOffload(offloadObject()))) {
            var udp = server.udpAddress().orElseThrow();
            int keys = 64;
            try (McClient c = new McClient(server.tcpAddress())) {
                for (int k = 0; k < keys; k++) {
                    String v = value(k, 0);
                    assertThat(c.call("set key" + k + " 0 0 " + v.length() + "\r\n" + v + "\r\n")).isEqualTo("STORED");
                }
            }
            long until = System.nanoTime() + 1_500_000_000L;
            var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                java.util.List<java.util.concurrent.Future<Integer>> tasks = new java.util.ArrayList<>();
                for (int w = 0; w < 2; w++) {
                    int writer = w;
                    tasks.add(pool.submit(() -> {
                        int n = 0;
                        try (McClient c = new McClient(server.tcpAddress())) {
                            for (int round = 1; System.nanoTime() < until; round++) {
                                int k = (round * 7 + writer) % keys;
                                String v = value(k, round);
                                assertThat(c.call("set key" + k + " 0 0 " + v.length() + "\r\n" + v + "\r\n")).isEqualTo("STORED");
                                n++;
                            }
                        }
                        return n;
                    }));
                }
                for (int r = 0; r < 2; r++) {
                    int reader = r;
                    tasks.add(pool.submit(() -> {
                        int n = 0;
                        for (int i = 0; System.nanoTime() < until; i++) {
                            int k = (i * 13 + reader) % keys;
                            String reply = body(McClient.udp(udp, i & 0xffff, "get key" + k + "\r\n", 1)[0]);
                            assertThat(reply).matches("VALUE key" + k + " 0 \\d+\r\nv" + k + "-\\d+x*\r\nEND\r\n");
                            n++;
                        }
                        return n;
                    }));
                }
                for (var t : tasks) assertThat(t.get()).isPositive();
            } finally {
                pool.shutdownNow();
            }
            PacketHook hook = server.hook().orElseThrow();
            assertThat(hook.count(XdpAction.TX)).as("GETs served at the hook").isPositive();
            assertThat(hook.count(XdpAction.PASS)).as("every key is always present: no GET reached Java").isZero();
            assertThat(hook.fallbacks()).isZero();
        }
    }

    /** Values of varying length (so items are reallocated in other size classes). */
    private static String value(int key, int round) {
        return "v" + key + "-" + round + "x".repeat((key * 31 + round) % 300);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void keysWithControlCharactersAreServedAtTheHookWhenTheServerAcceptsThem(String engine) throws Exception {
        String key = "\u0010\u0010\u0010\u0010memcaslap-style";
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                .withBudget(Duration.ofSeconds(2)).withOffload(offloadObject()).withStrictKeys(false))) {
            try (McClient c = new McClient(server.tcpAddress())) {
                assertThat(c.call("set " + key + " 1 0 3\r\nabc\r\n")).isEqualTo("STORED");
            }
            byte[] reply = McClient.udp(server.udpAddress().orElseThrow(), 5, "get " + key + "\r\n", 1)[0];
            assertThat(body(reply)).isEqualTo("VALUE " + key + " 1 3\r\nabc\r\nEND\r\n");
            assertThat(server.hook().orElseThrow().count(XdpAction.TX)).isEqualTo(1);
        }
        try (MemcachedServer strict = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                .withBudget(Duration.ofSeconds(2)).withOffload(offloadObject()));
             McClient c = new McClient(strict.tcpAddress())) {
            assertThat(c.call("set " + key + " 1 0 3\r\nabc\r\n")).isEqualTo("CLIENT_ERROR bad command line format");
            assertThat(body(McClient.udp(strict.udpAddress().orElseThrow(), 6, "get " + key + "\r\n", 1)[0]))
                    .as("the extension misses, Java refuses the key").isEqualTo("CLIENT_ERROR bad command line format\r\n");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aRunawayExtensionAtTheHookIsCancelledAndTheServerKeepsAnswering(String engine) throws Exception {
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                .withBudget(Duration.ofMillis(20)))) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            try (Extension runaway = server.runtime().open("runaway", ProgramType.XDP, Assembler.assemble("r0 = 0\nl: r0 += 1\ngoto l"))) {
                LoadedProgram program = runaway.load("runaway");
                hook.attach(program);
                try (McClient c = new McClient(server.tcpAddress())) {
                    c.call("set r 0 0 2\r\nok\r\n");
                }
                long started = System.nanoTime();
                assertThat(body(McClient.udp(udp, 1, "get r\r\n", 1)[0])).as("passed to Java after the cancellation")
                        .isEqualTo("VALUE r 0 2\r\nok\r\nEND\r\n");
                assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(3));
                assertThat(program.stats().cancellations()).isEqualTo(1);
                assertThat(hook.fallbacks()).isEqualTo(1);
                assertThat(hook.attached()).as("unloaded and detached by the UNLOAD policy").isEmpty();
                assertThat(body(McClient.udp(udp, 2, "get r\r\n", 1)[0])).isEqualTo("VALUE r 0 2\r\nok\r\nEND\r\n");
                try (McClient c = new McClient(server.tcpAddress())) {
                    assertThat(c.untilEnd("get r\r\n")).isEqualTo("VALUE r 0 2\nok\nEND\n");
                }
            }
        }
    }
}
