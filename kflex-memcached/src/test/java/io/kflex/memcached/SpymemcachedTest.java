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
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import net.spy.memcached.CASResponse;
import net.spy.memcached.CASValue;
import net.spy.memcached.ConnectionFactoryBuilder;
import net.spy.memcached.ConnectionFactoryBuilder.Protocol;
import net.spy.memcached.FailureMode;
import net.spy.memcached.MemcachedClient;
import net.spy.memcached.internal.OperationFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * spymemcached, a widely used Java client, against the server over TCP with the text protocol and
 * with the binary one: every command it issues, pipelined requests, multi-gets of thousands of
 * keys, values up to 1 MiB (its transcoder compresses compressible ones above 16 KiB), several
 * clients at once, and a server with the offload attached. Where the two protocols answer
 * differently, each is held to what memcached 1.6.18 answers in it (checked against the real
 * server on loopback, with this client). spymemcached speaks TCP only, so its GETs never reach
 * the offload at the UDP hook; the offload test shows instead that what it stores over TCP is
 * what the extension serves over UDP, and the reverse.
 *
 * <p>Both protocols run against one server; each run's keys carry its protocol's name, so the
 * runs do not see each other's items.
 */
@Timeout(120)
@ParameterizedClass(name = "{0}")
@EnumSource(Protocol.class)
class SpymemcachedTest {
    @Parameter
    Protocol protocol;

    /** Kept so that the level set below is not lost with a collected logger. */
    private static final Logger SPY_LOG = Logger.getLogger("net.spy.memcached");
    private static MemcachedServer server;

    @BeforeAll
    static void start() throws Exception {
        // spymemcached logs every connection at INFO to stderr by default; route it to java.util.logging, warnings only.
        System.setProperty("net.spy.log.LoggerImpl", "net.spy.memcached.compat.log.SunLogger");
        SPY_LOG.setLevel(Level.WARNING);
        server = MemcachedServer.start(MemcachedServer.Config.loopback());
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    /** A client with one connection to {@code address} speaking {@code protocol}, shut down by close. */
    record Client(MemcachedClient mc) implements AutoCloseable {
        static Client of(InetSocketAddress address, Protocol protocol) throws Exception {
            return new Client(new MemcachedClient(new ConnectionFactoryBuilder()
                    .setProtocol(protocol)
                    .setOpTimeout(10_000)
                    .setFailureMode(FailureMode.Retry) // requests queued while the connection is being made wait for it
                    .setDaemon(true)
                    .build(), List.of(address)));
        }

        @Override
        public void close() { mc.shutdown(5, TimeUnit.SECONDS); }
    }

    private Client client() throws Exception { return Client.of(server.tcpAddress(), protocol); }

    /** {@code name} in this protocol's own key space. */
    private String key(String name) { return protocol.name().toLowerCase(java.util.Locale.ROOT) + ":" + name; }

    private boolean binary() { return protocol == Protocol.BINARY; }

    @Test
    void everyCommandTheClientIssues() throws Exception {
        try (Client client = client(); McClient raw = new McClient(server.tcpAddress())) {
            MemcachedClient c = client.mc();
            String s = key("s"), fresh = key("fresh"), nope = key("nope"), counter = key("counter"), a = key("a");
            assertThat(c.set(s, 0, "hello").get()).isTrue();
            assertThat(c.get(s)).isEqualTo("hello");
            assertThat(raw.untilEnd("get " + s + "\r\n")).as("a String is stored as its bytes, flags 0")
                    .isEqualTo("VALUE " + s + " 0 5\nhello\nEND\n");
            assertThat(c.get(key("missing"))).isNull();
            OperationFuture<Boolean> add = c.add(s, 0, "x");
            assertThat(add.get()).isFalse();
            // the client passes on the server's words: memcached's in each protocol
            assertThat(add.getStatus().getMessage()).isEqualTo(binary() ? "Data exists for key." : "NOT_STORED");
            assertThat(c.add(fresh, 0, "x").get()).isTrue();
            OperationFuture<Boolean> replace = c.replace(nope, 0, "x");
            assertThat(replace.get()).isFalse();
            assertThat(replace.getStatus().getMessage()).isEqualTo(binary() ? "Not found" : "NOT_STORED");
            assertThat(c.replace(fresh, 0, "y").get()).isTrue();
            assertThat(c.get(fresh)).isEqualTo("y");
            assertThat(c.set(key("unicode"), 0, "grüße, 世界").get()).isTrue();
            assertThat(c.get(key("unicode"))).isEqualTo("grüße, 世界");
            assertThat(c.set(key("int"), 0, 42).get()).isTrue();
            assertThat(c.get(key("int"))).as("the transcoder's flags come back").isEqualTo(42);

            assertThat(c.delete(fresh).get()).isTrue();
            OperationFuture<Boolean> delete = c.delete(fresh);
            assertThat(delete.get()).isFalse();
            assertThat(delete.getStatus().getMessage()).isEqualTo(binary() ? "Not found" : "NOT_FOUND");
            assertThat(c.get(fresh)).isNull();

            // Text: incr, then add the default if NOT_FOUND; binary: one increment whose extras carry the default
            // (or 0xffffffff as the expiration: "do not create").
            assertThat(c.set(key("n"), 0, "10").get()).isTrue();
            assertThat(c.incr(key("n"), 5)).isEqualTo(15);
            assertThat(c.decr(key("n"), 100)).as("decr floors at 0").isZero();
            assertThat(c.incr(key("nothere"), 1)).as("NOT_FOUND").isEqualTo(-1);
            assertThat(c.get(key("nothere"))).isNull();
            assertThat(c.incr(counter, 1, 7)).as("absent: created with the default").isEqualTo(7);
            assertThat(c.incr(counter, 1, 7)).isEqualTo(8);
            assertThat(c.asyncIncr(counter, 10).get()).isEqualTo(18);
            assertThat(c.get(counter)).as("stored as its decimal digits").isEqualTo("18");
            if (binary()) {
                OperationFuture<Long> nonNumeric = c.asyncIncr(s, 1);
                assertThat(nonNumeric.get()).isEqualTo(-1);
                assertThat(nonNumeric.getStatus().getMessage()).isEqualTo("Non-numeric server-side value for incr or decr");
            } else { // the text client raises a CLIENT_ERROR (and goes on with the connection)
                assertThatThrownBy(() -> c.asyncIncr(s, 1).get()).isInstanceOf(ExecutionException.class)
                        .hasMessageContaining("CLIENT_ERROR cannot increment or decrement non-numeric value");
            }

            CASValue<Object> v = c.gets(s);
            assertThat(v.getValue()).isEqualTo("hello");
            assertThat(c.cas(s, v.getCas() + 1000, "other")).isEqualTo(CASResponse.EXISTS);
            assertThat(c.cas(s, v.getCas(), "swapped")).isEqualTo(CASResponse.OK);
            assertThat(c.cas(s, v.getCas(), "again")).as("the unique changed").isEqualTo(CASResponse.EXISTS);
            assertThat(c.cas(key("nothere"), 1, "x")).isEqualTo(CASResponse.NOT_FOUND);
            assertThat(c.gets(s).getCas()).isNotEqualTo(v.getCas());
            assertThat(c.get(s)).isEqualTo("swapped");

            assertThat(c.set(a, 0, "mid").get()).isTrue();
            assertThat(c.append(a, "-end").get()).isTrue();
            assertThat(c.prepend(a, "start-").get()).isTrue();
            assertThat(c.get(a)).isEqualTo("start-mid-end");
            OperationFuture<Boolean> append = c.append(key("nothere"), "x");
            assertThat(append.get()).isFalse();
            assertThat(append.getStatus().getMessage()).isEqualTo(binary() ? "Not stored." : "NOT_STORED");

            assertThat(c.touch(a, 3600).get()).isTrue();
            assertThat(c.touch(key("nothere"), 10).get()).isFalse();
            assertThat(c.get(a)).isEqualTo("start-mid-end");
            if (binary()) {
                CASValue<Object> touched = c.getAndTouch(a, 3600);
                assertThat(touched.getValue()).isEqualTo("start-mid-end");
                assertThat(touched.getCas()).as("gat answers the CAS unique, unchanged by a touch").isEqualTo(c.gets(a).getCas());
                assertThat(c.getAndTouch(key("nothere"), 10)).isNull();
                // The binary expiration is unsigned: -1 is 0xffffffff, an absolute time in 2106, so the item stays.
                assertThat(c.touch(a, -1).get()).isTrue();
                assertThat(c.get(a)).as("touched until 2106").isEqualTo("start-mid-end");
            } else { // the text protocol has gat, but this client sends it only in binary
                assertThatThrownBy(() -> c.getAndTouch(a, 10)).isInstanceOf(UnsupportedOperationException.class);
                assertThat(c.touch(a, -1).get()).isTrue();
                assertThat(c.get(a)).as("touched with a negative time: expired").isNull();
            }

            assertThat(c.getVersions().values()).containsExactly(MemcachedServer.VERSION);
            Map<String, String> stats = c.getStats().values().iterator().next();
            assertThat(stats).containsKeys("curr_items", "get_hits", "cmd_get", "limit_maxbytes")
                    .containsEntry("kflex_offload", "off");
        }
    }

    @Test
    void valuesOfSeveralSizesUpTo1MiBRoundTripExactly() throws Exception {
        Random random = new Random(5);
        try (Client client = client(); McClient raw = new McClient(server.tcpAddress())) {
            MemcachedClient c = client.mc();
            byte[] mib = null;
            // 16,384 is spymemcached's compression threshold: random bytes do not shrink and go as they
            // are, a repeated pattern goes compressed (and a 1 MiB + 1 pattern fits once compressed).
            for (int size : new int[] {0, 1, 100, 1392, 16_384, 16_385, 100_000, 1 << 20}) {
                byte[] randomBytes = new byte[size];
                random.nextBytes(randomBytes);
                mib = randomBytes;
                byte[] pattern = new byte[size + (size == 1 << 20 ? 1 : 0)];
                for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) ('a' + i % 7);
                assertThat(c.set(key("random" + size), 0, randomBytes).get()).as("set %d random bytes", size).isTrue();
                assertThat(c.set(key("pattern" + size), 0, pattern).get()).as("set %d pattern bytes", pattern.length).isTrue();
                assertThat((byte[]) c.get(key("random" + size))).as("%d random bytes", size).isEqualTo(randomBytes);
                assertThat((byte[]) c.get(key("pattern" + size))).as("%d pattern bytes", pattern.length).isEqualTo(pattern);
            }
            // What the server holds is what the client sent (in either protocol): 1 MiB of incompressible bytes, uncompressed.
            raw.send("get " + key("random1048576") + "\r\n");
            assertThat(raw.line()).matches("VALUE " + key("random1048576") + " \\d+ 1048576");
            assertThat(raw.read(1 << 20)).isEqualTo(mib);
            assertThat(raw.line()).isEmpty();
            assertThat(raw.line()).isEqualTo("END");

            // Over the limit the server refuses, as memcached does: in text with SERVER_ERROR object too large for
            // cache, which the client raises as an OperationException before it reconnects; in binary with status
            // 0x03 "Too large.", a plain failure on the same connection. A failed set removes the old value.
            byte[] tooLarge = new byte[(1 << 20) + 1];
            random.nextBytes(tooLarge);
            assertThat(c.set(key("toolarge"), 0, "old").get()).isTrue();
            OperationFuture<Boolean> refused = c.set(key("toolarge"), 0, tooLarge);
            if (binary()) {
                assertThat(refused.get()).isFalse();
                assertThat(refused.getStatus().getMessage()).isEqualTo("Too large.");
            } else {
                assertThatThrownBy(refused::get).isInstanceOf(ExecutionException.class)
                        .hasMessageContaining("SERVER_ERROR object too large for cache");
            }
            assertThat(c.get(key("toolarge"))).isNull();
            assertThat(c.set(key("after"), 0, "fine").get()).isTrue();
            assertThat(c.get(key("after"))).isEqualTo("fine");
        }
    }

    @Test
    void thousandsOfKeysPipelinedAndFetchedWithMultiGets() throws Exception {
        try (Client client = client()) {
            MemcachedClient c = client.mc();
            Map<String, String> expected = new HashMap<>();
            List<OperationFuture<Boolean>> sets = new ArrayList<>();
            for (int i = 0; i < 3000; i++) {
                String key = key("many:" + i), value = "v" + i + "-" + Integer.toHexString(i * 7919);
                expected.put(key, value);
                sets.add(c.set(key, 0, value)); // not awaited: the client pipelines them on its one connection
            }
            for (OperationFuture<Boolean> f : sets) assertThat(f.get()).isTrue();

            List<String> keys = new ArrayList<>(expected.keySet());
            for (int i = 0; i < 100; i++) keys.add(key("many:absent:" + i));
            assertThat(c.getBulk(keys)).as("one multi-get of 3,100 keys (100 absent)").isEqualTo(expected);
            assertThat(c.asyncGetBulk(keys.subList(0, 500)).get(10, TimeUnit.SECONDS))
                    .isEqualTo(Maps.restrict(expected, keys.subList(0, 500)));

            List<OperationFuture<Boolean>> deletes = new ArrayList<>();
            for (int i = 0; i < 3000; i += 2) deletes.add(c.delete(key("many:" + i)));
            for (OperationFuture<Boolean> f : deletes) assertThat(f.get()).isTrue();
            for (int i = 0; i < 3000; i += 2) expected.remove(key("many:" + i));
            assertThat(c.getBulk(keys)).isEqualTo(expected);
        }
    }

    /** A small helper: the entries of {@code map} whose keys are in {@code keys}. */
    private static final class Maps {
        static Map<String, String> restrict(Map<String, String> map, List<String> keys) {
            Map<String, String> out = new HashMap<>();
            for (String k : keys) if (map.containsKey(k)) out.put(k, map.get(k));
            return out;
        }
    }

    @Test
    void concurrentClientsEachWithTheirOwnConnection() throws Exception {
        int clients = 4, rounds = 150;
        try (Client setup = client()) {
            assertThat(setup.mc().set(key("shared"), 0, "0").get()).isTrue();
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
                            assertThat(c.set(key, 0, value).get()).isTrue();
                            mine.put(key, value);
                            assertThat((byte[]) c.get(key)).isEqualTo(value);
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
                    Map<String, Object> got = c.getBulk(mine.keySet());
                    assertThat(got.keySet()).isEqualTo(mine.keySet());
                    for (var e : mine.entrySet()) assertThat((byte[]) got.get(e.getKey())).isEqualTo(e.getValue());
                }
                assertThat(c.get(key("shared"))).as("every incr counted once").isEqualTo(Integer.toString(clients * rounds));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A server of its own with the offload attached. Both engines are covered, one per protocol
     * (the text run on the interpreter, the binary run on the JIT), to keep the class short;
     * {@code OffloadTest} covers the offload itself on both engines.
     */
    @Test
    void withTheOffloadOnWhatTheClientStoresIsServedAtTheHookAndTheReverse() throws Exception {
        String engine = binary() ? "jit" : "interpreter";
        try (MemcachedServer offloaded = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                        .withBudget(Duration.ofSeconds(2)).withOffload(OffloadTest.offloadObject()));
                Client client = Client.of(offloaded.tcpAddress(), protocol)) {
            MemcachedClient c = client.mc();
            InetSocketAddress udp = offloaded.udpAddress().orElseThrow();
            PacketHook hook = offloaded.hook().orElseThrow();
            assertThat(offloaded.offloaded()).isTrue();

            assertThat(c.set("k", 0, "from-spymemcached").get()).isTrue();
            assertThat(body(McClient.udp(udp, 1, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 17\r\nfrom-spymemcached\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).as("answered by the extension").isEqualTo(1);

            // Stored by the extension at the hook (kflex_malloc in the heap), read by the client over TCP.
            assertThat(body(McClient.udp(udp, 2, "set viahook 0 0 5\r\nhello\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(2);
            assertThat(c.get("viahook")).isEqualTo("hello");
            assertThat(c.append("viahook", " world").get()).isTrue();
            assertThat(body(McClient.udp(udp, 3, "get viahook\r\n", 1)[0])).isEqualTo("VALUE viahook 0 11\r\nhello world\r\nEND\r\n");

            CASValue<Object> v = c.gets("k");
            assertThat(c.cas("k", v.getCas(), "swapped").equals(CASResponse.OK)).isTrue();
            assertThat(body(McClient.udp(udp, 4, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 7\r\nswapped\r\nEND\r\n");
            assertThat(c.delete("k").get()).isTrue();
            assertThat(body(McClient.udp(udp, 5, "get k\r\n", 1)[0])).as("a miss, passed to Java").isEqualTo("END\r\n");
            assertThat(c.incr("k", 1, 41)).isEqualTo(41);
            assertThat(c.incr("k", 1)).isEqualTo(42);
            assertThat(body(McClient.udp(udp, 6, "get k\r\n", 1)[0])).as("a counter the client made, at the hook")
                    .isEqualTo("VALUE k 0 2\r\n42\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(5);

            // The client's own traffic is all TCP: its many keys are served by Java, the hook stays as it was.
            long tx = hook.count(XdpAction.TX), passed = hook.count(XdpAction.PASS);
            Map<String, String> many = new HashMap<>();
            for (int i = 0; i < 500; i++) many.put("o" + i, "value" + i);
            for (var e : many.entrySet()) c.set(e.getKey(), 0, e.getValue());
            assertThat(c.getBulk(many.keySet())).isEqualTo(many);
            assertThat(hook.count(XdpAction.TX)).isEqualTo(tx);
            assertThat(hook.count(XdpAction.PASS)).isEqualTo(passed);
            assertThat(hook.fallbacks()).isZero();
        }
    }
}
