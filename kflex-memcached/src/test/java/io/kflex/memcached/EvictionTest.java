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
}
