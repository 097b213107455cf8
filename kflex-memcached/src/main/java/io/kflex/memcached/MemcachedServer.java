package io.kflex.memcached;

import io.kflex.elf.ElfFile;
import io.kflex.elf.ElfSection;
import io.kflex.elf.ElfSymbol;
import io.kflex.engine.EngineException;
import io.kflex.hooks.PacketHook;
import io.kflex.hooks.UdpPacketHook;
import io.kflex.hooks.XdpAction;
import io.kflex.loader.LoadException;
import io.kflex.loader.Program;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfMap;
import io.kflex.maps.MapException;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.verifier.VerificationException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A memcached server: the text and binary protocols over TCP (a virtual thread per connection)
 * and over UDP (memcached's 8-byte frame header), with its items in an extension heap ({@link
 * HeapStore}) under a memory limit, the least recently used evicted past it.
 * The heap belongs to the offload object ({@code memcached_offload.bpf.o}, bundled; or the one
 * given in {@link Config#offload}), and with an offload the object's XDP program runs at the
 * UDP socket's packet hook: it answers GET hits and simple SETs itself (XDP_TX) and passes
 * everything else here. In {@link OffloadMode#BMC} the hook runs {@code bmc_cache.bpf.o}
 * instead, a look-aside cache that both protocols keep coherent ({@link BmcCache}).
 */
public final class MemcachedServer implements AutoCloseable {
    public static final String VERSION = "1.6.0-kflex";
    /** memcached's largest UDP datagram payload, frame header included. */
    public static final int UDP_MAX_PAYLOAD = 1400;
    static final int FRAME_HEADER = 8;
    static final String BUNDLED_OBJECT = "memcached_offload.bpf.o";
    static final String TABLE_SYMBOL = "mc_table";
    static final String OFFLOAD_PROGRAM = "memcached_udp";
    static final String BMC_OBJECT = "bmc_cache.bpf.o";
    static final String BMC_PROGRAM = "bmc_udp";

    /**
     * @param bind the address to listen on
     * @param tcpPort TCP port (0 picks one)
     * @param udpPort UDP port (0 picks one, negative: no UDP)
     * @param threads UDP receiver threads (the hook's CPUs)
     * @param offload the object whose XDP program runs at the hook (empty: the bundled one of the mode)
     * @param engine the runtime's engine ({@code jit} or {@code interpreter})
     * @param budget the time budget of one invocation at the hook
     * @param strictKeys refuse keys with control characters (the protocol's rule; memcached does not check it)
     * @param memoryLimit the most bytes items (headers, keys, values) may take; past it the least
     *     recently used are evicted (memcached's {@code -m}, default 64 MiB)
     * @param mode what runs at the hook: nothing, the KFlex offload, or the BMC-style cache
     */
    public record Config(InetAddress bind, int tcpPort, int udpPort, int threads, Optional<Path> offload, String engine, Duration budget,
            boolean strictKeys, long memoryLimit, OffloadMode mode) {
        public Config {
            if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
            if (tcpPort < 0 || tcpPort > 65535 || udpPort > 65535) throw new IllegalArgumentException("port out of range");
            if (memoryLimit <= 0 || memoryLimit > HeapStore.MEMORY_LIMIT_MAX) {
                throw new IllegalArgumentException("the memory limit must be between 1 byte and " + (HeapStore.MEMORY_LIMIT_MAX >> 20) + " MiB");
            }
            java.util.Objects.requireNonNull(mode, "mode");
            if (mode == OffloadMode.NONE && offload.isPresent()) throw new IllegalArgumentException("an offload object needs an offload mode");
        }

        /** The KFlex offload with {@code offload}, none without. */
        public Config(InetAddress bind, int tcpPort, int udpPort, int threads, Optional<Path> offload, String engine, Duration budget,
                boolean strictKeys, long memoryLimit) {
            this(bind, tcpPort, udpPort, threads, offload, engine, budget, strictKeys, memoryLimit, modeOf(offload));
        }

        /** memcached's default memory limit (64 MiB). */
        public Config(InetAddress bind, int tcpPort, int udpPort, int threads, Optional<Path> offload, String engine, Duration budget,
                boolean strictKeys, OffloadMode mode) {
            this(bind, tcpPort, udpPort, threads, offload, engine, budget, strictKeys, HeapStore.DEFAULT_MEMORY_LIMIT, mode);
        }

        /** memcached's default memory limit (64 MiB); the KFlex offload with {@code offload}, none without. */
        public Config(InetAddress bind, int tcpPort, int udpPort, int threads, Optional<Path> offload, String engine, Duration budget,
                boolean strictKeys) {
            this(bind, tcpPort, udpPort, threads, offload, engine, budget, strictKeys, HeapStore.DEFAULT_MEMORY_LIMIT, modeOf(offload));
        }

        private static OffloadMode modeOf(Optional<Path> offload) { return offload.isPresent() ? OffloadMode.KFLEX : OffloadMode.NONE; }

        /** Loopback, ports picked by the system, one UDP thread, no offload, the JIT, 10 ms, 64 MiB. */
        public static Config loopback() {
            return new Config(InetAddress.getLoopbackAddress(), 0, 0, 1, Optional.empty(), "jit", KFlexRuntime.DEFAULT_BUDGET, true);
        }

        /** The program at the hook comes from {@code object}: the KFlex offload, unless the mode is already BMC. */
        public Config withOffload(Path object) {
            return new Config(bind, tcpPort, udpPort, threads, Optional.of(object), engine, budget, strictKeys, memoryLimit,
                    mode == OffloadMode.BMC ? OffloadMode.BMC : OffloadMode.KFLEX);
        }

        /** Another mode; the bundled object of the mode unless one was given ({@code NONE} drops it). */
        public Config withMode(OffloadMode m) {
            return new Config(bind, tcpPort, udpPort, threads, m == OffloadMode.NONE ? Optional.empty() : offload, engine, budget, strictKeys,
                    memoryLimit, m);
        }

        public Config withEngine(String name) { return new Config(bind, tcpPort, udpPort, threads, offload, name, budget, strictKeys, memoryLimit, mode); }

        public Config withPorts(int tcp, int udp) { return new Config(bind, tcp, udp, threads, offload, engine, budget, strictKeys, memoryLimit, mode); }

        public Config withThreads(int n) { return new Config(bind, tcpPort, udpPort, n, offload, engine, budget, strictKeys, memoryLimit, mode); }

        public Config withStrictKeys(boolean strict) {
            return new Config(bind, tcpPort, udpPort, threads, offload, engine, budget, strict, memoryLimit, mode);
        }

        public Config withBudget(Duration d) { return new Config(bind, tcpPort, udpPort, threads, offload, engine, d, strictKeys, memoryLimit, mode); }

        public Config withMemoryLimit(long bytes) {
            return new Config(bind, tcpPort, udpPort, threads, offload, engine, budget, strictKeys, bytes, mode);
        }
    }

    private final KFlexRuntime runtime;
    private final Extension extension;
    private final HeapStore store;
    private final ServerStats stats = new ServerStats();
    private final TextProtocol protocol;
    private final BinaryProtocol binary;
    private final ServerSocket tcp;
    private final UdpPacketHook udp;
    private final LoadedProgram offload;
    private final OffloadMode mode;
    /** The BMC-style cache, in BMC mode only. */
    private final BmcCache bmc;
    private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
    private final Thread acceptor;
    private volatile boolean closed;

    private MemcachedServer(Config config) throws IOException, LoadException, VerificationException, EngineException, MapException {
        runtime = KFlexRuntime.builder().engine(config.engine()).budget(config.budget()).cpus(config.threads()).build();
        mode = config.mode();
        try {
            // The store's heap always comes from a KFlex offload object; only the KFlex mode may name another one.
            Optional<Path> storeObject = mode == OffloadMode.KFLEX ? config.offload() : Optional.empty();
            byte[] object = storeObject.isPresent() ? read(storeObject.get()) : bundled(BUNDLED_OBJECT);
            String name = storeObject.map(p -> p.getFileName().toString()).orElse(BUNDLED_OBJECT);
            int tableOffset = bssOffsetOf(object, TABLE_SYMBOL);
            extension = runtime.open(object, name);
            if (extension.maps().heap() == null) throw new LoadException(name + " declares no heap (kflex_heap)");
            BpfMap bss = extension.maps().all().stream().filter(m -> m.name().endsWith(".bss")).findFirst()
                    .orElseThrow(() -> new LoadException(name + " has no .bss"));
            store = HeapStore.publish(extension.maps().heap().view(), bss, tableOffset, () -> System.currentTimeMillis() / 1000,
                    config.memoryLimit());
            protocol = new TextProtocol(store, stats, VERSION, this::offloadStats, config.strictKeys());
            binary = new BinaryProtocol(store, stats, VERSION, protocol::statistics);
            switch (mode) {
                case NONE -> {
                    offload = null;
                    bmc = null;
                }
                case KFLEX -> {
                    offload = extension.load(offloadProgram(extension, name, OFFLOAD_PROGRAM));
                    bmc = null;
                }
                case BMC -> {
                    String bmcName = config.offload().map(p -> p.getFileName().toString()).orElse(BMC_OBJECT);
                    Extension cache = runtime.open(config.offload().isPresent() ? read(config.offload().get()) : bundled(BMC_OBJECT), bmcName);
                    BpfMap entries = cache.maps().byName(BmcCache.MAP);
                    if (entries == null) throw new LoadException(bmcName + " has no map " + BmcCache.MAP + " (see bmc_cache.bpf.c)");
                    try {
                        bmc = new BmcCache(entries, () -> hook().ifPresent(PacketHook::detach));
                    } catch (IllegalArgumentException e) {
                        throw new LoadException(bmcName + ": " + e.getMessage());
                    }
                    protocol.lookaside(bmc);
                    binary.lookaside(bmc);
                    offload = cache.load(offloadProgram(cache, bmcName, BMC_PROGRAM));
                }
                default -> throw new IllegalStateException(mode.toString());
            }

            tcp = bind(new InetSocketAddress(config.bind(), config.tcpPort()));
            if (config.udpPort() >= 0) {
                udp = openUdpOrClose(tcp, new InetSocketAddress(config.bind(), config.udpPort()), new PacketHook(), config.threads(), this::udpRequest);
                if (offload != null) udp.hook().attach(offload);
            } else {
                udp = null;
            }
        } catch (IOException | LoadException | VerificationException | EngineException | MapException | RuntimeException e) {
            runtime.close();
            throw e;
        }
        acceptor = Thread.ofPlatform().daemon().name("memcached-accept-" + tcp.getLocalPort()).start(this::acceptLoop);
    }

    private static ServerSocket bind(InetSocketAddress address) throws IOException {
        ServerSocket socket = new ServerSocket();
        try {
            socket.setReuseAddress(true);
            socket.bind(address);
            return socket;
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    /** Opens the UDP socket; if that fails, the TCP socket already bound is closed too. */
    private static UdpPacketHook openUdpOrClose(ServerSocket tcp, InetSocketAddress address, PacketHook hook, int threads,
            UdpPacketHook.DatagramHandler handler) throws IOException {
        try {
            return UdpPacketHook.open(address, hook, threads, handler);
        } catch (IOException | RuntimeException e) {
            tcp.close();
            throw e;
        }
    }

    /** Starts a server; it runs until {@link #close}. */
    public static MemcachedServer start(Config config) throws IOException, LoadException, VerificationException, EngineException, MapException {
        return new MemcachedServer(config);
    }

    private static byte[] read(Path path) throws IOException, LoadException {
        if (!Files.isRegularFile(path)) throw new LoadException("no such object: " + path);
        return Files.readAllBytes(path);
    }

    private static byte[] bundled(String resource) throws IOException, LoadException {
        try (InputStream in = MemcachedServer.class.getResourceAsStream(resource)) {
            if (in == null) throw new LoadException("the bundled " + resource + " is missing from the class path");
            return in.readAllBytes();
        }
    }

    private static String offloadProgram(Extension extension, String name, String preferred) throws LoadException {
        var programs = extension.object().programs();
        for (Program p : programs) if (p.name().equals(preferred)) return p.name();
        return programs.stream().filter(p -> p.type() == ProgramType.XDP).map(Program::name).findFirst()
                .orElseThrow(() -> new LoadException(name + " has no XDP program to attach"));
    }

    /** The offset of a global in {@code .bss}, from the object's symbol table. */
    static int bssOffsetOf(byte[] object, String symbol) throws LoadException {
        ElfFile elf = ElfFile.parse(object);
        for (ElfSymbol s : elf.symbols()) {
            if (!s.name().equals(symbol) || s.sectionIndex() == 0 || s.sectionIndex() >= 0xff00) continue;
            ElfSection section = elf.section(s.sectionIndex());
            if (section.name().equals(".bss")) return (int) s.value();
        }
        throw new LoadException("the object has no global " + symbol + " in .bss (see memcached_offload.bpf.c for the layout)");
    }

    public InetSocketAddress tcpAddress() { return (InetSocketAddress) tcp.getLocalSocketAddress(); }

    /** The UDP socket's address, empty without UDP. */
    public Optional<InetSocketAddress> udpAddress() { return Optional.ofNullable(udp).map(UdpPacketHook::localAddress); }

    /** The UDP socket's packet hook, empty without UDP. */
    public Optional<PacketHook> hook() { return Optional.ofNullable(udp).map(UdpPacketHook::hook); }

    /** The offload program, if one was attached at start (it may since have been unloaded by a cancellation). */
    public Optional<LoadedProgram> offload() { return Optional.ofNullable(offload); }

    /** What was attached at the hook at start. */
    public OffloadMode mode() { return mode; }

    /** The BMC-style cache, in {@link OffloadMode#BMC} only. */
    Optional<BmcCache> bmc() { return Optional.ofNullable(bmc); }

    public boolean offloaded() { return hook().flatMap(PacketHook::attached).isPresent(); }

    public KFlexRuntime runtime() { return runtime; }

    public Extension extension() { return extension; }

    public HeapStore store() { return store; }

    public ServerStats stats() { return stats; }

    private Map<String, String> offloadStats() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("kflex_offload", offloaded() ? "on" : "off");
        s.put("kflex_offload_mode", mode.label());
        hook().ifPresent(h -> {
            s.put("kflex_offload_hits", Long.toString(h.count(XdpAction.TX)));
            s.put("kflex_offload_passed", Long.toString(h.count(XdpAction.PASS)));
            s.put("kflex_offload_fallbacks", Long.toString(h.fallbacks()));
        });
        offload().ifPresent(p -> {
            var run = p.stats().snapshot();
            s.put("kflex_offload_cancellations", Long.toString(run.cancellations()));
            // Linux's bpf_stats: invocations and the time spent in the program, so the hook's own cost can be told apart
            s.put("kflex_offload_run_cnt", Long.toString(run.runCount()));
            s.put("kflex_offload_run_time_ns", Long.toString(run.runTimeNs()));
        });
        bmc().ifPresent(c -> {
            s.put("kflex_bmc_fills", Long.toString(c.fills()));
            s.put("kflex_bmc_raced_fills", Long.toString(c.racedFills()));
            s.put("kflex_bmc_invalidations", Long.toString(c.invalidations()));
        });
        return s;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket socket;
            try {
                socket = tcp.accept();
            } catch (IOException e) {
                if (closed) return;
                continue;
            }
            connections.add(socket);
            stats.currConnections.increment();
            stats.totalConnections.increment();
            Thread.ofVirtual().name("memcached-conn").start(() -> serveConnection(socket));
        }
    }

    private void serveConnection(Socket socket) {
        try (socket) {
            socket.setTcpNoDelay(true);
            InputStream in = new BufferedInputStream(socket.getInputStream(), 64 * 1024);
            BufferedOutputStream out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
            Runnable flush = () -> {
                try {
                    out.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            };
            // As memcached: the first byte of a connection chooses its protocol for good (0x80: binary).
            in.mark(1);
            int first = in.read();
            if (first < 0) return;
            in.reset();
            if (first == BinaryProtocol.REQUEST) binary.serve(in, out, flush);
            else protocol.serve(in, out, flush);
            out.flush();
        } catch (IOException | UncheckedIOException e) {
            // the client went away or sent something unrecoverable: the connection ends, the server goes on
        } finally {
            connections.remove(socket);
            stats.currConnections.decrement();
        }
    }

    /** One UDP request: the frame header, then a request in the text protocol (or the binary one: first byte 0x80). */
    private void udpRequest(InetSocketAddress from, ByteBuffer payload, UdpPacketHook socket) throws IOException {
        if (payload.remaining() < FRAME_HEADER) return; // not a memcached frame: ignored, as memcached does
        stats.udpRequests.increment();
        int requestId = payload.getShort(payload.position()) & 0xffff;
        int sequence = payload.getShort(payload.position() + 2) & 0xffff;
        int count = payload.getShort(payload.position() + 4) & 0xffff;
        ByteArrayOutputStream response = new ByteArrayOutputStream();
        if (sequence != 0 || count != 1) {
            response.writeBytes("SERVER_ERROR multi-packet request not supported\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } else {
            byte[] body = new byte[payload.remaining() - FRAME_HEADER];
            payload.get(payload.position() + FRAME_HEADER, body);
            if (body.length > 0 && (body[0] & 0xff) == BinaryProtocol.REQUEST) {
                binary.serve(new ByteArrayInputStream(body), response, () -> { });
            } else {
                protocol.serve(new ByteArrayInputStream(body), response, () -> { });
            }
        }
        for (ByteBuffer datagram : frames(requestId, response.toByteArray())) socket.send(datagram, from);
    }

    /** Splits a response into datagrams of at most {@link #UDP_MAX_PAYLOAD} bytes, each with its frame header. */
    static java.util.List<ByteBuffer> frames(int requestId, byte[] response) {
        int chunk = UDP_MAX_PAYLOAD - FRAME_HEADER;
        int count = Math.max(1, (response.length + chunk - 1) / chunk);
        if (response.length == 0) return java.util.List.of(); // noreply: nothing to send
        java.util.List<ByteBuffer> frames = new java.util.ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int from = i * chunk, length = Math.min(chunk, response.length - from);
            ByteBuffer b = ByteBuffer.allocate(FRAME_HEADER + length);
            b.putShort((short) requestId).putShort((short) i).putShort((short) count).putShort((short) 0);
            b.put(response, from, length).flip();
            frames.add(b);
        }
        return frames;
    }

    @Override
    public void close() {
        closed = true;
        try {
            tcp.close();
        } catch (IOException e) {
            // closing anyway
        }
        for (Socket s : connections) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        try {
            acceptor.join(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (udp != null) {
            try {
                udp.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
        runtime.close();
    }
}
