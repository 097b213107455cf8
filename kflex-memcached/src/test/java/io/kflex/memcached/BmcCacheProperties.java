package io.kflex.memcached;

import static io.kflex.memcached.TextProtocolTest.body;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.hooks.XdpAction;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

/**
 * Any interleaving of writes over TCP (text or binary protocol) and UDP with GETs over all three,
 * against a BMC-mode server:
 * every GET answers what a plain map holding the acknowledged writes answers, whether Java or
 * the cache at the hook served it. Two of the keys share a cache entry.
 */
class BmcCacheProperties {
    private static final Map<String, MemcachedServer> SERVERS = new ConcurrentHashMap<>();
    /** "a", "b", and a key whose entry is a's (same FNV-1a slot). */
    static final List<String> KEYS = List.of("a", "b", colliderOf("a"));

    static String colliderOf(String key) {
        long slot = HeapStore.hash(BmcCacheTest.bytes(key)) & 65535;
        for (int i = 0; ; i++) {
            String k = "k" + i;
            if ((HeapStore.hash(BmcCacheTest.bytes(k)) & 65535) == slot) return k;
        }
    }

    /** How a request reaches the server. */
    enum Via { TEXT, UDP, BINARY }

    sealed interface Op {}

    record Get(String key, Via via) implements Op {}

    record Set(String key, String value, Via via) implements Op {}

    record Delete(String key, Via via) implements Op {}

    record Append(String key, String suffix, Via via) implements Op {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<String> key = Arbitraries.of(KEYS);
        Arbitrary<Via> via = Arbitraries.of(Via.class);
        Arbitrary<Via> mostlyUdp = Arbitraries.frequency(net.jqwik.api.Tuple.of(4, Via.UDP), net.jqwik.api.Tuple.of(1, Via.TEXT),
                net.jqwik.api.Tuple.of(1, Via.BINARY));
        Arbitrary<String> value = Arbitraries.oneOf(Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(12),
                Arbitraries.of(BmcCache.VALUE_MAX - 1, BmcCache.VALUE_MAX, BmcCache.VALUE_MAX + 1).map("z"::repeat));
        Arbitrary<Op> op = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Combinators.combine(key, mostlyUdp).as((k, u) -> (Op) new Get(k, u))),
                net.jqwik.api.Tuple.of(3, Combinators.combine(key, value, via).as((k, v, u) -> (Op) new Set(k, v, u))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(key, via).as((k, u) -> (Op) new Delete(k, u))),
                net.jqwik.api.Tuple.of(1, Combinators.combine(key, via).as((k, u) -> (Op) new Append(k, "+", u))));
        return op.list().ofMinSize(1).ofMaxSize(40);
    }

    @Property(tries = 40)
    void getsAnswerTheLastAcknowledgedWriteOnTheJit(@ForAll("ops") List<Op> ops) throws Exception {
        check("jit", ops);
    }

    /** The property is only worth something if the hook serves many of the GETs. */
    @Example
    void udpGetsAfterAFillAreHits() throws Exception {
        List<Op> ops = List.of(new Set("a", "1", Via.TEXT), new Get("a", Via.UDP), new Get("a", Via.UDP), new Set("a", "2", Via.UDP),
                new Get("a", Via.UDP), new Set("a", "3", Via.BINARY), new Get("a", Via.BINARY), new Get("a", Via.UDP));
        long before = hits("jit");
        check("jit", ops);
        assertThat(hits("jit") - before).as("miss+hit, hit+hit, (invalidated) miss+hit, (invalidated by the binary set, filled by the binary get) hit+hit")
                .isEqualTo(6);
    }

    private static long hits(String engine) throws Exception {
        return server(engine).hook().orElseThrow().count(XdpAction.TX);
    }

    @Property(tries = 25)
    void getsAnswerTheLastAcknowledgedWriteOnTheInterpreter(@ForAll("ops") List<Op> ops) throws Exception {
        check("interpreter", ops);
    }

    private static MemcachedServer server(String engine) {
        return SERVERS.computeIfAbsent(engine, e -> {
            try {
                return BmcCacheTest.start(e);
            } catch (Exception x) {
                throw new IllegalStateException(x);
            }
        });
    }

    private static void check(String engine, List<Op> ops) throws Exception {
        MemcachedServer server = server(engine);
        var udp = server.udpAddress().orElseThrow();
        Map<String, String> model = new HashMap<>();
        try (McClient c = new McClient(server.tcpAddress()); BinClient b = new BinClient(server.tcpAddress())) {
            assertThat(c.call("flush_all\r\n")).isEqualTo("OK");
            int id = 0;
            for (Op op : ops) {
                id++;
                switch (op) {
                    case Get(String k, Via via) -> {
                        String expected = model.containsKey(k)
                                ? "VALUE " + k + " 0 " + model.get(k).length() + "\r\n" + model.get(k) + "\r\nEND\r\n" : "END\r\n";
                        // over UDP twice: a first GET the server answers fills the entry, the second is then a hit
                        for (int round = 0; round < (via == Via.UDP ? 2 : 1); round++) {
                            String got = switch (via) {
                                case UDP -> body(McClient.udp(udp, id, "get " + k + "\r\n", 1)[0]);
                                case TEXT -> c.untilEnd("get " + k + "\r\n").replace("\n", "\r\n");
                                case BINARY -> {
                                    BinClient.Response r = b.call(BinClient.request(BinaryProtocol.GET, k));
                                    yield r.status() == BinaryProtocol.SUCCESS
                                            ? "VALUE " + k + " " + r.flags() + " " + r.value().length + "\r\n" + r.valueText() + "\r\nEND\r\n"
                                            : "END\r\n";
                                }
                            };
                            assertThat(got).as("%s after %s", op, ops).isEqualTo(expected);
                        }
                    }
                    case Set(String k, String v, Via via) -> {
                        String reply = via == Via.BINARY ? binary(b, BinClient.storage(BinaryProtocol.SET, k, 0, 0, v, 0))
                                : write(c, udp, id, via, "set " + k + " 0 0 " + v.length() + "\r\n" + v + "\r\n");
                        assertThat(reply).isEqualTo("STORED");
                        model.put(k, v);
                    }
                    case Delete(String k, Via via) -> {
                        String reply = via == Via.BINARY ? binary(b, BinClient.request(BinaryProtocol.DELETE, k))
                                : write(c, udp, id, via, "delete " + k + "\r\n");
                        assertThat(reply).isEqualTo(model.remove(k) != null ? "DELETED" : "NOT_FOUND");
                    }
                    case Append(String k, String suffix, Via via) -> {
                        String reply = via == Via.BINARY
                                ? binary(b, BinClient.request(BinaryProtocol.APPEND, new byte[0], BinClient.b(k), BinClient.b(suffix), 0, 0))
                                : write(c, udp, id, via, "append " + k + " 0 0 " + suffix.length() + "\r\n" + suffix + "\r\n");
                        assertThat(reply).isEqualTo(model.containsKey(k) ? "STORED" : "NOT_STORED");
                        model.computeIfPresent(k, (key, v) -> v + suffix);
                    }
                }
            }
        }
        assertThat(server.hook().orElseThrow().fallbacks()).isZero();
        assertThat(server.hook().orElseThrow().count(XdpAction.DROP)).isZero();
    }

    private static String write(McClient c, java.net.InetSocketAddress udp, int id, Via via, String command) throws Exception {
        return via == Via.UDP ? body(McClient.udp(udp, id, command, 1)[0]).strip() : c.call(command);
    }

    /** A binary write's answer in the text protocol's words (set, delete and append only). */
    private static String binary(BinClient b, byte[] request) throws Exception {
        BinClient.Response r = b.call(request);
        return switch (r.status()) {
            case BinaryProtocol.SUCCESS -> (request[1] & 0xff) == BinaryProtocol.DELETE ? "DELETED" : "STORED";
            case BinaryProtocol.KEY_ENOENT -> "NOT_FOUND";
            case BinaryProtocol.NOT_STORED -> "NOT_STORED";
            default -> "status " + r.status();
        };
    }

    @AfterContainer
    static void closeServers() {
        SERVERS.values().forEach(MemcachedServer::close);
        SERVERS.clear();
    }
}
