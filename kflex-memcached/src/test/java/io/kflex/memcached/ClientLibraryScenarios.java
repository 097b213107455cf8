package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The scenarios every Java client library is put through against the server over TCP, written
 * once and run by each library's test ({@link SpymemcachedTest}, {@link XmemcachedTest}) in the
 * text and the binary protocol: the commands both libraries issue, values up to 1 MiB, thousands
 * of keys and multi-gets, several clients at once, and a server with the offload attached. Each
 * library's test adds what only that library does or reports. Where the protocols answer
 * differently, each is held to what memcached 1.6.18 answers (checked with both clients against
 * the real server on loopback).
 *
 * <p>Both protocols of a library run against one server; each run's keys carry its protocol's
 * name, so the runs do not see each other's items.
 *
 * @param <C> the library's client
 */
@Timeout(120)
abstract class ClientLibraryScenarios<C extends ClientLibraryScenarios.LibraryClient> {

    /**
     * A library's client as the shared scenarios use it: one connection, each call made as the
     * library makes it and awaited, a refusal coming back as false, null or -1.
     */
    interface LibraryClient extends AutoCloseable {
        boolean set(String key, Object value) throws Exception;

        <T> T get(String key) throws Exception;

        /** One multi-get; absent keys are left out. */
        Map<String, Object> getMulti(Collection<String> keys) throws Exception;

        boolean add(String key, Object value) throws Exception;

        boolean replace(String key, Object value) throws Exception;

        boolean delete(String key) throws Exception;

        boolean append(String key, String suffix) throws Exception;

        boolean prepend(String key, String prefix) throws Exception;

        long incr(String key, long by) throws Exception;

        /** incr that creates an absent key with {@code initial}. */
        long incr(String key, long by, long initial) throws Exception;

        long decr(String key, long by) throws Exception;

        Gets gets(String key) throws Exception;

        /** Whether the value was swapped in. */
        boolean cas(String key, long cas, Object value) throws Exception;

        boolean touch(String key, int exptime) throws Exception;

        <T> T getAndTouch(String key, int exptime) throws Exception;

        Collection<String> versions() throws Exception;

        Map<String, String> stats() throws Exception;

        /** Stores many items the way the library batches requests; whether every one was stored. */
        boolean storeAll(Map<String, String> items) throws Exception;

        /** Deletes many keys the way the library batches requests; whether every one was deleted. */
        boolean deleteAll(Collection<String> keys) throws Exception;
    }

    /** A value and its CAS unique. */
    record Gets(Object value, long cas) {}

    @RegisterExtension
    static final LoopbackServer SERVER = new LoopbackServer();

    /** A client of this run's library and protocol with one connection to {@code address}, shut down by close. */
    abstract C connect(InetSocketAddress address) throws Exception;

    abstract boolean binary();

    C client() throws Exception { return connect(SERVER.get().tcpAddress()); }

    /** {@code name} in this protocol's own key space. */
    String key(String name) { return (binary() ? "binary:" : "text:") + name; }

    @Test
    void theCommandsBothLibrariesIssue() throws Exception {
        try (C c = client(); McClient raw = new McClient(SERVER.get().tcpAddress())) {
            String s = key("s"), fresh = key("fresh"), counter = key("counter"), a = key("a");
            assertThat(c.set(s, "hello")).isTrue();
            assertThat(c.<String>get(s)).isEqualTo("hello");
            assertThat(raw.untilEnd("get " + s + "\r\n")).as("a String is stored as its bytes, flags 0")
                    .isEqualTo("VALUE " + s + " 0 5\nhello\nEND\n");
            assertThat(c.<Object>get(key("missing"))).isNull();
            assertThat(c.add(s, "x")).isFalse();
            assertThat(c.add(fresh, "x")).isTrue();
            assertThat(c.replace(key("nope"), "x")).isFalse();
            assertThat(c.replace(fresh, "y")).isTrue();
            assertThat(c.<String>get(fresh)).isEqualTo("y");
            assertThat(c.set(key("unicode"), "grüße, 世界")).isTrue();
            assertThat(c.<String>get(key("unicode"))).isEqualTo("grüße, 世界");
            assertThat(c.set(key("int"), 42)).isTrue();
            assertThat(c.<Integer>get(key("int"))).as("the transcoder's flags come back").isEqualTo(42);

            assertThat(c.delete(fresh)).isTrue();
            assertThat(c.delete(fresh)).isFalse();
            assertThat(c.<Object>get(fresh)).isNull();

            // incr/decr: the value is stored as decimal digits; the client's default creates an absent key
            // (binary: in the request's extras; text: NOT_FOUND, then an add).
            assertThat(c.set(key("n"), "10")).isTrue();
            assertThat(c.incr(key("n"), 5)).isEqualTo(15);
            assertThat(c.decr(key("n"), 100)).as("decr floors at 0").isZero();
            assertThat(c.incr(counter, 1, 7)).as("absent: created with the default").isEqualTo(7);
            assertThat(c.incr(counter, 1, 7)).isEqualTo(8);
            assertThat(c.<String>get(counter)).as("stored as its decimal digits").isEqualTo("8");
            assertThat(raw.untilEnd("get " + counter + "\r\n")).isEqualTo("VALUE " + counter + " 0 1\n8\nEND\n");

            Gets v = c.gets(s);
            assertThat(v.value()).isEqualTo("hello");
            assertThat(c.cas(s, v.cas() + 1000, "other")).isFalse();
            assertThat(c.cas(s, v.cas(), "swapped")).isTrue();
            assertThat(c.cas(s, v.cas(), "again")).as("the unique changed").isFalse();
            assertThat(c.cas(key("nothere"), 1, "x")).isFalse();
            assertThat(c.gets(s).cas()).isNotEqualTo(v.cas());
            assertThat(c.<String>get(s)).isEqualTo("swapped");

            assertThat(c.set(a, "mid")).isTrue();
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
            } else { // the server knows gat, but both libraries send it only in binary
                assertThatThrownBy(() -> c.getAndTouch(a, 10)).isInstanceOf(UnsupportedOperationException.class);
            }

            assertThat(c.versions()).containsExactly(MemcachedServer.VERSION);
            Map<String, String> stats = c.stats();
            assertThat(stats).containsKeys("curr_items", "get_hits", "cmd_get", "cmd_touch", "limit_maxbytes")
                    .containsEntry("kflex_offload", "off");
            assertThat(Long.parseLong(stats.get("curr_items"))).isPositive();
        }
    }

    /** Each library's test adds what happens above 1 MiB, where the two differ. */
    @Test
    void valuesOfSeveralSizesUpTo1MiBRoundTripExactly() throws Exception {
        Random random = new Random(5);
        try (C c = client(); McClient raw = new McClient(SERVER.get().tcpAddress())) {
            byte[] mib = null;
            // 16,384 is both transcoders' compression threshold: random bytes do not shrink and go as they are, a
            // repeated pattern goes compressed.
            for (int size : new int[] {0, 1, 100, 1392, 16_384, 16_385, 100_000, 1 << 20}) {
                byte[] randomBytes = new byte[size];
                random.nextBytes(randomBytes);
                mib = randomBytes;
                byte[] pattern = new byte[size];
                for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) ('a' + i % 7);
                assertThat(c.set(key("random" + size), randomBytes)).as("set %d random bytes", size).isTrue();
                assertThat(c.set(key("pattern" + size), pattern)).as("set %d pattern bytes", size).isTrue();
                assertThat(c.<byte[]>get(key("random" + size))).as("%d random bytes", size).isEqualTo(randomBytes);
                assertThat(c.<byte[]>get(key("pattern" + size))).as("%d pattern bytes", size).isEqualTo(pattern);
            }
            // What the server holds is what the client sent (in either protocol): 1 MiB of incompressible bytes,
            // uncompressed.
            raw.send("get " + key("random1048576") + "\r\n");
            assertThat(raw.line()).matches("VALUE " + key("random1048576") + " \\d+ 1048576");
            assertThat(raw.read(1 << 20)).isEqualTo(mib);
            assertThat(raw.line()).isEmpty();
            assertThat(raw.line()).isEqualTo("END");
        }
    }

    @Test
    void thousandsOfKeysStoredInABatchAndFetchedWithMultiGets() throws Exception {
        try (C c = client()) {
            Map<String, String> expected = new HashMap<>();
            for (int i = 0; i < 3000; i++) expected.put(key("many:" + i), "v" + i + "-" + Integer.toHexString(i * 7919));
            assertThat(c.storeAll(expected)).isTrue();

            List<String> keys = new ArrayList<>(expected.keySet());
            for (int i = 0; i < 100; i++) keys.add(key("many:absent:" + i));
            assertThat(c.getMulti(keys)).as("one multi-get of 3,100 keys (100 absent)").isEqualTo(expected);

            List<String> even = new ArrayList<>();
            for (int i = 0; i < 3000; i += 2) even.add(key("many:" + i));
            assertThat(c.deleteAll(even)).isTrue();
            even.forEach(expected::remove);
            assertThat(c.getMulti(keys)).isEqualTo(expected);
        }
    }

    @Test
    void concurrentClientsEachWithTheirOwnConnection() throws Exception {
        int clients = 4, rounds = 150;
        try (C setup = client()) {
            assertThat(setup.set(key("shared"), "0")).isTrue();
        }
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        try {
            List<Future<Map<String, byte[]>>> workers = new ArrayList<>();
            for (int t = 0; t < clients; t++) {
                int id = t;
                workers.add(pool.submit(() -> {
                    Map<String, byte[]> mine = new HashMap<>();
                    Random random = new Random(id);
                    try (C c = client()) {
                        for (int i = 0; i < rounds; i++) {
                            String key = key("client" + id + ":" + random.nextInt(50));
                            byte[] value = new byte[random.nextInt(3000)];
                            random.nextBytes(value);
                            assertThat(c.set(key, value)).isTrue();
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
            try (C c = client()) {
                for (Map<String, byte[]> mine : written) {
                    Map<String, Object> got = c.getMulti(mine.keySet());
                    assertThat(got.keySet()).isEqualTo(mine.keySet());
                    for (var e : mine.entrySet()) assertThat((byte[]) got.get(e.getKey())).isEqualTo(e.getValue());
                }
                assertThat(c.<String>get(key("shared"))).as("every incr counted once").isEqualTo(Integer.toString(clients * rounds));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A server of its own with the offload attached, the text run on the interpreter and the
     * binary run on the JIT ({@code OffloadTest} covers both engines for the offload itself). Both
     * libraries speak TCP only, so their GETs never reach the offload at the UDP hook: this shows
     * instead that what the client stores over TCP is what the extension serves over UDP, and the
     * reverse.
     */
    @Test
    void withTheOffloadOnWhatTheClientStoresIsServedAtTheHookAndTheReverse() throws Exception {
        String engine = binary() ? "jit" : "interpreter";
        try (MemcachedServer offloaded = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                        .withBudget(Duration.ofSeconds(2)).withOffload(OffloadTest.offloadObject()));
                C c = connect(offloaded.tcpAddress())) {
            InetSocketAddress udp = offloaded.udpAddress().orElseThrow();
            PacketHook hook = offloaded.hook().orElseThrow();
            assertThat(offloaded.offloaded()).isTrue();

            assertThat(c.set("k", "from-the-client")).isTrue();
            assertThat(body(McClient.udp(udp, 1, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 15\r\nfrom-the-client\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).as("answered by the extension").isEqualTo(1);
            byte[] bytes = new byte[1024];
            new Random(3).nextBytes(bytes);
            assertThat(c.set("bytes", bytes)).isTrue();
            byte[] reply = McClient.udp(udp, 2, "get bytes\r\n", 1)[0];
            assertThat(hook.count(XdpAction.TX)).as("the largest value the extension serves").isEqualTo(2);
            assertThat(Arrays.copyOfRange(reply, reply.length - 1024 - 7, reply.length - 7)).isEqualTo(bytes);

            // Stored by the extension at the hook (kflex_malloc in the heap), read and changed by the client over TCP.
            assertThat(body(McClient.udp(udp, 3, "set viahook 0 0 5\r\nhello\r\n", 1)[0])).isEqualTo("STORED\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(3);
            assertThat(c.<String>get("viahook")).isEqualTo("hello");
            assertThat(c.gets("viahook").cas()).as("a CAS unique from the shared counter").isPositive();
            assertThat(c.append("viahook", " world")).isTrue();
            assertThat(body(McClient.udp(udp, 4, "get viahook\r\n", 1)[0])).isEqualTo("VALUE viahook 0 11\r\nhello world\r\nEND\r\n");

            Gets v = c.gets("k");
            assertThat(c.cas("k", v.cas(), "swapped")).isTrue();
            assertThat(body(McClient.udp(udp, 5, "get k\r\n", 1)[0])).isEqualTo("VALUE k 0 7\r\nswapped\r\nEND\r\n");
            assertThat(c.delete("k")).isTrue();
            assertThat(body(McClient.udp(udp, 6, "get k\r\n", 1)[0])).as("a miss, passed to Java").isEqualTo("END\r\n");
            assertThat(c.incr("k", 1, 41)).isEqualTo(41);
            assertThat(c.incr("k", 1)).isEqualTo(42);
            assertThat(body(McClient.udp(udp, 7, "get k\r\n", 1)[0])).as("a counter the client made, at the hook")
                    .isEqualTo("VALUE k 0 2\r\n42\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(6);

            // The client's own traffic is all TCP: its many keys are served by Java, the hook stays as it was.
            long tx = hook.count(XdpAction.TX), passed = hook.count(XdpAction.PASS);
            Map<String, String> many = new HashMap<>();
            for (int i = 0; i < 500; i++) many.put("o" + i, "value" + i);
            assertThat(c.storeAll(many)).isTrue();
            assertThat(c.getMulti(many.keySet())).isEqualTo(many);
            assertThat(hook.count(XdpAction.TX)).isEqualTo(tx);
            assertThat(hook.count(XdpAction.PASS)).isEqualTo(passed);
            assertThat(hook.fallbacks()).isZero();
            assertThat(c.stats()).containsEntry("kflex_offload", "on");
        }
    }
}
