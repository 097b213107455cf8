package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;
import net.rubyeye.xmemcached.CommandFactory;
import net.rubyeye.xmemcached.GetsResponse;
import net.rubyeye.xmemcached.MemcachedClient;
import net.rubyeye.xmemcached.XMemcachedClientBuilder;
import net.rubyeye.xmemcached.command.BinaryCommandFactory;
import net.rubyeye.xmemcached.command.TextCommandFactory;
import net.rubyeye.xmemcached.exception.MemcachedClientException;
import net.rubyeye.xmemcached.exception.MemcachedServerException;
import net.rubyeye.xmemcached.transcoders.SerializingTranscoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * xmemcached, a second widely used Java client, against the server over TCP with each of its
 * command factories, text and binary: every command it issues, values up to 1 MiB (its
 * transcoder compresses above 16 KiB and refuses more than 1 MiB itself), thousands of keys,
 * several clients at once, batches of its quiet ({@code ...WithNoReply}) commands followed by
 * reads, and a server with the offload attached. Where the protocols answer differently, each
 * is held to what memcached 1.6.18 answers (checked with this client against the real server on
 * loopback). xmemcached, like spymemcached, speaks TCP only: its GETs never reach the offload at
 * the UDP hook, so the offload test checks that what it stores is what the extension serves over
 * UDP, and the reverse.
 *
 * <p>Both protocols run against one server; each run's keys carry its protocol's name, so the
 * runs do not see each other's items.
 */
@Timeout(120)
@ParameterizedClass(name = "{0}")
@EnumSource(XmemcachedTest.Commands.class)
class XmemcachedTest {
    /** xmemcached's two command factories. */
    enum Commands {
        TEXT(TextCommandFactory::new), BINARY(BinaryCommandFactory::new);

        private final Supplier<CommandFactory> factory;

        Commands(Supplier<CommandFactory> factory) { this.factory = factory; }
    }

    @Parameter
    Commands commands;

    private static MemcachedServer server;

    @BeforeAll
    static void start() throws Exception {
        server = MemcachedServer.start(MemcachedServer.Config.loopback());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** A client with one connection to {@code address}, shut down by close. */
    record Client(MemcachedClient mc) implements AutoCloseable {
        static Client of(InetSocketAddress address, Commands commands) throws Exception {
            XMemcachedClientBuilder builder = new XMemcachedClientBuilder(List.of(address));
            builder.setCommandFactory(commands.factory.get());
            builder.setOpTimeout(10_000);
            builder.setConnectTimeout(10_000);
            return new Client(builder.build());
        }

        @Override
        public void close() throws Exception { mc.shutdown(); }
    }

    private Client client() throws Exception { return Client.of(server.tcpAddress(), commands); }

    /** {@code name} in this protocol's own key space. */
    private String key(String name) { return commands.name().toLowerCase(Locale.ROOT) + ":" + name; }

    private boolean binary() { return commands == Commands.BINARY; }

    /** A Unix time 100 s ago: an absolute expiration in the past expires at once, in either protocol. */
    private static int past() { return (int) (System.currentTimeMillis() / 1000 - 100); }

    @Test
    void everyCommandTheClientIssues() throws Exception {
        try (Client client = client(); McClient raw = new McClient(server.tcpAddress())) {
            MemcachedClient c = client.mc();
            String s = key("s"), fresh = key("fresh"), a = key("a");
            assertThat(c.set(s, 0, "hello")).isTrue();
            assertThat(c.<String>get(s)).isEqualTo("hello");
            assertThat(raw.untilEnd("get " + s + "\r\n")).as("a String is stored as its bytes, flags 0")
                    .isEqualTo("VALUE " + s + " 0 5\nhello\nEND\n");
            assertThat(c.<Object>get(key("missing"))).isNull();
            assertThat(c.add(s, 0, "x")).isFalse();
            assertThat(c.add(fresh, 0, "x")).isTrue();
            assertThat(c.replace(key("nope"), 0, "x")).isFalse();
            assertThat(c.replace(fresh, 0, "y")).isTrue();
            assertThat(c.<String>get(fresh)).isEqualTo("y");
            assertThat(c.set(key("unicode"), 0, "grüße, 世界")).isTrue();
            assertThat(c.<String>get(key("unicode"))).isEqualTo("grüße, 世界");
            // the transcoder's flags tell the types apart, and come back
            assertThat(c.set(key("int"), 0, 42)).isTrue();
            assertThat(c.<Integer>get(key("int"))).isEqualTo(42);
            assertThat(c.set(key("long"), 0, 1L << 40)).isTrue();
            assertThat(c.<Long>get(key("long"))).isEqualTo(1L << 40);
            ArrayList<String> list = new ArrayList<>(List.of("a serialized", "object"));
            assertThat(c.set(key("list"), 0, list)).isTrue();
            assertThat(c.<ArrayList<String>>get(key("list"))).isEqualTo(list);

            Map<String, Object> multi = c.get(List.of(s, fresh, key("int"), key("absent")));
            assertThat(multi).as("one multi-get; the absent key is left out")
                    .isEqualTo(Map.of(s, "hello", fresh, "y", key("int"), 42));

            GetsResponse<String> v = c.gets(s);
            assertThat(v.getValue()).isEqualTo("hello");
            assertThat(c.cas(s, 0, "other", v.getCas() + 1000)).isFalse();
            assertThat(c.cas(s, 0, "swapped", v.getCas())).isTrue();
            assertThat(c.cas(s, 0, "again", v.getCas())).as("the unique changed").isFalse();
            assertThat(c.cas(key("nothere"), 0, "x", 1)).isFalse();
            assertThat(c.<String>gets(s).getCas()).isNotEqualTo(v.getCas());
            assertThat(c.<String>get(s)).isEqualTo("swapped");
            Map<String, GetsResponse<Object>> multiGets = c.gets(List.of(s, fresh));
            assertThat(multiGets.get(s).getCas()).isEqualTo(c.gets(s).getCas());
            assertThat(multiGets.get(fresh).getValue()).isEqualTo("y");

            assertThat(c.delete(fresh)).isTrue();
            assertThat(c.delete(fresh)).isFalse();
            assertThat(c.<Object>get(fresh)).isNull();

            // incr/decr: the value is stored as decimal digits; the client's default creates an absent key
            // (binary: in the request's extras; text: NOT_FOUND, then an add).
            assertThat(c.set(key("n"), 0, "10")).isTrue();
            assertThat(c.incr(key("n"), 5)).isEqualTo(15);
            assertThat(c.decr(key("n"), 100)).as("decr floors at 0").isZero();
            assertThat(c.incr(key("counter"), 1, 7)).as("absent: created with the default").isEqualTo(7);
            assertThat(c.incr(key("counter"), 1, 7)).isEqualTo(8);
            assertThat(c.decr(key("down"), 1, 9)).isEqualTo(9);
            assertThat(c.<String>get(key("counter"))).isEqualTo("8");
            assertThat(raw.untilEnd("get " + key("counter") + "\r\n")).isEqualTo("VALUE " + key("counter") + " 0 1\n8\nEND\n");
            c.set(key("max"), 0, "18446744073709551615");
            assertThat(c.incr(key("max"), 2)).as("incr wraps at 2^64").isEqualTo(1);
            if (binary()) {
                assertThatThrownBy(() -> c.incr(s, 1)).isInstanceOf(MemcachedServerException.class)
                        .hasMessageContaining("Incr/Decr on non-numeric value");
            } else {
                assertThatThrownBy(() -> c.incr(s, 1)).isInstanceOf(MemcachedClientException.class)
                        .hasMessageContaining("cannot increment or decrement non-numeric value");
            }

            assertThat(c.set(a, 0, "mid")).isTrue();
            assertThat(c.append(a, "-end")).isTrue();
            assertThat(c.prepend(a, "start-")).isTrue();
            assertThat(c.<String>get(a)).isEqualTo("start-mid-end");
            assertThat(c.append(key("nothere"), "x")).isFalse();
            assertThat(c.prepend(key("nothere"), "x")).isFalse();

            assertThat(c.touch(a, 3600)).isTrue();
            assertThat(c.touch(key("nothere"), 10)).isFalse();
            assertThat(c.<String>get(a)).isEqualTo("start-mid-end");
            if (binary()) {
                assertThat(c.<String>getAndTouch(a, 3600)).isEqualTo("start-mid-end");
                assertThat(c.<Object>getAndTouch(key("nothere"), 10)).isNull();
                assertThat(c.<String>getAndTouch(a, past())).as("the value, then gone").isEqualTo("start-mid-end");
                assertThat(c.<Object>get(a)).isNull();
            } else { // the server knows gat, but this client sends it only in binary
                assertThatThrownBy(() -> c.getAndTouch(a, 10)).isInstanceOf(UnsupportedOperationException.class);
                assertThat(c.touch(a, past())).isTrue();
                assertThat(c.<Object>get(a)).as("touched with a time in the past: expired").isNull();
            }

            assertThat(c.getVersions().values()).containsExactly(MemcachedServer.VERSION);
            Map<String, String> stats = c.getStats().values().iterator().next();
            assertThat(stats).containsKeys("curr_items", "get_hits", "cmd_get", "cmd_touch", "limit_maxbytes")
                    .containsEntry("kflex_offload", "off");
            assertThat(Long.parseLong(stats.get("curr_items"))).isPositive();
        }
    }

    @Test
    void valuesOfSeveralSizesUpTo1MiBRoundTripExactly() throws Exception {
        Random random = new Random(7);
        try (Client client = client(); McClient raw = new McClient(server.tcpAddress())) {
            MemcachedClient c = client.mc();
            byte[] mib = null;
            // 16,384 is the transcoder's compression threshold: random bytes do not shrink and go as they are, a
            // repeated pattern goes compressed.
            for (int size : new int[] {0, 1, 100, 1392, 16_384, 16_385, 100_000, 1 << 20}) {
                byte[] randomBytes = new byte[size];
                random.nextBytes(randomBytes);
                mib = randomBytes;
                byte[] pattern = new byte[size];
                for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) ('a' + i % 7);
                assertThat(c.set(key("random" + size), 0, randomBytes)).as("set %d random bytes", size).isTrue();
                assertThat(c.set(key("pattern" + size), 0, pattern)).as("set %d pattern bytes", size).isTrue();
                assertThat(c.<byte[]>get(key("random" + size))).as("%d random bytes", size).isEqualTo(randomBytes);
                assertThat(c.<byte[]>get(key("pattern" + size))).as("%d pattern bytes", size).isEqualTo(pattern);
            }
            // What the server holds is what the client sent: 1 MiB of incompressible bytes, uncompressed.
            raw.send("get " + key("random1048576") + "\r\n");
            assertThat(raw.line()).matches("VALUE " + key("random1048576") + " \\d+ 1048576");
            assertThat(raw.read(1 << 20)).isEqualTo(mib);
            assertThat(raw.line()).isEmpty();
            assertThat(raw.line()).isEqualTo("END");

            // The client refuses more than 1 MiB itself; with a transcoder that lets it through, the server refuses it
            // as memcached does (text: SERVER_ERROR object too large for cache; binary: status 0x03, which the
            // client calls "Value is too big.") and the failed set removes the old value. The connection goes on.
            byte[] tooLarge = new byte[(1 << 20) + 1];
            random.nextBytes(tooLarge);
            assertThatThrownBy(() -> c.set(key("toolarge"), 0, tooLarge)).isInstanceOf(IllegalArgumentException.class);
            SerializingTranscoder lenient = new SerializingTranscoder(4 << 20);
            assertThat(c.set(key("toolarge"), 0, "old")).isTrue();
            assertThatThrownBy(() -> c.set(key("toolarge"), 0, (Object) tooLarge, lenient))
                    .isInstanceOf(MemcachedServerException.class)
                    .hasMessageContaining(binary() ? "Value is too big." : "object too large for cache");
            assertThat(c.<Object>get(key("toolarge"))).isNull();
            assertThat(c.set(key("after"), 0, "fine")).isTrue();
            assertThat(c.<String>get(key("after"))).isEqualTo("fine");
        }
    }

    @Test
    void thousandsOfKeysFromSeveralThreadsOnOneClientAndMultiGets() throws Exception {
        int keys = 3000, threads = 4;
        try (Client client = client()) {
            MemcachedClient c = client.mc();
            Map<String, String> expected = new HashMap<>();
            for (int i = 0; i < keys; i++) expected.put(key("many:" + i), "v" + i + "-" + Integer.toHexString(i * 7919));
            // The client is thread-safe and shares its one connection, merging requests from several threads.
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> writers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int first = t;
                    writers.add(pool.submit(() -> {
                        for (int i = first; i < keys; i += threads) {
                            String k = key("many:" + i);
                            assertThat(c.set(k, 0, expected.get(k))).isTrue();
                        }
                        return null;
                    }));
                }
                for (Future<?> w : writers) w.get();
            } finally {
                pool.shutdownNow();
            }
            List<String> all = new ArrayList<>(expected.keySet());
            for (int i = 0; i < 100; i++) all.add(key("many:absent:" + i));
            assertThat(c.<String>get(all)).as("one multi-get of 3,100 keys (100 absent)").isEqualTo(expected);

            for (int i = 0; i < keys; i += 2) {
                assertThat(c.delete(key("many:" + i))).isTrue();
                expected.remove(key("many:" + i));
            }
            assertThat(c.<String>get(all)).isEqualTo(expected);
        }
    }

    @Test
    void concurrentClientsEachWithTheirOwnConnection() throws Exception {
        int clients = 4, rounds = 150;
        try (Client setup = client()) {
            assertThat(setup.mc().set(key("shared"), 0, "0")).isTrue();
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Map<String, byte[]>>> workers = new ArrayList<>();
            for (int t = 0; t < clients; t++) {
                int id = t;
                workers.add(pool.submit(() -> {
                    Map<String, byte[]> mine = new HashMap<>();
                    Random random = new Random(id);
                    try (Client client = client()) {
                        MemcachedClient c = client.mc();
                        for (int i = 0; i < rounds; i++) {
                            String key = key("client" + id + ":" + random.nextInt(50));
                            byte[] value = new byte[random.nextInt(3000)];
                            random.nextBytes(value);
                            assertThat(c.set(key, 0, value)).isTrue();
                            mine.put(key, value);
                            assertThat(c.<byte[]>get(key)).isEqualTo(value);
                            assertThat(c.incr(key("shared"), 1)).isPositive();
                        }
                    }
                    return mine;
                }));
            }
            List<Map<String, byte[]>> written = new ArrayList<>();
            for (Future<Map<String, byte[]>> w : workers) written.add(w.get());
            try (Client check = client()) {
                MemcachedClient c = check.mc();
                for (Map<String, byte[]> mine : written) {
                    Map<String, byte[]> got = c.get(mine.keySet());
                    assertThat(got.keySet()).isEqualTo(mine.keySet());
                    for (var e : mine.entrySet()) assertThat(got.get(e.getKey())).isEqualTo(e.getValue());
                }
                assertThat(c.<String>get(key("shared"))).as("every incr counted once").isEqualTo(Integer.toString(clients * rounds));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A batch of quiet commands (text: {@code noreply}; binary: SETQ, DELETEQ, ...), failures
     * among them, then reads. Quiet failures are silent in text and answered in binary (as
     * memcached does both); either way the connection must stay in step, every read answering
     * its own request.
     */
    @Test
    void aBatchOfQuietCommandsThenReads() throws Exception {
        try (Client client = client()) {
            MemcachedClient c = client.mc();
            int n = 500;
            for (int i = 0; i < n; i++) c.setWithNoReply(key("q" + i), 0, "v" + i);
            for (int i = 0; i < n; i += 5) c.deleteWithNoReply(key("q" + i));
            c.appendWithNoReply(key("q1"), "+end");
            c.prependWithNoReply(key("q2"), "start+");
            c.replaceWithNoReply(key("q3"), 0, "replaced");
            c.addWithNoReply(key("q4"), 0, "not added: the key exists");
            c.addWithNoReply(key("q5"), 0, "added: q5 was deleted");
            c.replaceWithNoReply(key("q10"), 0, "not replaced: q10 was deleted");
            c.appendWithNoReply(key("absent"), "not appended");
            c.setWithNoReply(key("num"), 0, "100");
            c.incrWithNoReply(key("num"), 11);
            c.decrWithNoReply(key("num"), 1);
            c.incrWithNoReply(key("q6"), 1); // a non-numeric value: an error in both protocols
            c.deleteWithNoReply(key("absent"));
            c.incrWithNoReply(key("fromNothing"), 5);
            byte[] tooLarge = new byte[(1 << 20) + 1];
            new Random(11).nextBytes(tooLarge); // incompressible: the transcoder sends it as it is
            c.setWithNoReply(key("q7"), 0, tooLarge, new SerializingTranscoder(4 << 20)); // refused, and q7 removed

            Map<String, String> expected = new HashMap<>();
            for (int i = 0; i < n; i++) if (i % 5 != 0) expected.put(key("q" + i), "v" + i);
            expected.put(key("q1"), "v1+end");
            expected.put(key("q2"), "start+v2");
            expected.put(key("q3"), "replaced");
            expected.put(key("q5"), "added: q5 was deleted");
            expected.remove(key("q7"));
            expected.put(key("num"), "110");
            // xmemcached's binary increment always carries a default (0) and an expiration of 0: the key is created
            // with the default, as memcached does; in text the NOT_FOUND is silent and nothing is created.
            if (binary()) expected.put(key("fromNothing"), "0");
            List<String> keys = new ArrayList<>(expected.keySet());
            keys.addAll(List.of(key("absent"), key("q0"), key("q10"), key("fromNothing"), key("q7")));
            assertThat(c.<String>get(keys)).isEqualTo(expected);
            assertThat(c.<String>get(key("q6"))).isEqualTo("v6");
            assertThat(c.incr(key("num"), 1)).as("the next answer is the next request's").isEqualTo(111);

            c.flushAllWithNoReply();
            assertThat(c.<Object>get(key("q1"))).as("flushed").isNull();
            assertThat(c.set(key("afterFlush"), 0, "x")).isTrue();
            assertThat(c.<String>get(key("afterFlush"))).isEqualTo("x");
            c.flushAll();
            assertThat(c.<Object>get(key("afterFlush"))).isNull();
        }
    }

    /**
     * A server of its own with the offload attached, the text run on the interpreter and the
     * binary run on the JIT ({@code OffloadTest} covers both engines for the offload itself). The
     * client's requests all go over TCP to Java; the hook serves UDP only.
     */
    @Test
    void withTheOffloadOnWhatTheClientStoresIsServedAtTheHookAndTheReverse() throws Exception {
        String engine = binary() ? "jit" : "interpreter";
        try (MemcachedServer offloaded = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                        .withBudget(Duration.ofSeconds(2)).withOffload(OffloadTest.offloadObject()));
                Client client = Client.of(offloaded.tcpAddress(), commands)) {
            MemcachedClient c = client.mc();
            InetSocketAddress udp = offloaded.udpAddress().orElseThrow();
            PacketHook hook = offloaded.hook().orElseThrow();
            assertThat(offloaded.offloaded()).isTrue();

            assertThat(c.set("k", 0, "from-xmemcached")).isTrue();
            assertThat(body(McClient.udp(udp, 1, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 15\r\nfrom-xmemcached\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).as("answered by the extension").isEqualTo(1);
            byte[] bytes = new byte[1024];
            new Random(3).nextBytes(bytes);
            assertThat(c.set("bytes", 0, bytes)).isTrue();
            byte[] reply = McClient.udp(udp, 2, "get bytes\r\n", 1)[0];
            assertThat(hook.count(XdpAction.TX)).as("the largest value the extension serves").isEqualTo(2);
            assertThat(java.util.Arrays.copyOfRange(reply, reply.length - 1024 - 7, reply.length - 7)).isEqualTo(bytes);

            // Stored by the extension at the hook (kflex_malloc in the heap), read and changed by the client over TCP.
            assertThat(body(McClient.udp(udp, 3, "set viahook 0 0 5\r\nhello\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(3);
            assertThat(c.<String>get("viahook")).isEqualTo("hello");
            assertThat(c.gets("viahook").getCas()).as("a CAS unique from the shared counter").isPositive();
            assertThat(c.append("viahook", " world")).isTrue();
            assertThat(body(McClient.udp(udp, 4, "get viahook\r\n", 1)[0])).isEqualTo("VALUE viahook 0 11\r\nhello world\r\nEND\r\n");

            GetsResponse<String> v = c.gets("k");
            assertThat(c.cas("k", 0, "swapped", v.getCas())).isTrue();
            assertThat(body(McClient.udp(udp, 5, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 7\r\nswapped\r\nEND\r\n");
            assertThat(c.incr("counter", 1, 41)).isEqualTo(41);
            assertThat(c.incr("counter", 1)).isEqualTo(42);
            assertThat(body(McClient.udp(udp, 6, "get counter\r\n", 1)[0])).isEqualTo("VALUE counter 0 2\r\n42\r\nEND\r\n");
            assertThat(c.delete("k")).isTrue();
            assertThat(body(McClient.udp(udp, 7, "get k\r\n", 1)[0])).as("a miss, passed to Java").isEqualTo("END\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(6);

            // The client's own traffic is all TCP: its many keys are served by Java, the hook stays as it was.
            long tx = hook.count(XdpAction.TX), passed = hook.count(XdpAction.PASS);
            Map<String, String> many = new HashMap<>();
            for (int i = 0; i < 300; i++) many.put("o" + i, "value" + i);
            for (var e : many.entrySet()) c.setWithNoReply(e.getKey(), 0, e.getValue());
            assertThat(c.<String>get(many.keySet())).isEqualTo(many);
            assertThat(hook.count(XdpAction.TX)).isEqualTo(tx);
            assertThat(hook.count(XdpAction.PASS)).isEqualTo(passed);
            assertThat(hook.fallbacks()).isZero();
            assertThat(c.getStats().values().iterator().next()).containsEntry("kflex_offload", "on");
        }
    }
}
