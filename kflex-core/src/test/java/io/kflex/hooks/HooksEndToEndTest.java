package io.kflex.hooks;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.maps.BpfMap;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The hooks end to end through the Java API, on both engines: real UDP sockets in front of
 * {@code sk_lookup} and {@code xdp_steer}, the stream hook with {@code stream_verbs}, per-CPU
 * maps as the hook threads see them, redirects to a registered sink, and program replacement
 * while several clients send.
 */
class HooksEndToEndTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);

    private static KFlexRuntime runtime(String engine, int cpus) {
        return KFlexRuntime.builder().engine(engine).cpus(cpus).budget(Duration.ofSeconds(2)).build();
    }

    private static String text(ByteBuffer payload) {
        return StandardCharsets.US_ASCII.decode(payload).toString();
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** The application behind a hook: answers "app: " + payload, and remembers what it saw. */
    private static final class Application implements UdpPacketHook.DatagramHandler {
        final ConcurrentLinkedQueue<String> seen = new ConcurrentLinkedQueue<>();

        @Override
        public void handle(InetSocketAddress from, ByteBuffer payload, UdpPacketHook socket) throws IOException {
            String s = text(payload);
            seen.add(s);
            socket.send(ByteBuffer.wrap(ascii("app: " + s)), from);
        }
    }

    /** Sends {@code request} and waits up to {@code timeoutMs} for one answer; empty when none came. */
    private static Optional<String> exchange(DatagramSocket client, InetSocketAddress server, String request, int timeoutMs) throws IOException {
        client.send(new DatagramPacket(ascii(request), request.length(), server));
        client.setSoTimeout(timeoutMs);
        DatagramPacket answer = new DatagramPacket(new byte[2048], 2048);
        try {
            client.receive(answer);
        } catch (SocketTimeoutException e) {
            return Optional.empty();
        }
        assertThat(answer.getSocketAddress()).isEqualTo(server);
        return Optional.of(new String(answer.getData(), 0, answer.getLength(), StandardCharsets.US_ASCII));
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(2);
        }
    }

    private static long u64(BpfMap map, int key) {
        byte[] k = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(key).array();
        return ByteBuffer.wrap(map.lookup(k).orElseThrow()).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    /** Each CPU's u64 in a per-CPU array's element 0. */
    private static long[] perCpu(BpfMap map, int cpus) {
        byte[] all = map.lookup(new byte[4]).orElseThrow();
        assertThat(all).hasSize(8 * cpus);
        long[] out = new long[cpus];
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < cpus; i++) out[i] = b.getLong(8 * i);
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void skLookupPassesDatagramsForTheHooksOwnSocketAndDropsTheRest(String engine) throws Exception {
        Application app = new Application();
        try (KFlexRuntime runtime = runtime(engine, 2);
             Extension ext = runtime.open(TestObjects.object("sk_lookup.bpf.o"));
             UdpPacketHook owner = UdpPacketHook.open(LOOPBACK, new PacketHook(), 2, app);
             UdpPacketHook other = UdpPacketHook.open(LOOPBACK, new PacketHook(), 1, app);
             DatagramSocket client = new DatagramSocket(LOOPBACK)) {
            owner.hook().attach(ext.load("udp_owner"));
            InetSocketAddress server = owner.localAddress();

            other.registerIn(runtime.sockets());
            assertThat(exchange(client, server, "nobody's", 300)).as("only another port is registered: dropped").isEmpty();
            await("the frame was dropped", () -> owner.hook().count(XdpAction.DROP) == 1);
            assertThat(app.seen).isEmpty();

            owner.registerIn(runtime.sockets());
            HostSockets.HostSocket registered = runtime.sockets().lookup(HostSockets.UDP, server.getAddress(), server.getPort());
            assertThat(registered).isNotNull();
            assertThat(exchange(client, server, "mine", 5000)).contains("app: mine");

            // Several clients at once: every datagram finds the socket, and every reference is given back.
            ExecutorService clients = Executors.newFixedThreadPool(4);
            try {
                List<Future<Integer>> answered = new ArrayList<>();
                for (int c = 0; c < 4; c++) {
                    int id = c;
                    answered.add(clients.submit(() -> {
                        int n = 0;
                        try (DatagramSocket s = new DatagramSocket(LOOPBACK)) {
                            for (int i = 0; i < 25; i++) if (exchange(s, server, id + "-" + i, 5000).equals(Optional.of("app: " + id + "-" + i))) n++;
                        }
                        return n;
                    }));
                }
                for (Future<Integer> f : answered) assertThat(f.get(30, TimeUnit.SECONDS)).isEqualTo(25);
            } finally {
                clients.shutdownNow();
            }
            assertThat(owner.hook().count(XdpAction.PASS)).isEqualTo(101);
            assertThat(registered.references()).as("every bpf_sk_lookup_udp reference released").isZero();
            BpfMap hits = ext.maps().byName("hits");
            assertThat(u64(hits, 0)).as("socket found").isEqualTo(101);
            assertThat(u64(hits, 1)).as("no socket").isEqualTo(1);

            owner.close();
            assertThat(runtime.sockets().lookup(HostSockets.UDP, server.getAddress(), server.getPort()))
                    .as("a closed hook socket is no longer found").isNull();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void theStreamHookDropsForbiddenVerbsAndUpperCasesTheVerbInPlace(String engine) throws Exception {
        InetSocketAddress remote = new InetSocketAddress("10.0.0.1", 40000), local = new InetSocketAddress("10.0.0.2", 11211);
        try (KFlexRuntime runtime = runtime(engine, 1); Extension ext = runtime.open(TestObjects.object("stream_verbs.bpf.o"))) {
            StreamHook hook = new StreamHook();
            assertThat(hook.process(ascii("get a\r\n"), remote, local, 0).message()).as("nothing attached").isEqualTo(ascii("get a\r\n"));
            LoadedProgram verbs = ext.load("verbs");
            hook.attach(verbs);

            StreamHook.Result get = hook.process(ascii("get user:42\r\n"), remote, local, 0);
            assertThat(get.pass()).isTrue();
            assertThat(new String(get.message(), StandardCharsets.US_ASCII)).isEqualTo("GET user:42\r\n");
            assertThat(hook.process(ascii("flush_all\r\n"), remote, local, 0).pass()).as("forbidden verb").isFalse();
            assertThat(hook.process(ascii("flush"), remote, local, 0).pass()).isFalse();
            assertThat(new String(hook.process(ascii("flus x"), remote, local, 0).message(), StandardCharsets.US_ASCII)).isEqualTo("FLUS x");
            assertThat(new String(hook.process(ascii("averyveryverylongverb x"), remote, local, 0).message(), StandardCharsets.US_ASCII))
                    .as("at most 16 bytes of verb").isEqualTo("AVERYVERYVERYLONgverb x");
            StreamHook.Result empty = hook.process(new byte[0], remote, local, 0);
            assertThat(empty.pass()).isTrue();
            assertThat(empty.message()).isEmpty();

            assertThat(hook.passed()).isEqualTo(5);
            assertThat(hook.dropped()).isEqualTo(2);
            BpfMap stats = ext.maps().byName("stats");
            assertThat(u64(stats, 0)).isEqualTo(4);
            assertThat(u64(stats, 1)).isEqualTo(2);
            assertThat(u64(stats, 2)).as("skb->len of every message").isEqualTo(13 + 11 + 5 + 6 + 23);
            assertThat(verbs.stats().runCount()).isEqualTo(6);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void aTcpServerRunsEachFramedRequestThroughTheStreamHook(String engine) throws Exception {
        try (KFlexRuntime runtime = runtime(engine, 1);
             Extension ext = runtime.open(TestObjects.object("stream_verbs.bpf.o"));
             java.net.ServerSocket listener = new java.net.ServerSocket(0, 8, InetAddress.getLoopbackAddress())) {
            StreamHook hook = new StreamHook();
            hook.attach(ext.load("verbs"));
            // The host's framing layer: one request per line; what passes is answered, what is dropped is not.
            Thread server = Thread.ofPlatform().start(() -> {
                try (java.net.Socket connection = listener.accept();
                     var in = new java.io.BufferedReader(new java.io.InputStreamReader(connection.getInputStream(), StandardCharsets.US_ASCII));
                     var out = connection.getOutputStream()) {
                    InetSocketAddress remote = (InetSocketAddress) connection.getRemoteSocketAddress();
                    InetSocketAddress local = (InetSocketAddress) connection.getLocalSocketAddress();
                    for (String line; (line = in.readLine()) != null; ) {
                        StreamHook.Result r = hook.process(ascii(line + "\n"), remote, local, 0);
                        out.write(r.pass() ? ("passed " + new String(r.message(), StandardCharsets.US_ASCII)).getBytes(StandardCharsets.US_ASCII)
                                : ascii("dropped\n"));
                        out.flush();
                    }
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            try (java.net.Socket client = new java.net.Socket(InetAddress.getLoopbackAddress(), listener.getLocalPort());
                 var in = new java.io.BufferedReader(new java.io.InputStreamReader(client.getInputStream(), StandardCharsets.US_ASCII))) {
                client.setSoTimeout(5000);
                client.getOutputStream().write(ascii("get user:42\nflush_all\nset k 0 0 1\n"));
                assertThat(in.readLine()).isEqualTo("passed GET user:42");
                assertThat(in.readLine()).isEqualTo("dropped");
                assertThat(in.readLine()).isEqualTo("passed SET k 0 0 1");
                client.shutdownOutput();
                assertThat(in.readLine()).isNull();
            }
            server.join(5000);
            assertThat(hook.passed()).isEqualTo(2);
            assertThat(hook.dropped()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void perCpuMapsSeeEachHookThreadAsItsOwnCpu(String engine) throws Exception {
        int cpus = 4;
        InetSocketAddress remote = new InetSocketAddress("10.0.0.1", 40000), local = new InetSocketAddress("10.0.0.2", 11211);
        try (KFlexRuntime runtime = runtime(engine, cpus); Extension ext = runtime.open(TestObjects.object("stream_verbs.bpf.o"))) {
            StreamHook hook = new StreamHook();
            hook.attach(ext.load("verbs"));
            // Hook thread i runs as CPU i and handles 10 * (i + 1) messages, all threads at once.
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int cpu = 0; cpu < cpus; cpu++) {
                int me = cpu;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < 10 * (me + 1); i++) hook.process(ascii("get k" + i), remote, local, me);
                }));
            }
            start.countDown();
            for (Thread t : threads) t.join(10_000);
            long[] seen = perCpu(ext.maps().byName("seen"), cpus);
            BpfMap byCpu = ext.maps().byName("by_cpu");
            for (int cpu = 0; cpu < cpus; cpu++) {
                assertThat(seen[cpu]).as("per-CPU slot %d", cpu).isEqualTo(10 * (cpu + 1));
                assertThat(u64(byCpu, cpu)).as("bpf_get_smp_processor_id() on hook thread %d", cpu).isEqualTo(10 * (cpu + 1));
            }
            assertThat(u64(byCpu, cpus)).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void udpHookThreadsAreCpusAndRedirectsReachTheRegisteredSink(String engine) throws Exception {
        int threads = 3;
        Application app = new Application();
        ConcurrentLinkedQueue<byte[]> sink = new ConcurrentLinkedQueue<>();
        try (KFlexRuntime runtime = runtime(engine, threads);
             Extension ext = runtime.open(TestObjects.object("xdp_steer.bpf.o"));
             UdpPacketHook socket = UdpPacketHook.open(LOOPBACK, new PacketHook(), threads, app);
             DatagramSocket client = new DatagramSocket(LOOPBACK)) {
            socket.hook().attach(ext.load("steer_v1"));
            InetSocketAddress server = socket.localAddress();

            assertThat(exchange(client, server, "redirect without a sink", 300)).isEmpty();
            await("the frame was redirected", () -> socket.hook().count(XdpAction.REDIRECT) == 1);
            socket.redirectTo(7, sink::add);
            assertThat(exchange(client, server, "redirect me", 300)).as("a redirected frame is not answered").isEmpty();
            await("the sink got the frame", () -> sink.size() == 1);
            var frame = Frames.parseUdp(sink.peek()).orElseThrow();
            assertThat(new String(frame.payload(), StandardCharsets.US_ASCII)).isEqualTo("redirect me");
            assertThat(frame.destination()).isEqualTo(server);
            assertThat(app.seen).as("redirected frames never reach the application").isEmpty();

            for (int i = 0; i < 60; i++) assertThat(exchange(client, server, "xx " + i, 5000)).contains("v1 " + i);
            assertThat(exchange(client, server, "z", 5000)).as("1-byte payload passes").contains("app: z");

            long[] frames = perCpu(ext.maps().byName("frames"), threads);
            BpfMap byCpu = ext.maps().byName("by_cpu");
            long total = 0;
            for (int cpu = 0; cpu < threads; cpu++) {
                assertThat(u64(byCpu, cpu)).as("bpf_get_smp_processor_id() agrees with the per-CPU slot of thread %d", cpu).isEqualTo(frames[cpu]);
                total += frames[cpu];
            }
            assertThat(total).isEqualTo(62);
            assertThat(u64(byCpu, threads)).as("no hook thread beyond %d", threads).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"interpreter", "jit"})
    void replacingTheProgramWhileClientsSendLosesNothingAndRunsEachDatagramOnOneVersion(String engine) throws Exception {
        int clients = 4, perClient = 60;
        Application app = new Application();
        try (KFlexRuntime runtime = runtime(engine, 2);
             Extension ext = runtime.open(TestObjects.object("xdp_steer.bpf.o"));
             UdpPacketHook socket = UdpPacketHook.open(LOOPBACK, new PacketHook(), 2, app)) {
            LoadedProgram v1 = ext.load("steer_v1"), v2 = ext.load("steer_v2");
            socket.hook().attach(v1);
            InetSocketAddress server = socket.localAddress();
            AtomicBoolean sending = new AtomicBoolean(true);
            Thread swapper = Thread.ofPlatform().start(() -> {
                boolean one = false;
                while (sending.get()) {
                    socket.hook().attach(one ? v1 : v2);
                    one = !one;
                    try {
                        Thread.sleep(0, 200_000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<long[]>> results = new ArrayList<>();
            try {
                for (int c = 0; c < clients; c++) {
                    int id = c;
                    results.add(pool.submit(() -> {
                        long[] byVersion = new long[3];
                        try (DatagramSocket s = new DatagramSocket(LOOPBACK)) {
                            for (int i = 0; i < perClient; i++) {
                                String answer = exchange(s, server, "xx " + id + "-" + i, 5000).orElseThrow(() -> new AssertionError("lost"));
                                assertThat(answer).matches("v[12] " + id + "-" + i);
                                byVersion[answer.charAt(1) - '0']++;
                            }
                        }
                        return byVersion;
                    }));
                }
                long v1Answers = 0, v2Answers = 0;
                for (Future<long[]> f : results) {
                    long[] r = f.get(60, TimeUnit.SECONDS);
                    v1Answers += r[1];
                    v2Answers += r[2];
                }
                sending.set(false);
                swapper.join(5000);
                assertThat(v1Answers + v2Answers).as("every datagram answered once").isEqualTo(clients * perClient);
                assertThat(v1Answers).as("v1 answered some").isPositive();
                assertThat(v2Answers).as("v2 answered some").isPositive();
                assertThat(v1.stats().runCount()).as("datagrams v1 ran on are the ones it answered").isEqualTo(v1Answers);
                assertThat(v2.stats().runCount()).isEqualTo(v2Answers);
                assertThat(socket.received()).isEqualTo(clients * perClient);
                assertThat(app.seen).isEmpty();
            } finally {
                sending.set(false);
                pool.shutdownNow();
            }
        }
    }
}
