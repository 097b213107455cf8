package io.kflex.linux;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.TestObjects;
import io.kflex.loader.ProgramType;
import io.kflex.maps.BpfMap;
import io.kflex.runtime.Extension;
import io.kflex.runtime.KFlexRuntime;
import io.kflex.runtime.LoadedProgram;
import io.kflex.runtime.TestRun;
import io.kflex.runtime.TestRunResult;
import io.kflex.verifier.VerificationException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The committed objects in the running Linux kernel and in kflex, side by side: Linux's verifier
 * verdict against kflex's (kflex must accept everything Linux accepts), and for every object both
 * load, the same inputs through {@code BPF_PROG_TEST_RUN} and through {@link LoadedProgram#testRun}
 * on both engines — retval, packet out, context out, and afterwards the contents of every map
 * Linux lets us read (arrays, hashes, per-CPU maps, global data).
 *
 * <p>Needs root, {@code bpf()} and bpftool; elsewhere every test is skipped with the reason.
 * Objects that use kflex-only kfuncs ({@code kflex_malloc}, {@code kflex_spin_lock}) are rejected
 * by Linux and have only their verdicts compared.
 */
class LinuxCompatibilityTest {
    private static final List<String> ENGINES = List.of("interpreter", "jit");
    /** Objects Linux must reject, and why (the differences docs/linux-compatibility.md describes). */
    private static final Map<String, String> LINUX_REJECTS = Map.of(
            "maps_legacy.bpf.o", "libbpf >= 1.0 refuses legacy map sections",
            "unbounded_walk.bpf.o", "an unbounded loop: Linux cannot prove termination, kflex cancels it",
            "sk_leak.bpf.o", "rejected on purpose by both: a leaked socket reference");

    /** Objects whose Linux verdict takes long to reach; loaded only with {@code -Dkflex.linux.slow=true}. */
    private static final Map<String, String> SLOW_IN_LINUX = Map.of(
            "unbounded_walk.bpf.o", "Linux's verifier walks 1,000,000 instructions (tens of seconds) before it gives up");
    /**
     * Objects whose maps hold heap addresses: the arena's user address differs between Linux and
     * kflex (and between runs), so their map contents are not compared (their results are).
     */
    private static final java.util.Set<String> HEAP_ADDRESSES_IN_MAPS = java.util.Set.of("bench_list_walk.bpf.o", "heap_list.bpf.o",
            "count_sketch.bpf.o");

    /** Objects of program types Linux cannot test-run (no {@code BPF_PROG_TEST_RUN} for sk_skb): verdicts only. */
    private static final Map<String, String> NO_TEST_RUN_IN_LINUX = Map.of(
            "stream_verbs.bpf.o", "sk_skb programs have no BPF_PROG_TEST_RUN in Linux (HooksEndToEndTest runs it in kflex through the stream hook)");
    /** Arrays indexed by {@code bpf_get_smp_processor_id()}: which CPU a test run lands on differs, so their totals are compared. */
    private static final java.util.Set<String> CPU_INDEXED_MAPS = java.util.Set.of("by_cpu");

    /** A test run the kernel refuses with EINVAL (and kflex with IllegalArgumentException): frames shorter than 14 bytes. */
    private static final String REFUSED = "refused: invalid input";
    private static final int EINVAL = 22;

    private static LinuxKernel kernel;
    private static final Map<String, String> verdictRows = new TreeMap<>();

    @BeforeAll
    static void kernel() throws Exception {
        Optional<String> why = LinuxKernel.unavailable();
        if (why.isEmpty()) {
            try {
                kernel = LinuxKernel.open();
                return;
            } catch (IOException e) {
                why = Optional.of(e.getMessage());
            }
        }
        // Said on the console too: a skipped comparison should not go unnoticed in a CI log.
        String reason = "Linux comparison skipped: " + why.get();
        System.err.println("LinuxCompatibilityTest: " + reason);
        Assumptions.abort(reason);
    }

    @AfterAll
    static void close() throws Exception {
        if (kernel != null) kernel.close();
        if (!verdictRows.isEmpty()) {
            System.out.println("| object | Linux 6.x | kflex | note |\n|---|---|---|---|");
            verdictRows.values().forEach(System.out::println);
        }
    }

    /** One input: a frame for a packet program, a context for a syscall program. */
    record Case(String program, byte[] input, String what) {}

    private static byte[] le(Object... fields) {
        ByteBuffer b = ByteBuffer.allocate(256).order(ByteOrder.LITTLE_ENDIAN);
        for (Object f : fields) {
            switch (f) {
                case Integer i -> b.putInt(i);
                case Long l -> b.putLong(l);
                default -> throw new IllegalArgumentException(String.valueOf(f));
            }
        }
        return java.util.Arrays.copyOf(b.array(), b.position());
    }

    /** struct adjust_req { s16 head; s16 tail; s8 meta; u8 pad[3]; } then bytes numbered 8, 9, ... up to {@code length}. */
    private static byte[] adjustRequest(int head, int tail, int meta, int length) {
        byte[] frame = new byte[length];
        for (int i = 8; i < length; i++) frame[i] = (byte) i;
        ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN).putShort((short) head).putShort((short) tail).put((byte) meta);
        return frame;
    }

    private static Case sys(String program, String what, Object... ctx) {
        return new Case(program, le(ctx), what);
    }

    private static Case pkt(String program, String what, byte[] frame) {
        return new Case(program, frame, what);
    }

    /** The inputs of each object: those its source documents, then edge cases. {@code port}: a UDP port bound on 127.0.0.1. */
    static Map<String, List<Case>> cases(int port) {
        Map<String, List<Case>> c = new LinkedHashMap<>();
        c.put("xdp_parse.bpf.o", List.of(
                pkt("xdp_udp", "UDP to port 7 -> TX", Frames.udp().dport(7).build()),
                pkt("xdp_udp", "UDP to port 9 -> DROP", Frames.udp().dport(9).build()),
                pkt("xdp_udp", "UDP to port 53 -> PASS", Frames.udp().build()),
                pkt("xdp_udp", "TCP -> PASS", Frames.udp().protocol(6).build()),
                pkt("xdp_udp", "ARP -> PASS", Frames.udp().ethertype(0x0806).build()),
                pkt("xdp_udp", "IHL 4 -> DROP", Frames.udp().ihl(4).build()),
                pkt("xdp_udp", "IHL 6, port 7 -> TX", Frames.udp().ihl(6).dport(7).build()),
                pkt("xdp_udp", "IHL 15, port 7", Frames.udp().ihl(15).dport(7).build()),
                pkt("xdp_udp", "38-byte frame", Frames.udp().cut(38).build()),
                pkt("xdp_udp", "20-byte frame", Frames.udp().cut(20).build()),
                pkt("xdp_udp", "14-byte frame (Ethernet only)", Frames.udp().cut(14).build()),
                pkt("xdp_udp", "13-byte frame: refused", Frames.udp().cut(13).build()),
                pkt("xdp_udp", "1400-byte payload to port 7", Frames.udp().dport(7).payload(new byte[1400]).build())));
        c.put("xdp_pong.bpf.o", List.of(
                pkt("xdp_pong", "ping 42 -> TX pong", Frames.udp().dport(7000).sport(40000).payload("ping 42").build()),
                pkt("xdp_pong", "ping, unpadded", Frames.udp().payload("ping").pad(0).build()),
                pkt("xdp_pong", "pin -> PASS", Frames.udp().payload("pin").pad(0).build()),
                pkt("xdp_pong", "hello -> PASS", Frames.udp().build()),
                pkt("xdp_pong", "TCP -> PASS", Frames.udp().protocol(6).build()),
                pkt("xdp_pong", "IP options -> PASS", Frames.udp().ihl(6).payload("ping").build()),
                pkt("xdp_pong", "truncated UDP -> DROP", Frames.udp().cut(36).build())));
        c.put("xdp_steer.bpf.o", List.of(
                pkt("steer_v1", "xx 17 -> TX v1", Frames.udp().payload("xx 17").build()),
                pkt("steer_v2", "xx 17 -> TX v2", Frames.udp().payload("xx 17").build()),
                pkt("steer_v2", "2-byte payload, unpadded -> TX", Frames.udp().payload("ab").pad(0).build()),
                pkt("steer_v1", "1-byte payload, unpadded -> PASS", Frames.udp().payload("a").pad(0).build()),
                pkt("steer_v1", "drop -> DROP", Frames.udp().payload("drop it").build()),
                pkt("steer_v1", "redirect -> REDIRECT", Frames.udp().payload("redirect me").build()),
                pkt("steer_v2", "redi, unpadded -> TX", Frames.udp().payload("redi").pad(0).build()),
                pkt("steer_v1", "TCP -> PASS", Frames.udp().protocol(6).build()),
                pkt("steer_v1", "IP options -> PASS", Frames.udp().ihl(6).build()),
                pkt("steer_v1", "truncated -> ABORTED", Frames.udp().cut(40).build())));
        List<Case> adjust = new ArrayList<>();
        for (int[] a : new int[][] {{0, 0, 0, 64}, {-14, 0, 0, 64}, {14, 0, 0, 64}, {-216, 0, 0, 64}, {-217, 0, 0, 64}, {50, 0, 0, 64},
                {51, 0, 0, 64}, {0, 100, 0, 64}, {0, -50, 0, 64}, {0, -51, 0, 64}, {0, 3456, 0, 64}, {0, 3457, 0, 64},
                {0, 0, -4, 64}, {0, 0, -32, 64}, {0, 0, -36, 64}, {0, 0, -64, 64}, {0, 0, -216, 64}, {0, 0, -220, 64}, {-16, 0, -200, 64}, {0, 0, -3, 64}, {0, 0, 4, 64}, {-20, 0, -8, 64},
                {-216, 0, -4, 64}, {-212, 0, -4, 64}, {10, -10, -8, 64}, {0, 2020, 0, 1500}, {0, 2021, 0, 1500}, {-100, -1400, -32, 1500}})
            adjust.add(pkt("adjust", "head " + a[0] + " tail " + a[1] + " meta " + a[2] + ", " + a[3] + " bytes", adjustRequest(a[0], a[1], a[2], a[3])));
        adjust.add(pkt("adjust", "7-byte frame: refused", new byte[7]));
        c.put("xdp_adjust.bpf.o", adjust);
        c.put("maps_btf.bpf.o", List.of(
                sys("account", "key 5 len 100", 5, 100, 0L), sys("account", "again", 5, 100, 0L),
                sys("account", "key 7 len 1500", 7, 1500, 0L),
                sys("account", "key 0: delete flow 5", 0, 5, 0L), sys("account", "delete flow 5 again", 0, 5, 0L),
                sys("account", "key 5 anew", 5, 100, 0L), sys("account", "key -1 len -1", -1, -1, 0L)));
        List<Case> mom = new ArrayList<>();
        for (int[] s : new int[][] {{0, 5}, {0, 5}, {1, 3}, {2, 1}, {9, 1}, {-1, 1}}) mom.add(sys("bump_inner", "slot " + s[0] + " add " + s[1], s[0], s[1], 0L));
        c.put("maps_of_maps.bpf.o", mom);
        c.put("maps_queue_stack.bpf.o", List.of(sys("fifo_lifo", "first run", 0L, 0L, 0L, 0L), sys("fifo_lifo", "second run", 0L, 0L, 0L, 0L),
                sys("fifo_lifo", "third run", 0L, 0L, 0L, 0L)));
        c.put("globals.bpf.o", List.of(sys("globals", "index 0", 0, 0), sys("globals", "index 1", 1, 0),
                sys("globals", "index 3", 3, 0), sys("globals", "index 0xffffffff", -1, 0)));
        c.put("subprogs.bpf.o", Stream.of(5, -3, 1000, 0, -101, Integer.MIN_VALUE, Integer.MAX_VALUE)
                .map(x -> sys("subprogs", "x = " + x, x, 0)).toList());
        c.put("loop_bounded.bpf.o", Stream.of(27L, 1L, 6L, 0L, 837799L, -1L).map(x -> sys("collatz", "x = " + x, x, 0L)).toList());
        List<Case> canLoop = new ArrayList<>(Stream.of(27L, 837799L, 1L, 3L).map(x -> sys("collatz_can_loop", "x = " + x, x, 0L, 0L)).toList());
        for (long[] g : new long[][] {{48, 18}, {1071, 462}, {9, 0}, {0, 9}, {-1, 3}}) canLoop.add(sys("gcd_cond_break", "gcd(" + g[0] + ", " + g[1] + ")", g[0], g[1], 0L));
        c.put("loop_can_loop.bpf.o", canLoop);
        List<Case> bpfLoop = new ArrayList<>();
        for (int[] n : new int[][] {{10, 0}, {100, 0}, {100, 1000}, {0, 0}, {1 << 23, 1000}, {(1 << 23) + 1, 1000}})
            bpfLoop.add(sys("sum_squares", "n = " + n[0] + ", limit " + n[1], n[0], n[1], 0L));
        c.put("loop_bpf_loop.bpf.o", bpfLoop);
        List<Case> bpfFor = new ArrayList<>();
        for (int[] r : new int[][] {{0, 100}, {5, 3}, {-3, 3}, {0, 0}, {-(1 << 23), -(1 << 23) + 3}})
            bpfFor.add(sys("triangle", "[" + r[0] + ", " + r[1] + ")", r[0], r[1], 0L, 0L));
        c.put("loop_bpf_for.bpf.o", bpfFor);
        c.put("tail_call.bpf.o", Stream.of(0, 1, 2, 3, 4, 255).map(b -> {
            byte[] f = new byte[64];
            f[0] = (byte) (int) b;
            return pkt("dispatch", "first byte " + b, f);
        }).toList());
        c.put("heap_list.bpf.o", Stream.of(10, 64, 0, 1).map(n -> sys("build_and_walk", "n = " + n, n, 0, 0L)).toList());
        // The source's example, then counters that wrap (two adds of 2^31 - 1) and a count beyond 32 bits.
        List<Case> sketch = new ArrayList<>();
        for (long[] add : new long[][] {{7, 5}, {7, 2}, {9, 1}, {11, -3}, {42, Integer.MAX_VALUE}, {42, Integer.MAX_VALUE}, {1L << 40, (1L << 32) + 6}}) {
            sketch.add(sys("cs_add", "add(" + add[0] + ", " + add[1] + ")", add[0], add[1]));
        }
        for (long key : new long[] {7, 9, 11, 13, 42, 1L << 40}) sketch.add(sys("cs_estimate", "estimate(" + key + ")", key, 0L));
        c.put("count_sketch.bpf.o", sketch);
        c.put("spin_lock_map.bpf.o", List.of(pkt("locked_add", "64-byte frame", new byte[64]), pkt("locked_add", "again", new byte[64]),
                pkt("locked_add", "100-byte frame", new byte[100]), pkt("locked_read", "count", new byte[64])));
        c.put("sk_lookup.bpf.o", List.of(
                pkt("udp_owner", "nothing bound at 127.0.0.1:9 -> DROP", Frames.udp().loopback().dport(9).build()),
                pkt("udp_owner", "bound at 127.0.0.1:" + port + " -> PASS", Frames.udp().loopback().dport(port).build()),
                pkt("udp_owner", "to 10.0.0.2:" + port + " -> DROP", Frames.udp().dport(port).build()),
                pkt("udp_owner", "TCP -> PASS", Frames.udp().protocol(6).build()),
                pkt("udp_owner", "truncated -> ABORTED", Frames.udp().cut(30).build())));
        c.put("ringbuf.bpf.o", List.of(sys("emit", "value 7", 7, 0, 0L), sys("emit", "again", 7, 0, 0L), sys("emit", "value 0 (discard)", 0, 0, 0L)));
        List<Case> calc = new ArrayList<>();
        long min = Long.MIN_VALUE;
        for (long[] op : new long[][] {{3, -7, 2}, {4, -7, 2}, {3, 5, 0}, {4, -7, 0}, {5, -1, 2}, {6, 0x0102030405060708L, 0}, {7, 0x80, 0},
                {9, -256, 4}, {3, min, -1}, {4, min, -1}, {5, min, 0}, {8, 1, 64}, {8, 1, 63}, {9, min, 63}, {0, Long.MAX_VALUE, 1},
                {2, min, -1}, {7, 0x7f, 0}, {1, 0, 1}, {42, 1, 2}})
            calc.add(sys("calc", "op " + op[0] + " a = " + op[1] + " b = " + op[2], (int) op[0], 0, op[1], op[2], 0L));
        c.put("syscall_ctx.bpf.o", calc);
        List<Case> hash = new ArrayList<>();
        for (String p : List.of("hashmix_bounded", "hashmix_can_loop", "hashmix_bpf_loop", "hashmix_bpf_for"))
            for (int n : new int[] {1, 1000, 0, 5000}) hash.add(sys(p, "seed 7, " + n + " iterations", 7L, n, 0, 0L));
        c.put("bench_hashmix.bpf.o", hash);
        c.put("bench_list_walk.bpf.o", List.of(
                sys("list_walk", "walk before build", 0, 0, 0, 0, 0L, 0L),
                sys("list_build", "build 4096, seed 42", 4096, 42, 0, 0, 0L, 0L),
                sys("list_walk", "walk 4096", 0, 0, 0, 0, 0L, 0L),
                sys("list_build", "build 1000, seed 0", 1000, 0, 0, 0, 0L, 0L),
                sys("list_walk", "walk 1000", 0, 0, 0, 0, 0L, 0L),
                sys("list_build", "n = 0 rejected", 0, 0, 0, 0, 0L, 0L)));
        c.put("multi_prog.bpf.o", List.of(pkt("mp_xdp", "XDP_PASS", new byte[64]), pkt("mp_tc", "TC_ACT_OK", new byte[64]), pkt("mp_tc", "empty frame: refused", new byte[0]),
                pkt("mp_socket", "64-byte frame", new byte[64]), pkt("mp_socket", "IPv4 frame", Frames.udp().build()),
                sys("mp_report", "counters", 0L, 0L, 0L)));
        byte[] byte3 = new byte[64];
        byte3[3] = 1;
        c.put("xdp_count.gcc.o", List.of(pkt("xdp_count", "64 zero bytes -> DROP", new byte[64]), pkt("xdp_count", "byte 3 set -> PASS", byte3),
                pkt("xdp_count", "14 bytes -> DROP", new byte[14])));
        return c;
    }

    @TestFactory
    Stream<DynamicTest> everyCommittedObjectBehavesAsInLinux() throws IOException {
        List<Path> objects;
        try (Stream<Path> files = Files.list(TestObjects.objectsDir())) {
            objects = files.filter(p -> p.toString().endsWith(".o")).sorted().toList();
        }
        assertThat(objects).as("committed objects").isNotEmpty();
        return objects.stream().map(o -> DynamicTest.dynamicTest(o.getFileName().toString(), () -> compare(o)));
    }

    private void compare(Path object) throws Exception {
        String name = object.getFileName().toString();
        try (DatagramChannel bound = DatagramChannel.open(java.net.StandardProtocolFamily.INET)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            InetSocketAddress local = (InetSocketAddress) bound.getLocalAddress();
            List<Case> cases = cases(local.getPort()).getOrDefault(name, List.of());
            if (SLOW_IN_LINUX.containsKey(name) && !Boolean.getBoolean("kflex.linux.slow")) {
                // Its verdict is still checked on the kflex side; Linux's is in the docs' table.
                assertThat(kflexVerdict(object, "jit")).as("kflex accepts %s", name).isEmpty();
                Assumptions.abort(name + " not loaded into Linux: " + SLOW_IN_LINUX.get(name) + " (run with -Dkflex.linux.slow=true)");
            }
            LinuxKernel.Verdict linux = kernel.load(object);
            Map<String, String> kflexVerdicts = new LinkedHashMap<>();
            for (String engine : ENGINES) kflexVerdicts.put(engine, kflexVerdict(object, engine));
            boolean linuxAccepts = linux.loaded().isPresent();
            String kflex = kflexVerdicts.get("jit");
            Optional<String> kflexOnly = kflexOnlyKfunc(linux.rejection());
            String note = kflexOnly.map(k -> "KFlex-only kfunc " + k).orElse(LINUX_REJECTS.getOrDefault(name, ""));
            verdictRows.put(name, "| `" + name + "` | " + (linuxAccepts ? "accepts" : "rejects: " + linux.rejection().replace("|", "/"))
                    + " | " + (kflex.isEmpty() ? "accepts" : "rejects: " + kflex) + " | " + note + " |");
            assertThat(kflexVerdicts.get("interpreter")).as("both engines share the verifier").isEqualTo(kflex);
            if (!linuxAccepts && kflexOnly.isPresent()) {
                // Objects built on the KFlex API: only kflex can run them (their own tests do).
                assertThat(kflex).as("kflex accepts %s, which uses %s", name, note).isEmpty();
                return;
            }
            if (LINUX_REJECTS.containsKey(name)) {
                assertThat(linuxAccepts).as("%s: Linux rejects it (%s)", name, LINUX_REJECTS.get(name)).isFalse();
                if (name.equals("sk_leak.bpf.o")) assertThat(kflex).as("kflex rejects it too").isNotEmpty();
                else assertThat(kflex).as("kflex accepts what Linux rejects here: %s", LINUX_REJECTS.get(name)).isEmpty();
                return;
            }
            assertThat(linuxAccepts).as("%s loads in Linux: %s", name, linux.rejection()).isTrue();
            assertThat(kflex).as("kflex accepts everything Linux accepts: %s", name).isEmpty();
            if (NO_TEST_RUN_IN_LINUX.containsKey(name)) {
                linux.loaded().get().close();
                Assumptions.abort(name + ": verdicts agree; no test runs: " + NO_TEST_RUN_IN_LINUX.get(name));
            }
            if (cases.isEmpty()) {
                linux.loaded().get().close();
                Assumptions.abort(name + ": verdicts agree (both accept); no inputs to compare yet — add them to LinuxCompatibilityTest.cases");
            }

            Set<String> syscallPrograms = syscallPrograms(object);
            List<String> reference = new ArrayList<>();
            Map<String, Map<String, String>> linuxMaps;
            try (LinuxKernel.Loaded loaded = linux.loaded().get()) {
                for (Case c : cases) reference.add(linuxRun(loaded, c, syscallPrograms.contains(c.program())));
                linuxMaps = folded(loaded.maps());
            }
            for (String engine : ENGINES) compareWithKflex(object, engine, cases, reference, linuxMaps, local);
        }
    }

    /** Runs {@code cases} in a fresh runtime on {@code engine}: each result, then the maps, must be Linux's. */
    private static void compareWithKflex(Path object, String engine, List<Case> cases, List<String> reference,
                                         Map<String, Map<String, String>> linuxMaps, InetSocketAddress boundSocket) throws Exception {
        String name = object.getFileName().toString();
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).budget(Duration.ofSeconds(10)).build();
             Extension ext = runtime.open(object)) {
            runtime.sockets().register(io.kflex.hooks.HostSockets.UDP, boundSocket);
            for (int i = 0; i < cases.size(); i++) {
                Case c = cases.get(i);
                String what = name + " " + c.program() + " [" + c.what() + "] on " + engine;
                LoadedProgram program = ext.load(c.program());
                TestRunResult r;
                try {
                    r = program.testRun(program.type() == ProgramType.SYSCALL ? TestRun.once().withContext(c.input()) : TestRun.once().withData(c.input()));
                } catch (IllegalArgumentException e) {
                    assertThat(REFUSED).as("%s refused (%s) vs Linux", what, e.getMessage()).isEqualTo(reference.get(i));
                    continue;
                }
                assertThat(r.outcome()).as(what).isInstanceOf(io.kflex.engine.Outcome.Returned.class);
                assertThat(describe(new Bpf.TestRunOutput((int) r.retval(), r.dataOut(), r.ctxOut()))).as("%s vs Linux", what).isEqualTo(reference.get(i));
            }
            if (HEAP_ADDRESSES_IN_MAPS.contains(name)) return;
            Map<String, Map<String, String>> ours = new TreeMap<>();
            for (String linuxName : linuxMaps.keySet()) {
                BpfMap m = kflexMap(ext, linuxName);
                assertThat(m).as("%s: kflex has a map for Linux's %s", name, linuxName).isNotNull();
                ours.put(linuxName, CPU_INDEXED_MAPS.contains(linuxName) ? total(folded(m)) : folded(m));
            }
            assertThat(ours).as("%s: map contents after the runs on %s vs Linux", name, engine).isEqualTo(linuxMaps);
        }
    }

    /** Linux's result for one case, described as {@link #describe} does, or {@link #REFUSED}. */
    private static String linuxRun(LinuxKernel.Loaded loaded, Case c, boolean syscall) {
        try {
            return describe(syscall ? loaded.testRun(c.program(), new byte[0], c.input(), true)
                    : loaded.testRun(c.program(), c.input(), new byte[0], false));
        } catch (Bpf.BpfException e) {
            if (e.errno != EINVAL) throw e;
            return REFUSED;
        }
    }

    private static Set<String> syscallPrograms(Path object) throws Exception {
        Set<String> out = new java.util.HashSet<>();
        for (var p : io.kflex.loader.ExtensionObject.open(object, io.kflex.helpers.Kfuncs.resolver()).programs()) {
            if (p.type() == ProgramType.SYSCALL) out.add(p.name());
        }
        return out;
    }

    /** The KFlex-only kfunc (a {@code kflex_*} extern Linux's BTF lacks) that made Linux refuse an object, if that was why. */
    static Optional<String> kflexOnlyKfunc(String linuxRejection) {
        var m = java.util.regex.Pattern.compile("extern \\(func ksym\\) '(kflex_\\w+)': not found").matcher(linuxRejection);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    private static String describe(Bpf.TestRunOutput out) {
        HexFormat hex = HexFormat.of();
        return "retval " + out.retval() + (out.dataOut().length > 0 ? " data " + hex.formatHex(out.dataOut()) : "")
                + (out.ctxOut().length > 0 ? " ctx " + hex.formatHex(out.ctxOut()) : "");
    }

    /** kflex's verdict on every program of the object: empty when all are accepted, else the first rejection. */
    private static String kflexVerdict(Path object, String engine) {
        try (KFlexRuntime runtime = KFlexRuntime.builder().engine(engine).build(); Extension ext = runtime.open(object)) {
            ext.loadAll();
            return "";
        } catch (VerificationException e) {
            return e.getMessage().lines().findFirst().orElse("rejected");
        } catch (Exception e) {
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    /** The kflex map Linux calls {@code linuxName}: the same name (15 characters kept), or libbpf's prefixed global-data name. */
    private static BpfMap kflexMap(Extension ext, String linuxName) {
        for (BpfMap m : ext.maps().all()) {
            String n = m.name();
            if (n.equals(linuxName) || (linuxName.length() == 15 && n.startsWith(linuxName)) || (n.startsWith(".") && linuxName.endsWith(n))) return m;
        }
        return null;
    }

    private static Map<String, Map<String, String>> folded(Map<String, LinuxKernel.MapDump> dumps) {
        Map<String, Map<String, String>> out = new TreeMap<>();
        dumps.forEach((name, d) -> {
            boolean perCpu = d.info().type() == Bpf.MAP_TYPE_PERCPU_ARRAY || d.info().type() == Bpf.MAP_TYPE_PERCPU_HASH
                    || d.info().type() == Bpf.MAP_TYPE_LRU_PERCPU_HASH;
            Map<String, String> e = new TreeMap<>();
            d.elements().forEach((k, v) -> e.put(k, perCpu ? sumPerCpu(HexFormat.of().parseHex(v), d.info().valueSize()) : v));
            out.put(name, CPU_INDEXED_MAPS.contains(name) ? total(e) : e);
        });
        return out;
    }

    private static Map<String, String> folded(BpfMap m) {
        if (m instanceof io.kflex.maps.BpfMapOfMaps outer) {
            Map<String, String> e = new TreeMap<>();
            for (byte[] key : outer.keys()) outer.inner(key).ifPresent(inner -> e.put(HexFormat.of().formatHex(key), folded(inner).toString()));
            return e;
        }
        if (m instanceof io.kflex.maps.BpfQueue queue) {
            Map<String, String> e = new TreeMap<>();
            queue.peek().ifPresent(v -> e.put("peek", HexFormat.of().formatHex(v)));
            return e;
        }
        boolean perCpu = m.type() == Bpf.MAP_TYPE_PERCPU_ARRAY || m.type() == Bpf.MAP_TYPE_PERCPU_HASH || m.type() == Bpf.MAP_TYPE_LRU_PERCPU_HASH;
        Map<String, String> e = new TreeMap<>();
        for (BpfMap.Entry entry : m.entries()) {
            e.put(HexFormat.of().formatHex(entry.key()), perCpu ? sumPerCpu(entry.value(), m.spec().valueSize()) : HexFormat.of().formatHex(entry.value()));
        }
        return e;
    }

    /** An array of u64 counters as one element: their sum. */
    private static Map<String, String> total(Map<String, String> elements) {
        long sum = 0;
        for (String v : elements.values()) sum += ByteBuffer.wrap(HexFormat.of().parseHex(v)).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return Map.of("total", Long.toString(sum));
    }

    /**
     * A per-CPU value as the sum over CPUs of each 64-bit word: the machines' CPU counts differ,
     * and which CPU a test run lands on is the scheduler's choice, but the sums are the same.
     */
    private static String sumPerCpu(byte[] all, int valueSize) {
        int stride = (valueSize + 7) & ~7;
        ByteBuffer in = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer sum = ByteBuffer.allocate(stride).order(ByteOrder.LITTLE_ENDIAN);
        for (int cpu = 0; cpu + stride <= all.length; cpu += stride)
            for (int w = 0; w < stride; w += 8) sum.putLong(w, sum.getLong(w) + in.getLong(cpu + w));
        return HexFormat.of().formatHex(sum.array());
    }
}
