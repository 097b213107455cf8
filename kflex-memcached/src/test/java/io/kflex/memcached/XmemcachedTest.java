package io.kflex.memcached;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * xmemcached, a second widely used Java client, through the {@linkplain ClientLibraryScenarios
 * shared scenarios} with each of its command factories, text and binary, its batches coming from
 * several threads that share its one connection; and what only it does: its transcoder's types,
 * multi-gets of CAS uniques, counter edge cases, a refusal above 1 MiB in the client itself, and
 * batches of its quiet ({@code ...WithNoReply}) commands followed by reads.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(XmemcachedTest.Commands.class)
class XmemcachedTest extends ClientLibraryScenarios<XmemcachedTest.Xmemcached> {
    /** xmemcached's two command factories. */
    enum Commands {
        TEXT(TextCommandFactory::new), BINARY(BinaryCommandFactory::new);

        private final Supplier<CommandFactory> factory;

        Commands(Supplier<CommandFactory> factory) { this.factory = factory; }
    }

    @Parameter
    Commands commands;

    /** xmemcached's client; a batch comes from several threads, which the client merges on its one connection. */
    record Xmemcached(MemcachedClient mc) implements LibraryClient {
        private static final int BATCH_THREADS = 4;

        static Xmemcached of(InetSocketAddress address, Commands commands) throws Exception {
            XMemcachedClientBuilder builder = new XMemcachedClientBuilder(List.of(address));
            builder.setCommandFactory(commands.factory.get());
            builder.setOpTimeout(10_000);
            builder.setConnectTimeout(10_000);
            return new Xmemcached(builder.build());
        }

        @Override public boolean set(String key, Object value) throws Exception { return mc.set(key, 0, value); }

        @Override public <T> T get(String key) throws Exception { return mc.get(key); }

        @Override public Map<String, Object> getMulti(Collection<String> keys) throws Exception { return mc.get(keys); }

        @Override public boolean add(String key, Object value) throws Exception { return mc.add(key, 0, value); }

        @Override public boolean replace(String key, Object value) throws Exception { return mc.replace(key, 0, value); }

        @Override public boolean delete(String key) throws Exception { return mc.delete(key); }

        @Override public boolean append(String key, String suffix) throws Exception { return mc.append(key, suffix); }

        @Override public boolean prepend(String key, String prefix) throws Exception { return mc.prepend(key, prefix); }

        @Override public long incr(String key, long by) throws Exception { return mc.incr(key, by); }

        @Override public long incr(String key, long by, long initial) throws Exception { return mc.incr(key, by, initial); }

        @Override public long decr(String key, long by) throws Exception { return mc.decr(key, by); }

        @Override public Gets gets(String key) throws Exception {
            GetsResponse<Object> v = mc.gets(key);
            return new Gets(v.getValue(), v.getCas());
        }

        @Override public boolean cas(String key, long cas, Object value) throws Exception { return mc.cas(key, 0, value, cas); }

        @Override public boolean touch(String key, int exptime) throws Exception { return mc.touch(key, exptime); }

        @Override public <T> T getAndTouch(String key, int exptime) throws Exception { return mc.getAndTouch(key, exptime); }

        @Override public Collection<String> versions() throws Exception { return mc.getVersions().values(); }

        @Override public Map<String, String> stats() throws Exception { return mc.getStats().values().iterator().next(); }

        @Override public boolean storeAll(Map<String, String> items) throws Exception {
            List<Map.Entry<String, String>> entries = new ArrayList<>(items.entrySet());
            ExecutorService pool = Executors.newFixedThreadPool(BATCH_THREADS);
            try {
                List<Future<Boolean>> writers = new ArrayList<>();
                for (int t = 0; t < BATCH_THREADS; t++) {
                    int first = t;
                    writers.add(pool.submit(() -> {
                        boolean all = true;
                        for (int i = first; i < entries.size(); i += BATCH_THREADS) {
                            all &= mc.set(entries.get(i).getKey(), 0, entries.get(i).getValue());
                        }
                        return all;
                    }));
                }
                boolean all = true;
                for (Future<Boolean> w : writers) all &= w.get();
                return all;
            } finally {
                pool.shutdownNow();
            }
        }

        @Override public boolean deleteAll(Collection<String> keys) throws Exception {
            boolean all = true;
            for (String key : keys) all &= mc.delete(key);
            return all;
        }

        @Override public void close() throws Exception { mc.shutdown(); }
    }

    @Override Xmemcached connect(InetSocketAddress address) throws Exception { return Xmemcached.of(address, commands); }

    @Override boolean binary() { return commands == Commands.BINARY; }

    /** A Unix time 100 s ago: an absolute expiration in the past expires at once, in either protocol. */
    private static int past() { return (int) (System.currentTimeMillis() / 1000 - 100); }

    @Test
    void transcoderTypesAndMultiGets() throws Exception {
        try (Xmemcached client = client()) {
            MemcachedClient c = client.mc();
            String s = key("types:s"), y = key("types:y"), number = key("types:int");
            assertThat(c.set(s, 0, "hello")).isTrue();
            assertThat(c.set(y, 0, "y")).isTrue();
            // the transcoder's flags tell the types apart, and come back
            assertThat(c.set(number, 0, 42)).isTrue();
            assertThat(c.set(key("types:long"), 0, 1L << 40)).isTrue();
            assertThat(c.<Long>get(key("types:long"))).isEqualTo(1L << 40);
            ArrayList<String> list = new ArrayList<>(List.of("a serialized", "object"));
            assertThat(c.set(key("types:list"), 0, list)).isTrue();
            assertThat(c.<ArrayList<String>>get(key("types:list"))).isEqualTo(list);

            Map<String, Object> multi = c.get(List.of(s, y, number, key("types:absent")));
            assertThat(multi).as("one multi-get; the absent key is left out").isEqualTo(Map.of(s, "hello", y, "y", number, 42));
            Map<String, GetsResponse<Object>> multiGets = c.gets(List.of(s, y));
            assertThat(multiGets.get(s).getCas()).isEqualTo(c.gets(s).getCas());
            assertThat(multiGets.get(y).getValue()).isEqualTo("y");
        }
    }

    @Test
    void counterEdgesFailuresAndTouchesInThePast() throws Exception {
        try (Xmemcached client = client()) {
            MemcachedClient c = client.mc();
            String s = key("edges:s"), a = key("edges:a");
            assertThat(c.decr(key("edges:down"), 1, 9)).as("absent: created with the default").isEqualTo(9);
            c.set(key("edges:max"), 0, "18446744073709551615");
            assertThat(c.incr(key("edges:max"), 2)).as("incr wraps at 2^64").isEqualTo(1);
            assertThat(c.set(s, 0, "hello")).isTrue();
            if (binary()) {
                assertThatThrownBy(() -> c.incr(s, 1)).isInstanceOf(MemcachedServerException.class)
                        .hasMessageContaining("Incr/Decr on non-numeric value");
            } else {
                assertThatThrownBy(() -> c.incr(s, 1)).isInstanceOf(MemcachedClientException.class)
                        .hasMessageContaining("cannot increment or decrement non-numeric value");
            }

            assertThat(c.set(a, 0, "start-mid-end")).isTrue();
            if (binary()) {
                assertThat(c.<String>getAndTouch(a, past())).as("the value, then gone").isEqualTo("start-mid-end");
                assertThat(c.<Object>get(a)).isNull();
            } else {
                assertThat(c.touch(a, past())).isTrue();
                assertThat(c.<Object>get(a)).as("touched with a time in the past: expired").isNull();
            }
        }
    }

    /**
     * The client refuses more than 1 MiB itself; with a transcoder that lets it through, the
     * server refuses it as memcached does (text: SERVER_ERROR object too large for cache; binary:
     * status 0x03, which the client calls "Value is too big.") and the failed set removes the old
     * value. The connection goes on.
     */
    @Test
    void aboveOneMiBTheClientRefusesAndSoDoesTheServer() throws Exception {
        try (Xmemcached client = client()) {
            MemcachedClient c = client.mc();
            byte[] tooLarge = new byte[(1 << 20) + 1];
            new Random(7).nextBytes(tooLarge);
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

    /**
     * A batch of quiet commands (text: {@code noreply}; binary: SETQ, DELETEQ, ...), failures
     * among them, then reads. Quiet failures are silent in text and answered in binary (as
     * memcached does both); either way the connection must stay in step, every read answering
     * its own request.
     */
    @Test
    void aBatchOfQuietCommandsThenReads() throws Exception {
        try (Xmemcached client = client()) {
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
}
