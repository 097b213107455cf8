package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static io.kflex.memcached.TextProtocolTest.header;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.Frames;
import io.kflex.hooks.PacketHook;
import io.kflex.hooks.XdpAction;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The BMC-style cache ({@code bmc_cache.bpf.o}, {@link OffloadMode#BMC}): GET hits answered at the
 * hook from entries the server filled after a first miss; every write of the key, over TCP or
 * UDP, drops its entry before the write is acknowledged.
 */
@Timeout(120)
class BmcCacheTest {
    static Stream<String> engines() { return Stream.of("interpreter", "jit"); }

    static MemcachedServer start(String engine) throws Exception {
        return MemcachedServer.start(MemcachedServer.Config.loopback().withEngine(engine).withBudget(Duration.ofSeconds(2))
                .withMode(OffloadMode.BMC));
    }

    @ParameterizedTest
    @MethodSource("engines")
    void aMissFillsTheEntryAndTheNextGetIsAnsweredAtTheHook(String engine) throws Exception {
        try (MemcachedServer server = start(engine); McClient c = new McClient(server.tcpAddress())) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            BmcCache cache = server.bmc().orElseThrow();
            assertThat(server.mode()).isEqualTo(OffloadMode.BMC);
            assertThat(server.offloaded()).isTrue();
            assertThat(server.offload().orElseThrow().name()).isEqualTo("bmc_udp");
            assertThat(c.call("set k 7 0 5\r\nhello\r\n")).isEqualTo("STORED");

            byte[] first = McClient.udp(udp, 0x1111, "get k\r\n", 1)[0];
            assertThat(body(first)).isEqualTo("VALUE k 7 5\r\nhello\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).as("a miss at the hook").isZero();
            assertThat(server.stats().udpRequests()).isEqualTo(1);
            assertThat(cache.fills()).isEqualTo(1);
            assertThat(cache.valid(cache.slotOf(bytes("k")))).isTrue();

            byte[] second = McClient.udp(udp, 0x2222, "get k\r\n", 1)[0];
            assertThat(header(second)).containsExactly(0x2222, 0, 1, 0);
            assertThat(body(second)).isEqualTo("VALUE k 7 5\r\nhello\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).as("answered from the cache").isEqualTo(1);
            assertThat(server.stats().udpRequests()).as("Java never saw it").isEqualTo(1);

            // the largest cached reply: a 250-byte key, flags 2^32-1, BMC's 1,000 value bytes; a TCP GET fills too
            String key250 = "x".repeat(250), value = "v".repeat(BmcCache.VALUE_MAX);
            assertThat(c.call("set " + key250 + " 4294967295 0 1000\r\n" + value + "\r\n")).isEqualTo("STORED");
            assertThat(c.untilEnd("get " + key250 + "\r\n")).isEqualTo("VALUE " + key250 + " 4294967295 1000\n" + value + "\nEND\n");
            assertThat(body(McClient.udp(udp, 3, "get " + key250 + "\r\n", 1)[0]))
                    .isEqualTo("VALUE " + key250 + " 4294967295 1000\r\n" + value + "\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(2);

            // a miss in the store is not cached: the next GET reaches Java again
            assertThat(body(McClient.udp(udp, 4, "get nope\r\n", 1)[0])).isEqualTo("END\r\n");
            assertThat(body(McClient.udp(udp, 5, "get nope\r\n", 1)[0])).isEqualTo("END\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(2);
            assertThat(c.untilEnd("stats\r\n")).contains("STAT kflex_offload on", "STAT kflex_offload_mode bmc", "STAT kflex_offload_hits 2",
                    "STAT kflex_bmc_fills 2");
            assertThat(hook.fallbacks()).isZero();
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void valuesOverTheBoundAndExpiringItemsAreNeverCached(String engine) throws Exception {
        try (MemcachedServer server = start(engine); McClient c = new McClient(server.tcpAddress())) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            BmcCache cache = server.bmc().orElseThrow();
            String big = "b".repeat(BmcCache.VALUE_MAX + 1);
            assertThat(c.call("set big 0 0 1001\r\n" + big + "\r\n")).isEqualTo("STORED");
            assertThat(c.call("set later 0 3600 3\r\nabc\r\n")).isEqualTo("STORED");
            assertThat(c.call("set a 0 0 1\r\n1\r\n")).isEqualTo("STORED");
            for (int round = 0; round < 3; round++) {
                assertThat(body(McClient.udp(udp, 10 + round, "get big\r\n", 1)[0])).isEqualTo("VALUE big 0 1001\r\n" + big + "\r\nEND\r\n");
                assertThat(body(McClient.udp(udp, 20 + round, "get later\r\n", 1)[0])).isEqualTo("VALUE later 0 3\r\nabc\r\nEND\r\n");
            }
            // several keys (a get the hook leaves to Java) fill a's entry; a's own get is then a hit
            assertThat(body(McClient.udp(udp, 30, "get a big\r\n", 1)[0])).startsWith("VALUE a 0 1\r\n1\r\nVALUE big 0 1001\r\n");
            assertThat(hook.count(XdpAction.TX)).isZero();
            assertThat(cache.valid(cache.slotOf(bytes("big")))).isFalse();
            assertThat(cache.valid(cache.slotOf(bytes("later")))).isFalse();
            assertThat(body(McClient.udp(udp, 31, "get a\r\n", 1)[0])).isEqualTo("VALUE a 0 1\r\n1\r\nEND\r\n");
            assertThat(hook.count(XdpAction.TX)).isEqualTo(1);
            assertThat(cache.fills()).isEqualTo(1);
        }
    }

    /** Fills key's entry (a miss, then a hit at the hook) and checks the hit. */
    private static void cached(MemcachedServer server, String key, String expectedBody) throws Exception {
        var udp = server.udpAddress().orElseThrow();
        PacketHook hook = server.hook().orElseThrow();
        assertThat(body(McClient.udp(udp, 1, "get " + key + "\r\n", 1)[0])).isEqualTo(expectedBody);
        long tx = hook.count(XdpAction.TX);
        assertThat(body(McClient.udp(udp, 2, "get " + key + "\r\n", 1)[0])).isEqualTo(expectedBody);
        assertThat(hook.count(XdpAction.TX)).as("served from the cache").isEqualTo(tx + 1);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void everyWriteOverTcpOrUdpDropsTheEntryBeforeItIsAcknowledged(String engine) throws Exception {
        try (MemcachedServer server = start(engine); McClient c = new McClient(server.tcpAddress())) {
            var udp = server.udpAddress().orElseThrow();
            assertThat(c.call("set k 0 0 2\r\nv1\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 0 2\r\nv1\r\nEND\r\n");
            assertThat(c.call("set k 1 0 2\r\nv2\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 1 2\r\nv2\r\nEND\r\n");
            assertThat(body(McClient.udp(udp, 3, "set k 2 0 2\r\nv3\r\n", 1)[0])).isEqualTo("STORED\r\n");
            cached(server, "k", "VALUE k 2 2\r\nv3\r\nEND\r\n");
            assertThat(c.call("append k 0 0 1\r\nx\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 2 3\r\nv3x\r\nEND\r\n");
            assertThat(body(McClient.udp(udp, 4, "prepend k 0 0 1\r\ny\r\n", 1)[0])).isEqualTo("STORED\r\n");
            cached(server, "k", "VALUE k 2 4\r\nyv3x\r\nEND\r\n");
            String cas = c.untilEnd("gets k\r\n").lines().findFirst().orElseThrow().split(" ")[4];
            cached(server, "k", "VALUE k 2 4\r\nyv3x\r\nEND\r\n");
            assertThat(c.call("cas k 5 0 2 " + cas + "\r\nv4\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 5 2\r\nv4\r\nEND\r\n");
            assertThat(c.call("replace k 6 0 2\r\n10\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 6 2\r\n10\r\nEND\r\n");
            assertThat(c.call("incr k 5\r\n")).isEqualTo("15");
            cached(server, "k", "VALUE k 6 2\r\n15\r\nEND\r\n");
            assertThat(body(McClient.udp(udp, 5, "decr k 6\r\n", 1)[0])).isEqualTo("9\r\n");
            cached(server, "k", "VALUE k 6 1\r\n9\r\nEND\r\n");
            // touch gives the item an expiry: it must not be served from the cache any more
            assertThat(c.call("touch k 3600\r\n")).isEqualTo("TOUCHED");
            long tx = server.hook().orElseThrow().count(XdpAction.TX);
            assertThat(body(McClient.udp(udp, 6, "get k\r\n", 1)[0])).isEqualTo("VALUE k 6 1\r\n9\r\nEND\r\n");
            assertThat(body(McClient.udp(udp, 7, "get k\r\n", 1)[0])).isEqualTo("VALUE k 6 1\r\n9\r\nEND\r\n");
            assertThat(server.hook().orElseThrow().count(XdpAction.TX)).isEqualTo(tx);
            assertThat(c.call("set k 0 0 2\r\nv5\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 0 2\r\nv5\r\nEND\r\n");
            assertThat(c.call("delete k\r\n")).isEqualTo("DELETED");
            assertThat(body(McClient.udp(udp, 8, "get k\r\n", 1)[0])).isEqualTo("END\r\n");
            assertThat(c.call("set k 0 0 2\r\nv6\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 0 2\r\nv6\r\nEND\r\n");
            assertThat(body(McClient.udp(udp, 9, "delete k\r\n", 1)[0])).isEqualTo("DELETED\r\n");
            assertThat(body(McClient.udp(udp, 10, "get k\r\n", 1)[0])).isEqualTo("END\r\n");
            assertThat(c.call("set k 0 0 2\r\nv7\r\n")).isEqualTo("STORED");
            cached(server, "k", "VALUE k 0 2\r\nv7\r\nEND\r\n");
            assertThat(c.call("flush_all\r\n")).isEqualTo("OK");
            assertThat(body(McClient.udp(udp, 11, "get k\r\n", 1)[0])).isEqualTo("END\r\n");
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void theExtensionItselfInvalidatesOnTheUdpWritesItSees(String engine) throws Exception {
        try (MemcachedServer server = start(engine); McClient c = new McClient(server.tcpAddress())) {
            PacketHook hook = server.hook().orElseThrow();
            BmcCache cache = server.bmc().orElseThrow();
            int slot = cache.slotOf(bytes("key1"));
            InetSocketAddress client = new InetSocketAddress("127.0.0.1", 40000), to = server.udpAddress().orElseThrow();
            for (String write : List.of("set key1 0 0 1\r\nx\r\n", "delete key1\r\n", "incr key1 1\r\n", "touch key1 10\r\n",
                    "append key1 0 0 1 noreply\r\nx\r\n", "replace key1 0 0 1\r\nx\r\n", "cas key1 0 0 1 1\r\nx\r\n")) {
                assertThat(c.call("set key1 0 0 1\r\n5\r\n")).isEqualTo("STORED");
                cached(server, "key1", "VALUE key1 0 1\r\n5\r\nEND\r\n");
                // the frame goes to the hook only (Java never sees it): the extension alone clears the entry
                byte[] frame = Frames.udp(client, to, request(write));
                PacketHook.Result r = hook.process(frame, 0);
                assertThat(r.action()).as(write).isEqualTo(XdpAction.PASS);
                assertThat(r.frame()).as("passed unchanged").isEqualTo(frame);
                assertThat(cache.valid(slot)).as(write).isFalse();
            }
            // reads and other commands leave the entry alone
            assertThat(c.call("set key1 0 0 1\r\n5\r\n")).isEqualTo("STORED");
            cached(server, "key1", "VALUE key1 0 1\r\n5\r\nEND\r\n");
            for (String other : List.of("gets key1\r\n", "get key1 key2\r\n", "version\r\n", "stats\r\n", "setx key1 0 0 1\r\nx\r\n")) {
                assertThat(hook.process(Frames.udp(client, to, request(other)), 0).action()).as(other).isEqualTo(XdpAction.PASS);
                assertThat(cache.valid(slot)).as(other).isTrue();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("engines")
    void concurrentWritersNeverLeaveAStaleValueBehindAnAcknowledgedWrite(String engine) throws Exception {
        try (MemcachedServer server = start(engine)) {
            var udp = server.udpAddress().orElseThrow();
            PacketHook hook = server.hook().orElseThrow();
            String[] keys = {"c0", "c1"};
            AtomicLong[] acked = {new AtomicLong(), new AtomicLong()};
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            try (McClient setup = new McClient(server.tcpAddress())) {
                for (String k : keys) assertThat(setup.call("set " + k + " 0 0 1\r\n0\r\n")).isEqualTo("STORED");
            }
            List<Thread> threads = new ArrayList<>();
            // writer: versions 1, 2, ... of each key, alternately over TCP and UDP; a version counts once acknowledged
            threads.add(Thread.ofPlatform().start(() -> {
                try (McClient c = new McClient(server.tcpAddress())) {
                    for (long v = 1; !stop.get(); v++) {
                        int k = (int) (v % 2);
                        String cmd = "set " + keys[k] + " 0 0 " + Long.toString(v).length() + "\r\n" + v + "\r\n";
                        String reply = v % 3 == 0 ? body(McClient.udp(udp, (int) v & 0xffff, cmd, 1)[0]).strip() : c.call(cmd);
                        if (!reply.equals("STORED")) problems.add("set answered " + reply);
                        acked[k].set(v);
                    }
                } catch (Exception e) {
                    problems.add("writer: " + e);
                }
            }));
            // readers over UDP: a reply may be newer than what was acknowledged before the GET was sent, never older
            for (int r = 0; r < 2; r++) {
                int id = r;
                threads.add(Thread.ofPlatform().start(() -> {
                    try (DatagramSocket s = new DatagramSocket()) {
                        s.setSoTimeout(5000);
                        for (int i = 0; !stop.get(); i++) {
                            int k = (i + id) % 2;
                            long floor = acked[k].get();
                            String reply = udpGet(s, udp, keys[k]);
                            String[] lines = reply.split("\r\n");
                            if (lines.length != 3 || !lines[2].equals("END")) {
                                problems.add("bad reply " + reply);
                                continue;
                            }
                            long seen = Long.parseLong(lines[1]);
                            if (seen < floor) problems.add(keys[k] + ": read version " + seen + " after version " + floor + " was acknowledged");
                        }
                    } catch (Exception e) {
                        problems.add("reader: " + e);
                    }
                }));
            }
            Thread.sleep(1500);
            stop.set(true);
            for (Thread t : threads) t.join(10_000);
            assertThat(problems).isEmpty();
            assertThat(hook.count(XdpAction.TX)).as("some reads were served from the cache").isPositive();
            assertThat(hook.fallbacks()).isZero();
        }
    }

    @org.junit.jupiter.api.Test
    void aFillThatAWriteOvertookIsGivenUp() throws Exception {
        try (MemcachedServer server = start("jit")) {
            BmcCache cache = server.bmc().orElseThrow();
            byte[] key = bytes("race");
            int slot = cache.slotOf(key);
            HeapStore.Item old = new HeapStore.Item(key, 0, 0, 1, bytes("old"));

            long ticket = cache.ticket(key);   // the server is about to read the store...
            cache.written(key);                // ...a write of the key completes meanwhile...
            cache.filled(key, ticket, old);    // ...and the fill with what it read comes late
            assertThat(cache.valid(slot)).as("the older value must not be cached").isFalse();
            assertThat(cache.racedFills()).isEqualTo(1);

            // a fill that nothing overtook is cached; a write of another key of the same entry drops it too
            cache.filled(key, cache.ticket(key), old);
            assertThat(cache.valid(slot)).isTrue();
            byte[] neighbour = bytes(BmcCacheProperties.colliderOf("race"));
            assertThat(cache.slotOf(neighbour)).isEqualTo(slot);
            ticket = cache.ticket(key);
            cache.written(neighbour);
            assertThat(cache.valid(slot)).as("a write drops the entry").isFalse();
            cache.filled(key, ticket, old);
            assertThat(cache.valid(slot)).isFalse();
            assertThat(cache.racedFills()).isEqualTo(2);
            assertThat(cache.fills()).isEqualTo(1);
        }
    }

    private static String udpGet(DatagramSocket s, InetSocketAddress server, String key) throws Exception {
        byte[] request = request("get " + key + "\r\n").array();
        s.send(new DatagramPacket(request, request.length, server));
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        s.receive(p);
        return new String(p.getData(), 8, p.getLength() - 8, StandardCharsets.ISO_8859_1);
    }

    /** A memcached UDP payload: frame header (request 1, sequence 0, count 1), then the text. */
    static ByteBuffer request(String text) {
        byte[] b = bytes(text);
        return ByteBuffer.allocate(8 + b.length).putShort((short) 1).putShort((short) 0).putShort((short) 1).putShort((short) 0).put(b).flip();
    }

    static byte[] bytes(String s) { return s.getBytes(StandardCharsets.ISO_8859_1); }
}
