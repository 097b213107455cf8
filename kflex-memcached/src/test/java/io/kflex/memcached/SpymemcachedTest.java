package io.kflex.memcached;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * spymemcached, a widely used Java client, through the {@linkplain ClientLibraryScenarios shared
 * scenarios} with the text protocol and with the binary one, pipelining its batches on its one
 * connection; and what only it reports: the server's words for a failure (memcached's in each
 * protocol), CAS outcomes, its asynchronous calls, and the server's refusal of a value above
 * 1 MiB.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Protocol.class)
class SpymemcachedTest extends ClientLibraryScenarios<SpymemcachedTest.Spymemcached> {
    @Parameter
    Protocol protocol;

    /** Kept so that the level set below is not lost with a collected logger. */
    private static final Logger SPY_LOG = Logger.getLogger("net.spy.memcached");

    @BeforeAll
    static void quietLogging() {
        // spymemcached logs every connection at INFO to stderr by default; route it to java.util.logging, warnings only.
        System.setProperty("net.spy.log.LoggerImpl", "net.spy.memcached.compat.log.SunLogger");
        SPY_LOG.setLevel(Level.WARNING);
    }

    /** spymemcached's client, each call awaited; batches are pipelined, their answers awaited at the end. */
    record Spymemcached(MemcachedClient mc) implements LibraryClient {
        static Spymemcached of(InetSocketAddress address, Protocol protocol) throws Exception {
            return new Spymemcached(new MemcachedClient(new ConnectionFactoryBuilder()
                    .setProtocol(protocol)
                    .setOpTimeout(10_000)
                    .setFailureMode(FailureMode.Retry) // requests queued while the connection is being made wait for it
                    .setDaemon(true)
                    .build(), List.of(address)));
        }

        @Override public boolean set(String key, Object value) throws Exception { return mc.set(key, 0, value).get(); }

        @SuppressWarnings("unchecked")
        @Override public <T> T get(String key) { return (T) mc.get(key); }

        @Override public Map<String, Object> getMulti(Collection<String> keys) { return mc.getBulk(keys); }

        @Override public boolean add(String key, Object value) throws Exception { return mc.add(key, 0, value).get(); }

        @Override public boolean replace(String key, Object value) throws Exception { return mc.replace(key, 0, value).get(); }

        @Override public boolean delete(String key) throws Exception { return mc.delete(key).get(); }

        @Override public boolean append(String key, String suffix) throws Exception { return mc.append(key, suffix).get(); }

        @Override public boolean prepend(String key, String prefix) throws Exception { return mc.prepend(key, prefix).get(); }

        @Override public long incr(String key, long by) { return mc.incr(key, by); }

        @Override public long incr(String key, long by, long initial) { return mc.incr(key, by, initial); }

        @Override public long decr(String key, long by) { return mc.decr(key, by); }

        @Override public Gets gets(String key) {
            CASValue<Object> v = mc.gets(key);
            return new Gets(v.getValue(), v.getCas());
        }

        @Override public boolean cas(String key, long cas, Object value) { return mc.cas(key, cas, value) == CASResponse.OK; }

        @Override public boolean touch(String key, int exptime) throws Exception { return mc.touch(key, exptime).get(); }

        @SuppressWarnings("unchecked")
        @Override public <T> T getAndTouch(String key, int exptime) {
            CASValue<Object> v = mc.getAndTouch(key, exptime);
            return v == null ? null : (T) v.getValue();
        }

        @Override public Collection<String> versions() { return mc.getVersions().values(); }

        @Override public Map<String, String> stats() { return mc.getStats().values().iterator().next(); }

        @Override public boolean storeAll(Map<String, String> items) throws Exception {
            List<OperationFuture<Boolean>> sets = new ArrayList<>();
            for (var e : items.entrySet()) sets.add(mc.set(e.getKey(), 0, e.getValue()));
            return allTrue(sets);
        }

        @Override public boolean deleteAll(Collection<String> keys) throws Exception {
            List<OperationFuture<Boolean>> deletes = new ArrayList<>();
            for (String key : keys) deletes.add(mc.delete(key));
            return allTrue(deletes);
        }

        private static boolean allTrue(List<OperationFuture<Boolean>> pipelined) throws Exception {
            boolean all = true;
            for (OperationFuture<Boolean> f : pipelined) all &= f.get();
            return all;
        }

        @Override public void close() { mc.shutdown(5, TimeUnit.SECONDS); }
    }

    @Override Spymemcached connect(InetSocketAddress address) throws Exception { return Spymemcached.of(address, protocol); }

    @Override boolean binary() { return protocol == Protocol.BINARY; }

    @Test
    void failuresCarryTheServersWordsInEachProtocol() throws Exception {
        try (Spymemcached client = client()) {
            MemcachedClient c = client.mc();
            String s = key("words:s"), nope = key("words:nope");
            assertThat(c.set(s, 0, "hello").get()).isTrue();
            OperationFuture<Boolean> add = c.add(s, 0, "x");
            assertThat(add.get()).isFalse();
            // the client passes on the server's words: memcached's in each protocol
            assertThat(add.getStatus().getMessage()).isEqualTo(binary() ? "Data exists for key." : "NOT_STORED");
            OperationFuture<Boolean> replace = c.replace(nope, 0, "x");
            assertThat(replace.get()).isFalse();
            assertThat(replace.getStatus().getMessage()).isEqualTo(binary() ? "Not found" : "NOT_STORED");
            OperationFuture<Boolean> delete = c.delete(nope);
            assertThat(delete.get()).isFalse();
            assertThat(delete.getStatus().getMessage()).isEqualTo(binary() ? "Not found" : "NOT_FOUND");
            OperationFuture<Boolean> append = c.append(nope, "x");
            assertThat(append.get()).isFalse();
            assertThat(append.getStatus().getMessage()).isEqualTo(binary() ? "Not stored." : "NOT_STORED");

            assertThat(c.incr(nope, 1)).as("NOT_FOUND: without a default nothing is created").isEqualTo(-1);
            assertThat(c.get(nope)).isNull();
            if (binary()) {
                OperationFuture<Long> nonNumeric = c.asyncIncr(s, 1);
                assertThat(nonNumeric.get()).isEqualTo(-1);
                assertThat(nonNumeric.getStatus().getMessage()).isEqualTo("Non-numeric server-side value for incr or decr");
            } else { // the text client raises a CLIENT_ERROR (and goes on with the connection)
                assertThatThrownBy(() -> c.asyncIncr(s, 1).get()).isInstanceOf(ExecutionException.class)
                        .hasMessageContaining("CLIENT_ERROR cannot increment or decrement non-numeric value");
            }

            CASValue<Object> v = c.gets(s);
            assertThat(c.cas(s, v.getCas() + 1000, "other")).isEqualTo(CASResponse.EXISTS);
            assertThat(c.cas(nope, 1, "x")).isEqualTo(CASResponse.NOT_FOUND);
            assertThat(c.cas(s, v.getCas(), "swapped")).isEqualTo(CASResponse.OK);
        }
    }

    @Test
    void asynchronousCallsAndTouches() throws Exception {
        try (Spymemcached client = client()) {
            MemcachedClient c = client.mc();
            String counter = key("async:counter"), a = key("async:a");
            assertThat(c.incr(counter, 1, 8)).isEqualTo(8);
            assertThat(c.asyncIncr(counter, 10).get()).isEqualTo(18);
            assertThat(c.get(counter)).as("stored as its decimal digits").isEqualTo("18");
            assertThat(c.set(a, 0, "start-mid-end").get()).isTrue();
            assertThat(c.asyncGetBulk(List.of(counter, a, key("async:absent"))).get(10, TimeUnit.SECONDS))
                    .isEqualTo(Map.of(counter, "18", a, "start-mid-end"));

            if (binary()) {
                CASValue<Object> touched = c.getAndTouch(a, 3600);
                assertThat(touched.getValue()).isEqualTo("start-mid-end");
                assertThat(touched.getCas()).as("gat answers the CAS unique, unchanged by a touch").isEqualTo(c.gets(a).getCas());
                // The binary expiration is unsigned: -1 is 0xffffffff, an absolute time in 2106, so the item stays.
                assertThat(c.touch(a, -1).get()).isTrue();
                assertThat(c.get(a)).as("touched until 2106").isEqualTo("start-mid-end");
            } else {
                assertThat(c.touch(a, -1).get()).isTrue();
                assertThat(c.get(a)).as("touched with a negative time: expired").isNull();
            }
        }
    }

    /**
     * Over the limit the server refuses, as memcached does: in text with SERVER_ERROR object too
     * large for cache, which the client raises as an OperationException before it reconnects; in
     * binary with status 0x03 "Too large.", a plain failure on the same connection. A failed set
     * removes the old value.
     */
    @Test
    void aboveOneMiBTheServerRefusesAsMemcachedDoes() throws Exception {
        try (Spymemcached client = client()) {
            MemcachedClient c = client.mc();
            // 1 MiB + 1 bytes of a repeated pattern: above 16 KiB the transcoder compresses it, and then it fits.
            byte[] pattern = new byte[(1 << 20) + 1];
            for (int i = 0; i < pattern.length; i++) pattern[i] = (byte) ('a' + i % 7);
            assertThat(c.set(key("pattern1048577"), 0, pattern).get()).isTrue();
            assertThat((byte[]) c.get(key("pattern1048577"))).isEqualTo(pattern);

            byte[] tooLarge = new byte[(1 << 20) + 1];
            new Random(5).nextBytes(tooLarge);
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
}
