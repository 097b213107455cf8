package io.kflex.memcached;

import static io.kflex.memcached.BinClient.b;
import static io.kflex.memcached.BinClient.counter;
import static io.kflex.memcached.BinClient.request;
import static io.kflex.memcached.BinClient.simple;
import static io.kflex.memcached.BinClient.storage;
import static io.kflex.memcached.BinClient.touch;
import static io.kflex.memcached.BinaryProtocol.*;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The binary protocol over TCP (and one request over UDP), through raw frames; the answers are
 * memcached 1.6.18's, as observed on loopback.
 */
@Timeout(60)
class BinaryProtocolTest {
    @RegisterExtension
    static final LoopbackServer SERVER = new LoopbackServer();

    private static BinClient client() throws Exception {
        return new BinClient(SERVER.get().tcpAddress());
    }

    @Test
    void getsAndStoresWithCasSemantics() throws Exception {
        try (BinClient c = client()) {
            BinClient.Response set = c.call(request(SET, ByteBuffer.allocate(8).putInt(0xdeadbeef).putInt(0).array(), b("g"), b("hello"), 0, 77));
            assertThat(set.opcode()).isEqualTo(SET);
            assertThat(set.status()).isEqualTo(SUCCESS);
            assertThat(set.opaque()).as("the opaque is echoed").isEqualTo(77);
            assertThat(set.cas()).isPositive();

            BinClient.Response get = c.call(request(GET, "g"));
            assertThat(get.status()).isEqualTo(SUCCESS);
            assertThat(get.flags()).isEqualTo(0xdeadbeef);
            assertThat(get.key()).as("GET has no key in its answer").isEmpty();
            assertThat(get.valueText()).isEqualTo("hello");
            assertThat(get.cas()).isEqualTo(set.cas());
            BinClient.Response getk = c.call(request(GETK, "g"));
            assertThat(getk.keyText()).isEqualTo("g");
            assertThat(getk.valueText()).isEqualTo("hello");

            BinClient.Response miss = c.call(request(GET, "g-none"));
            assertThat(miss.status()).isEqualTo(KEY_ENOENT);
            assertThat(miss.valueText()).isEqualTo("Not found");
            BinClient.Response missk = c.call(request(GETK, "g-none"));
            assertThat(missk.status()).isEqualTo(KEY_ENOENT);
            assertThat(missk.keyText()).as("GETK names the key it missed").isEqualTo("g-none");
            assertThat(missk.value()).isEmpty();

            // add fails on an existing key with "exists", replace on a missing one with "not found"
            assertThat(c.call(storage(ADD, "g", 0, 0, "x", 0)).valueText()).isEqualTo("Data exists for key.");
            assertThat(c.call(storage(REPLACE, "g-none", 0, 0, "x", 0)).status()).isEqualTo(KEY_ENOENT);
            assertThat(c.call(storage(ADD, "g-added", 0, 0, "x", 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(storage(REPLACE, "g-added", 3, 0, "y", 0)).status()).isEqualTo(SUCCESS);

            // a CAS on set/add/replace/append/delete/incr: a stale one is refused with "exists"
            long cas = c.call(request(GET, "g")).cas();
            assertThat(c.call(storage(SET, "g", 0, 0, "stale", cas + 1000)).status()).isEqualTo(KEY_EEXISTS);
            assertThat(c.call(storage(SET, "g-none", 0, 0, "x", cas)).status()).isEqualTo(KEY_ENOENT);
            BinClient.Response swapped = c.call(storage(SET, "g", 1, 0, "swapped", cas));
            assertThat(swapped.status()).isEqualTo(SUCCESS);
            assertThat(swapped.cas()).isNotEqualTo(cas);
            assertThat(c.call(storage(REPLACE, "g", 1, 0, "again", cas)).status()).as("the old CAS is stale now").isEqualTo(KEY_EEXISTS);
            assertThat(c.call(request(APPEND, new byte[0], b("g"), b("!"), cas, 0)).status()).isEqualTo(KEY_EEXISTS);
            assertThat(c.call(request(APPEND, new byte[0], b("g"), b("!"), swapped.cas(), 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(PREPEND, new byte[0], b("g"), b("<"), 0, 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(GET, "g")).valueText()).isEqualTo("<swapped!");
            assertThat(c.call(request(APPEND, new byte[0], b("g-none"), b("x"), 0, 0)).valueText()).isEqualTo("Not stored.");
            long current = c.call(request(GET, "g")).cas();
            assertThat(c.call(request(DELETE, new byte[0], b("g"), new byte[0], current + 1, 0)).status()).isEqualTo(KEY_EEXISTS);
            assertThat(c.call(request(DELETE, new byte[0], b("g"), new byte[0], current, 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(DELETE, "g")).valueText()).isEqualTo("Not found");

            // keys are any bytes in the binary protocol, spaces and control bytes included
            assertThat(c.call(storage(SET, "a b\u0001", 0, 0, "odd", 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(GET, "a b\u0001")).valueText()).isEqualTo("odd");
            assertThat(c.call(storage(SET, "x".repeat(250), 0, 0, "v", 0)).status()).isEqualTo(SUCCESS);
        }
    }

    @Test
    void incrementAndDecrementWithInitialValuesAndCas() throws Exception {
        try (BinClient c = client()) {
            BinClient.Response created = c.call(counter(INCREMENT, "n", 5, 100, 0, 0));
            assertThat(created.status()).isEqualTo(SUCCESS);
            assertThat(created.counter()).as("a missing counter starts at the initial value").isEqualTo(100);
            assertThat(c.call(counter(INCREMENT, "n", 5, 100, 0, 0)).counter()).isEqualTo(105);
            assertThat(c.call(counter(DECREMENT, "n", 1000, 0, 0, 0)).counter()).as("decr stops at 0").isZero();
            assertThat(c.call(request(GET, "n")).valueText()).isEqualTo("0");
            assertThat(c.call(counter(INCREMENT, "n-none", 1, 0, -1, 0)).status()).as("expiration 0xffffffff: no initial value")
                    .isEqualTo(KEY_ENOENT);
            assertThat(c.call(storage(SET, "max", 0, 0, "18446744073709551615", 0)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(counter(INCREMENT, "max", 2, 0, 0, 0)).counter()).as("incr wraps at 2^64").isEqualTo(1);
            assertThat(c.call(storage(SET, "text", 0, 0, "abc", 0)).status()).isEqualTo(SUCCESS);
            BinClient.Response bad = c.call(counter(INCREMENT, "text", 1, 0, 0, 0));
            assertThat(bad.status()).isEqualTo(DELTA_BADVAL);
            assertThat(bad.valueText()).isEqualTo("Non-numeric server-side value for incr or decr");
            long cas = c.call(request(GET, "n")).cas();
            assertThat(c.call(counter(INCREMENT, "n", 1, 0, 0, cas + 1)).status()).isEqualTo(KEY_EEXISTS);
            BinClient.Response ok = c.call(counter(INCREMENT, "n", 1, 0, 0, cas));
            assertThat(ok.counter()).isEqualTo(1);
            assertThat(ok.cas()).isEqualTo(c.call(request(GET, "n")).cas());
            BinClient.Response withExpiry = c.call(counter(INCREMENT, "n-exp", 1, 42, 100, 0));
            assertThat(withExpiry.counter()).isEqualTo(42);
            assertThat(c.call(request(GET, "n-exp")).flags()).isZero();
        }
    }

    @Test
    void quietCommandsAreSilentUntilTheNoopThatEndsTheBatch() throws Exception {
        try (BinClient c = client()) {
            c.send(storage(SETQ, "q1", 1, 0, "one", 0), storage(SETQ, "q2", 2, 0, "two", 0),
                    request(GETQ, "q-none"), request(GETKQ, "q-none"), request(GETKQ, "q1"), request(GETQ, "q2"),
                    storage(ADDQ, "q1", 0, 0, "x", 0), // an error: answered even though quiet
                    counter(INCREMENTQ, "q-count", 1, 7, 0, 0), request(DELETEQ, "q2"), request(APPENDQ, new byte[0], b("q1"), b("+"), 0, 0),
                    request(NOOP, new byte[0], new byte[0], new byte[0], 0, 99));
            BinClient.Response first = c.read();
            assertThat(first.opcode()).isEqualTo(GETKQ);
            assertThat(first.keyText()).isEqualTo("q1");
            assertThat(first.valueText()).isEqualTo("one");
            BinClient.Response second = c.read();
            assertThat(second.opcode()).isEqualTo(GETQ);
            assertThat(second.valueText()).isEqualTo("two");
            BinClient.Response refused = c.read();
            assertThat(refused.opcode()).isEqualTo(ADDQ);
            assertThat(refused.status()).isEqualTo(KEY_EEXISTS);
            BinClient.Response noop = c.read();
            assertThat(noop.opcode()).as("nothing else before the noop").isEqualTo(NOOP);
            assertThat(noop.opaque()).isEqualTo(99);
            assertThat(c.call(request(GET, "q1")).valueText()).isEqualTo("one+");
            assertThat(c.call(request(GET, "q2")).status()).isEqualTo(KEY_ENOENT);
            assertThat(c.call(request(GET, "q-count")).valueText()).isEqualTo("7");
            // quiet errors: a missing key for deleteq/incrq/prependq is still answered
            c.send(request(DELETEQ, "q-none"), counter(DECREMENTQ, "q-none", 1, 0, -1, 0), request(PREPENDQ, new byte[0], b("q-none"), b("x"), 0, 0),
                    simple(NOOP));
            assertThat(c.read().status()).isEqualTo(KEY_ENOENT);
            assertThat(c.read().status()).isEqualTo(KEY_ENOENT);
            assertThat(c.read().status()).isEqualTo(NOT_STORED);
            assertThat(c.read().opcode()).isEqualTo(NOOP);
        }
    }

    @Test
    void touchAndGetAndTouch() throws Exception {
        try (BinClient c = client()) {
            assertThat(c.call(storage(SET, "t", 5, 0, "tv", 0)).status()).isEqualTo(SUCCESS);
            BinClient.Response touched = c.call(touch(TOUCH, "t", 100));
            assertThat(touched.status()).isEqualTo(SUCCESS);
            assertThat(touched.flags()).isEqualTo(5);
            assertThat(touched.value()).as("touch returns no value").isEmpty();
            BinClient.Response gat = c.call(touch(GAT, "t", 0));
            assertThat(gat.valueText()).isEqualTo("tv");
            BinClient.Response gatk = c.call(touch(GATK, "t", 0));
            assertThat(gatk.keyText()).isEqualTo("t");
            assertThat(c.call(touch(TOUCH, "t-none", 1)).valueText()).isEqualTo("Not found");
            assertThat(c.call(touch(GATK, "t-none", 1)).keyText()).isEqualTo("t-none");
            c.send(touch(GATQ, "t-none", 1), touch(GATKQ, "t-none", 1), simple(NOOP));
            assertThat(c.read().opcode()).as("quiet misses say nothing").isEqualTo(NOOP);
            // an absolute expiration time in the past expires the item at once
            assertThat(c.call(storage(SET, "t-gone", 0, 1_000_000_000, "x", 0)).status()).as("absolute, in 2001").isEqualTo(SUCCESS);
            assertThat(c.call(request(GET, "t-gone")).status()).isEqualTo(KEY_ENOENT);
        }
    }

    @Test
    void versionStatsAndCommandsMemcachedAnswersAsUnknown() throws Exception {
        try (BinClient c = client()) {
            assertThat(c.call(simple(VERSION)).valueText()).isEqualTo(MemcachedServer.VERSION);
            c.send(request(STAT, ""));
            Map<String, String> stats = new HashMap<>();
            List<String> order = new ArrayList<>();
            while (true) {
                BinClient.Response r = c.read();
                assertThat(r.opcode()).isEqualTo(STAT);
                if (r.key().length == 0) {
                    assertThat(r.value()).as("the terminating empty stat").isEmpty();
                    break;
                }
                stats.put(r.keyText(), r.valueText());
                order.add(r.keyText());
            }
            assertThat(order).startsWith("pid", "uptime", "time", "version");
            assertThat(stats).containsEntry("limit_maxbytes", Long.toString(64L << 20)).containsKeys("evictions", "curr_items", "bytes", "cmd_get");
            BinClient.Response reset = c.call(request(STAT, "reset"));
            assertThat(reset.key()).isEmpty();
            assertThat(reset.status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(STAT, "bogus")).status()).isEqualTo(KEY_ENOENT);

            // memcached 1.6 without SASL, and without binary verbosity: "Unknown command", the connection goes on
            for (byte[] unknown : List.of(simple(SASL_LIST_MECHS), request(SASL_AUTH, new byte[0], b("PLAIN"), b("\0u\0p"), 0, 0),
                    request(SASL_STEP, new byte[0], b("PLAIN"), b("xx"), 0, 0), request(VERBOSITY, new byte[4], new byte[0], new byte[0], 0, 0),
                    simple(0x40), request(0x7f, new byte[3], b("key"), b("value"), 0, 0))) {
                BinClient.Response r = c.call(unknown);
                assertThat(r.opcode()).isEqualTo(unknown[1] & 0xff);
                assertThat(r.status()).isEqualTo(UNKNOWN_COMMAND);
                assertThat(r.valueText()).isEqualTo("Unknown command");
            }
            assertThat(c.call(simple(NOOP)).status()).as("the unknown commands' bodies were dropped").isEqualTo(SUCCESS);
        }
    }

    @Test
    void flushQuitAndQuietQuit() throws Exception {
        try (MemcachedServer own = MemcachedServer.start(MemcachedServer.Config.loopback().withPorts(0, -1));
             BinClient c = new BinClient(own.tcpAddress())) {
            c.call(storage(SET, "f", 0, 0, "x", 0));
            assertThat(c.call(simple(FLUSH)).status()).isEqualTo(SUCCESS);
            assertThat(c.call(request(GET, "f")).status()).isEqualTo(KEY_ENOENT);
            c.call(storage(SET, "f", 0, 0, "x", 0));
            c.send(simple(FLUSHQ), simple(NOOP));
            assertThat(c.read().opcode()).isEqualTo(NOOP);
            assertThat(own.store().currentItems()).isZero();
            assertThat(c.call(request(FLUSH, new byte[] {0, 0, 0, 100}, new byte[0], new byte[0], 0, 0)).status())
                    .as("a delayed flush").isEqualTo(SUCCESS);
            BinClient.Response quit = c.call(simple(QUIT));
            assertThat(quit.opcode()).isEqualTo(QUIT);
            assertThat(c.closedByServer()).isTrue();
            try (BinClient q = new BinClient(own.tcpAddress())) {
                q.send(simple(QUITQ));
                assertThat(q.closedByServer()).as("quitq closes without a word").isTrue();
            }
        }
    }

    @Test
    void malformedRequestsGetMemcachedsAnswerAndNeverHang() throws Exception {
        // bad magic in the middle of a binary stream: the connection is dropped
        try (BinClient c = client()) {
            c.send(simple(NOOP), BinClient.frame(0x81, NOOP, new byte[0], new byte[0], new byte[0], 0, 0, -1));
            assertThat(c.read().opcode()).isEqualTo(NOOP);
            assertThat(c.closedByServer()).isTrue();
        }
        // key and extras longer than the body: "Unknown command", then closed
        try (BinClient c = client()) {
            BinClient.Response r = c.call(BinClient.frame(0x80, GET, new byte[0], b("key"), new byte[0], 0, 0, 1));
            assertThat(r.status()).isEqualTo(UNKNOWN_COMMAND);
            assertThat(c.closedByServer()).isTrue();
        }
        // lengths that do not suit the opcode, a key over 250 bytes: "Invalid arguments", then closed
        for (byte[] invalid : List.of(request(GET, new byte[4], b("k"), new byte[0], 0, 0), request(SET, new byte[0], b("k"), b("v"), 0, 0),
                storage(SET, "", 0, 0, "v", 0), request(GET, "k".repeat(251)), request(NOOP, "k"), request(VERSION, "k"),
                request(FLUSH, new byte[2], new byte[0], new byte[0], 0, 0), request(QUIT, "k"), request(SASL_AUTH, new byte[0], new byte[0], b("x"), 0, 0),
                request(INCREMENT, new byte[8], b("k"), new byte[0], 0, 0), BinClient.frame(0x80, GET, new byte[0], b("k"), new byte[0], 0, 0, 0x7fff_ffffL))) {
            try (BinClient c = client()) {
                BinClient.Response r = c.call(invalid);
                assertThat(r.status()).as("opcode %d", invalid[1]).isEqualTo(EINVAL);
                assertThat(r.valueText()).isEqualTo("Invalid arguments");
                assertThat(c.closedByServer()).isTrue();
            }
        }
        // a value over 1 MiB: "Too large." at once, before its bytes arrive; they are dropped as they come
        try (BinClient c = client()) {
            c.call(storage(SET, "big", 0, 0, "old", 0));
            int length = (1 << 20) + 1;
            byte[] header = BinClient.frame(0x80, SET, new byte[8], b("big"), new byte[0], 0, 0, 8 + 3 + length);
            BinClient.Response r = c.call(header);
            assertThat(r.status()).isEqualTo(E2BIG);
            assertThat(r.valueText()).isEqualTo("Too large.");
            c.send(new byte[length]);
            assertThat(c.call(request(GET, "big")).status()).as("a failed set leaves no stale value, as memcached").isEqualTo(KEY_ENOENT);
        }
        // a huge body announced and never sent: answered at once; the server keeps serving others
        try (BinClient c = client()) {
            BinClient.Response r = c.call(BinClient.frame(0x80, 0x40, new byte[0], new byte[0], new byte[0], 0, 0, 0xffff_ffffL));
            assertThat(r.status()).isEqualTo(UNKNOWN_COMMAND);
            c.send(simple(NOOP));
            assertThat(c.silentFor(300)).as("the noop is part of the body the client announced").isTrue();
            try (BinClient other = client()) {
                assertThat(other.call(simple(NOOP)).status()).isEqualTo(SUCCESS);
            }
        }
        // the input ending inside a header or a body just closes the connection
        try (BinClient c = client()) {
            c.send(java.util.Arrays.copyOf(storage(SET, "cut", 0, 0, "value", 0), 30));
        }
        try (BinClient c = client()) {
            assertThat(c.call(request(GET, "cut")).status()).isEqualTo(KEY_ENOENT);
        }
    }

    @Test
    void randomFramesNeverStopTheServer() throws Exception {
        java.util.Random random = new java.util.Random(42);
        for (int connection = 0; connection < 20; connection++) {
            try (BinClient c = client()) {
                for (int i = 0; i < 5; i++) {
                    // any opcode, any lengths (bodies up to 64 KiB announced, fewer bytes or more sent), random CAS
                    byte[] extras = new byte[random.nextInt(3) == 0 ? random.nextInt(24) : new int[] {0, 4, 8, 20}[random.nextInt(4)]];
                    byte[] key = new byte[random.nextInt(4) == 0 ? 0 : 1 + random.nextInt(random.nextInt(8) == 0 ? 300 : 20)];
                    byte[] value = new byte[random.nextInt(100)];
                    random.nextBytes(extras);
                    random.nextBytes(key);
                    random.nextBytes(value);
                    long body = random.nextInt(4) == 0 ? random.nextInt(65536) : -1;
                    try {
                        c.send(BinClient.frame(0x80, random.nextInt(0x30), extras, key, value, random.nextInt(3) == 0 ? random.nextLong() : 0,
                                random.nextInt(), body));
                    } catch (java.net.SocketException closed) {
                        break; // the server ended the connection after a malformed frame, as memcached does
                    }
                }
            }
        }
        try (BinClient c = client(); McClient text = new McClient(SERVER.get().tcpAddress())) {
            assertThat(c.call(simple(NOOP)).status()).isEqualTo(SUCCESS);
            assertThat(text.call("version\r\n")).startsWith("VERSION ");
        }
        HeapStore store = SERVER.get().store();
        long deadline = System.nanoTime() + 5_000_000_000L; // the random connections may still be finishing
        while (store.memoryUsed() != HeapStore.DATA * store.currentItems() + store.bytes() && System.nanoTime() < deadline) Thread.sleep(10);
        assertThat(store.memoryUsed()).as("every charge matches a linked item").isEqualTo(HeapStore.DATA * store.currentItems() + store.bytes());
    }

    @Test
    void theFirstByteChoosesTheProtocolOfAConnection() throws Exception {
        try (BinClient c = client()) {
            c.send(simple(NOOP), b("version\r\n"));
            assertThat(c.read().opcode()).as("answered before the rest of the stream arrives").isEqualTo(NOOP);
            assertThat(c.silentFor(300)).as("text after binary is an incomplete binary header").isTrue();
        }
        try (McClient t = new McClient(SERVER.get().tcpAddress())) {
            assertThat(t.call("version\r\n")).startsWith("VERSION ");
        }
    }

    @Test
    void asciiAndBinarySeeTheSameItems() throws Exception {
        try (BinClient bin = client(); McClient text = new McClient(SERVER.get().tcpAddress())) {
            assertThat(text.call("set shared 12 0 5\r\nascii\r\n")).isEqualTo("STORED");
            String gets = text.untilEnd("gets shared\r\n");
            long textCas = Long.parseLong(gets.lines().findFirst().orElseThrow().split(" ")[4]);
            BinClient.Response r = bin.call(request(GET, "shared"));
            assertThat(r.valueText()).isEqualTo("ascii");
            assertThat(r.flags()).isEqualTo(12);
            assertThat(r.cas()).as("one CAS unique for both protocols").isEqualTo(textCas);

            BinClient.Response stored = bin.call(storage(SET, "shared", 34, 0, "binary", textCas));
            assertThat(stored.status()).isEqualTo(SUCCESS);
            assertThat(text.untilEnd("gets shared\r\n")).isEqualTo("VALUE shared 34 6 " + stored.cas() + "\nbinary\nEND\n");
            assertThat(text.call("cas shared 0 0 1 " + textCas + "\r\nx\r\n")).isEqualTo("EXISTS");

            assertThat(text.call("set num 0 0 2\r\n41\r\n")).isEqualTo("STORED");
            assertThat(bin.call(counter(INCREMENT, "num", 1, 0, 0, 0)).counter()).isEqualTo(42);
            assertThat(text.call("incr num 8\r\n")).isEqualTo("50");
            assertThat(bin.call(request(APPEND, new byte[0], b("num"), b("!"), 0, 0)).status()).isEqualTo(SUCCESS);
            assertThat(text.untilEnd("get num\r\n")).isEqualTo("VALUE num 0 3\n50!\nEND\n");
            assertThat(text.call("delete num\r\n")).isEqualTo("DELETED");
            assertThat(bin.call(request(GET, "num")).status()).isEqualTo(KEY_ENOENT);
            assertThat(text.call("touch shared 100\r\n")).isEqualTo("TOUCHED");
            assertThat(bin.call(touch(GAT, "shared", 0)).valueText()).isEqualTo("binary");
        }
    }

    @Test
    void binaryRequestsOverUdpAreAnswered() throws Exception {
        var udp = SERVER.get().udpAddress().orElseThrow();
        try (BinClient c = client()) {
            c.call(storage(SET, "u", 9, 0, "over-udp", 0));
        }
        String body = new String(request(GETK, "u"), java.nio.charset.StandardCharsets.ISO_8859_1);
        byte[] reply = McClient.udp(udp, 0x5151, body, 1)[0];
        ByteBuffer r = ByteBuffer.wrap(reply);
        assertThat(r.getShort(0) & 0xffff).as("frame header: request id").isEqualTo(0x5151);
        assertThat(reply[8] & 0xff).as("a binary response").isEqualTo(RESPONSE);
        assertThat(reply[9] & 0xff).isEqualTo(GETK);
        assertThat(new String(reply, reply.length - 9, 9, java.nio.charset.StandardCharsets.ISO_8859_1)).isEqualTo("uover-udp");
    }
}
