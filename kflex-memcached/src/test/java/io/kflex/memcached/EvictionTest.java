package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The memory limit and CLOCK eviction through the server: items stored over TCP (Java) and at the
 * UDP hook (the extension) count toward one limit; past it the least recently used go, and keys
 * read often — by Java or by the extension at the hook — stay.
 */
@Timeout(120)
class EvictionTest {
    private static final int LIMIT = 128 * 1024;

    private static Map<String, String> stats(McClient c) throws Exception {
        Map<String, String> stats = new HashMap<>();
        for (String line : c.untilEnd("stats\r\n").lines().toList()) {
            String[] p = line.split(" ");
            if (p.length == 3 && p[0].equals("STAT")) stats.put(p[1], p[2]);
        }
        return stats;
    }

    @Test
    void fillingPastTheLimitEvictsTheLeastRecentlyUsed() throws Exception {
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withPorts(0, -1).withMemoryLimit(LIMIT));
             McClient c = new McClient(server.tcpAddress())) {
            String value = "v".repeat(2000);
            List<String> hot = List.of("hot-a", "hot-b", "hot-c", "hot-d");
            for (String k : hot) assertThat(c.call("set " + k + " 1 0 " + value.length() + "\r\n" + value + "\r\n")).isEqualTo("STORED");
            int stored = 0;
            for (int i = 0; i < 250; i++) {
                assertThat(c.call("set cold" + i + " 0 0 " + value.length() + "\r\n" + value + "\r\n")).isEqualTo("STORED");
                stored++;
                if (i % 4 == 0) assertThat(c.untilEnd("get " + String.join(" ", hot) + "\r\n").lines().filter(l -> l.startsWith("VALUE")))
                        .as("hot keys are still there after %d sets", i).hasSize(hot.size());
            }
            Map<String, String> stats = stats(c);
            assertThat(stats).containsEntry("limit_maxbytes", Integer.toString(LIMIT));
            long evictions = Long.parseLong(stats.get("evictions"));
            long items = Long.parseLong(stats.get("curr_items"));
            assertThat(evictions).as("250 items of 2 KB do not fit in 128 KiB").isPositive();
            assertThat(evictions).isEqualTo(stored + hot.size() - items);
            assertThat(server.store().memoryUsed()).isLessThanOrEqualTo(LIMIT);
            assertThat(c.untilEnd("get cold0\r\n")).as("stored first, never read").isEqualTo("END\n");

            // too large for the limit: memcached's error, in both protocols; the old value goes
            String huge = "h".repeat(LIMIT);
            assertThat(c.call("set hot-a 0 0 " + huge.length() + "\r\n" + huge + "\r\n")).isEqualTo("SERVER_ERROR object too large for cache");
            assertThat(c.untilEnd("get hot-a\r\n")).isEqualTo("END\n");
            try (BinClient b = new BinClient(server.tcpAddress())) {
                BinClient.Response r = b.call(BinClient.storage(BinaryProtocol.SET, "hot-b", 0, 0, huge, 0));
                assertThat(r.status()).isEqualTo(BinaryProtocol.E2BIG);
                assertThat(r.valueText()).isEqualTo("Too large.");
            }
            assertThat(c.call("version\r\n")).startsWith("VERSION");
        }
    }

    @ParameterizedTest
    @MethodSource("io.kflex.memcached.OffloadTest#engines")
    void itemsStoredAtTheHookCountAndKeysReadAtTheHookSurvive(String engine) throws Exception {
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine)
                .withBudget(Duration.ofSeconds(2)).withOffload(OffloadTest.offloadObject()).withMemoryLimit(LIMIT));
             McClient c = new McClient(server.tcpAddress())) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            String value = "w".repeat(1000);
            List<String> hot = List.of("hot-a", "hot-b", "hot-c");
            int request = 1;
            for (String k : hot) {
                assertThat(body(McClient.udp(udp, request++, "set " + k + " 0 0 1000\r\n" + value + "\r\n", 1)[0])).isEqualTo("STORED\r\n");
            }
            for (int i = 0; i < 300; i++) {
                String reply = body(McClient.udp(udp, request++ & 0xffff, "set k" + i + " 0 0 1000\r\n" + value + "\r\n", 1)[0]);
                assertThat(reply).as("set %d", i).isEqualTo("STORED\r\n");
                if (i % 8 == 0) {
                    for (String k : hot) {
                        // read at the hook only: the extension marks the item used, or the hand would take it
                        assertThat(body(McClient.udp(udp, request++ & 0xffff, "get " + k + "\r\n", 1)[0]))
                                .as("%s after %d sets", k, i).isEqualTo("VALUE " + k + " 0 1000\r\n" + value + "\r\nEND\r\n");
                    }
                }
            }
            assertThat(hook.count(XdpAction.TX)).as("sets stored and gets answered by the extension").isGreaterThan(150);
            assertThat(hook.count(XdpAction.PASS)).as("sets past the limit are left to Java, which evicts").isPositive();
            assertThat(server.stats().getHits()).as("no hot GET reached Java").isZero();
            Map<String, String> stats = stats(c);
            long evictions = Long.parseLong(stats.get("evictions"));
            assertThat(evictions).isPositive();
            assertThat(evictions).as("every item stored by either side and not linked was evicted")
                    .isEqualTo(server.store().totalItems() - server.store().currentItems());
            assertThat(server.store().memoryUsed()).isLessThanOrEqualTo(LIMIT)
                    .isEqualTo(HeapStore.DATA * server.store().currentItems() + server.store().bytes());
            assertThat(c.untilEnd("get " + String.join(" ", hot) + "\r\n").lines().filter(l -> l.startsWith("VALUE"))).hasSize(hot.size());
            assertThat(hook.fallbacks()).isZero();
        }
    }

    @Test
    void javaAndTheExtensionStoreAndEvictConcurrentlyWithinTheLimit() throws Exception {
        try (MemcachedServer server = MemcachedServer.start(MemcachedServer.Config.loopback().withThreads(2)
                .withBudget(Duration.ofSeconds(2)).withOffload(OffloadTest.offloadObject()).withMemoryLimit(LIMIT))) {
            var udp = server.udpAddress().orElseThrow();
            long until = System.nanoTime() + 1_000_000_000L;
            var pool = java.util.concurrent.Executors.newFixedThreadPool(4);
            try {
                List<java.util.concurrent.Future<Integer>> tasks = new java.util.ArrayList<>();
                tasks.add(pool.submit(() -> { // text over TCP: sets and gets
                    int n = 0;
                    try (McClient c = new McClient(server.tcpAddress())) {
                        for (; System.nanoTime() < until; n++) {
                            String v = "t".repeat(100 + n % 1500);
                            assertThat(c.call("set text" + n + " 0 0 " + v.length() + "\r\n" + v + "\r\n")).isEqualTo("STORED");
                            assertThat(c.untilEnd("get text" + (n / 2) + "\r\n")).matches("(VALUE text\\d+ 0 \\d+\nt+\n)?END\n");
                        }
                    }
                    return n;
                }));
                tasks.add(pool.submit(() -> { // binary over TCP
                    int n = 0;
                    try (BinClient b = new BinClient(server.tcpAddress())) {
                        for (; System.nanoTime() < until; n++) {
                            assertThat(b.call(BinClient.storage(BinaryProtocol.SET, "bin" + n, 0, 0, "b".repeat(50 + n % 3000), 0)).status())
                                    .isEqualTo(BinaryProtocol.SUCCESS);
                        }
                    }
                    return n;
                }));
                for (int t = 0; t < 2; t++) { // UDP: sets (at the hook, or in Java past the limit) and gets at the hook
                    int thread = t;
                    tasks.add(pool.submit(() -> {
                        int n = 0;
                        for (; System.nanoTime() < until; n++) {
                            String key = "udp" + thread + "-" + n;
                            String v = "u".repeat(1 + n % 1024);
                            assertThat(body(McClient.udp(udp, n & 0xffff, "set " + key + " 0 0 " + v.length() + "\r\n" + v + "\r\n", 1)[0]))
                                    .isEqualTo("STORED\r\n");
                            assertThat(body(McClient.udp(udp, n & 0xffff, "get udp" + thread + "-" + (n / 2) + "\r\n", 1)[0]))
                                    .matches("(VALUE udp\\d-\\d+ 0 \\d+\r\nu+\r\n)?END\r\n");
                        }
                        return n;
                    }));
                }
                for (var t : tasks) assertThat(t.get()).isPositive();
            } finally {
                pool.shutdownNow();
            }
            HeapStore store = server.store();
            assertThat(store.evictions()).isPositive();
            assertThat(store.evictions()).as("every key is new: what is not linked was evicted").isEqualTo(store.totalItems() - store.currentItems());
            assertThat(store.memoryUsed()).as("no charge lost or left behind").isEqualTo(HeapStore.DATA * store.currentItems() + store.bytes())
                    .isLessThanOrEqualTo(LIMIT);
            assertThat(server.hook().orElseThrow().fallbacks()).isZero();
        }
    }
}
