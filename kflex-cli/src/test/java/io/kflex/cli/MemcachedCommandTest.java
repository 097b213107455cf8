package io.kflex.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(120)
class MemcachedCommandTest {
    private static Path offloadObject() {
        return Path.of(System.getProperty("kflex.repo.dir", ".."), "extensions", "objects", "memcached_offload.bpf.o");
    }

    @Test
    void jsonNamesThePortsAndTheOffloadAndTheServerAnswers() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        MemcachedCommand.stopForTests = stop;
        StringWriter out = new StringWriter(), err = new StringWriter();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> status = pool.submit(() -> Main.run(new String[] {"memcached", "--port", "0", "--udp-port", "0",
                    "--threads", "2", "--memory-limit", "3", "--offload", offloadObject().toString(), "--json"}, new PrintWriter(out, true), new PrintWriter(err, true)));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!out.toString().contains("\n") && !status.isDone() && System.nanoTime() < deadline) Thread.sleep(20);
            String json = out.toString().trim();
            assertThat(json).as(err.toString()).startsWith("{").contains("\"offload\":true", "\"offload_program\":\"memcached_udp\"");
            Matcher port = Pattern.compile("\"tcp_port\":(\\d+)").matcher(json);
            assertThat(port.find()).isTrue();
            assertThat(json).containsPattern("\"udp_port\":\\d+").contains("\"memory_limit\":" + (3 << 20));
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(port.group(1)))) {
                s.setSoTimeout(5000);
                OutputStream o = s.getOutputStream();
                o.write("set k 0 0 2\r\nhi\r\nget k\r\nstats\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                String expected = "STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\n";
                assertThat(new String(in.readNBytes(expected.length()), StandardCharsets.US_ASCII)).isEqualTo(expected);
                StringBuilder stats = new StringBuilder();
                while (!stats.toString().endsWith("END\r\n")) stats.append((char) in.read());
                assertThat(stats.toString()).contains("STAT limit_maxbytes " + (3 << 20) + "\r\n", "STAT evictions 0\r\n");
            }
            stop.countDown();
            assertThat(status.get()).isZero();
        } finally {
            stop.countDown();
            MemcachedCommand.stopForTests = null;
            pool.shutdownNow();
        }
    }

    @Test
    void badArgumentsAndObjectsAreUsageErrors() {
        CliRun threads = CliRun.of("memcached", "--threads", "0");
        assertThat(threads.status()).isEqualTo(Main.USAGE);
        assertThat(threads.err()).contains("--threads");
        for (String limit : new String[] {"0", "513", "-1"}) {
            CliRun memory = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--memory-limit", limit);
            assertThat(memory.status()).isEqualTo(Main.USAGE);
            assertThat(memory.err()).contains("--memory-limit must be between 1 and 512");
        }
        CliRun missing = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--offload", "/nonexistent/x.o");
        assertThat(missing.status()).isEqualTo(Main.USAGE);
        assertThat(missing.err()).contains("cannot start the server", "no such object");
        CliRun noTable = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--offload",
                offloadObject().resolveSibling("xdp_pong.bpf.o").toString());
        assertThat(noTable.status()).isEqualTo(Main.USAGE);
        assertThat(noTable.err()).contains("mc_table");
        CliRun badMode = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--offload-mode", "fast");
        assertThat(badMode.status()).isEqualTo(Main.USAGE);
        assertThat(badMode.err()).contains("offload mode must be none, kflex or bmc");
        CliRun objectWithoutMode = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--offload-mode", "none",
                "--offload", offloadObject().toString());
        assertThat(objectWithoutMode.status()).isEqualTo(Main.USAGE);
        assertThat(objectWithoutMode.err()).contains("--offload needs --offload-mode kflex or bmc");
        CliRun noCache = CliRun.of("memcached", "--port", "0", "--udp-port", "0", "--offload-mode", "bmc", "--offload",
                offloadObject().resolveSibling("xdp_pong.bpf.o").toString());
        assertThat(noCache.status()).isEqualTo(Main.USAGE);
        assertThat(noCache.err()).contains("no map bmc_cache");
    }

    @Test
    void bmcModeAttachesTheBundledCache() throws Exception {
        CountDownLatch stop = new CountDownLatch(1);
        MemcachedCommand.stopForTests = stop;
        StringWriter out = new StringWriter(), err = new StringWriter();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> status = pool.submit(() -> Main.run(new String[] {"memcached", "--port", "0", "--udp-port", "0",
                    "--offload-mode", "bmc", "--bpf-stats", "--json"}, new PrintWriter(out, true), new PrintWriter(err, true)));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!out.toString().contains("\n") && !status.isDone() && System.nanoTime() < deadline) Thread.sleep(20);
            String json = out.toString().trim();
            assertThat(json).as(err.toString()).startsWith("{")
                    .contains("\"offload\":true", "\"offload_mode\":\"bmc\"", "\"offload_program\":\"bmc_udp\"");
            // --bpf-stats: the program's runs are timed (a GET the cache misses runs it once, then Java answers)
            Matcher tcp = Pattern.compile("\"tcp_port\":(\\d+)").matcher(json), udp = Pattern.compile("\"udp_port\":(\\d+)").matcher(json);
            assertThat(tcp.find() && udp.find()).isTrue();
            try (java.net.DatagramSocket d = new java.net.DatagramSocket()) {
                d.setSoTimeout(5000);
                byte[] get = "\0\1\0\0\0\1\0\0get nothing\r\n".getBytes(StandardCharsets.US_ASCII);
                d.send(new java.net.DatagramPacket(get, get.length, InetAddress.getLoopbackAddress(), Integer.parseInt(udp.group(1))));
                java.net.DatagramPacket reply = new java.net.DatagramPacket(new byte[64], 64);
                d.receive(reply);
                assertThat(new String(reply.getData(), 8, reply.getLength() - 8, StandardCharsets.US_ASCII)).isEqualTo("END\r\n");
            }
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(tcp.group(1)))) {
                s.setSoTimeout(5000);
                s.getOutputStream().write("stats\r\n".getBytes(StandardCharsets.US_ASCII));
                InputStream in = s.getInputStream();
                StringBuilder stats = new StringBuilder();
                while (!stats.toString().endsWith("END\r\n")) stats.append((char) in.read());
                assertThat(stats.toString()).contains("STAT kflex_offload_run_cnt 1\r\n").containsPattern("STAT kflex_offload_run_time_ns [1-9]\\d*\r\n");
            }
            stop.countDown();
            assertThat(status.get()).isZero();
        } finally {
            stop.countDown();
            MemcachedCommand.stopForTests = null;
            pool.shutdownNow();
        }
    }

    @Test
    void aTakenPortIsAUsageErrorAndLeavesNothingBound() throws Exception {
        try (java.net.DatagramSocket taken = new java.net.DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            int udpPort = taken.getLocalPort();
            CliRun run = CliRun.of("memcached", "--port", "0", "--udp-port", Integer.toString(udpPort));
            assertThat(run.status()).isEqualTo(Main.USAGE);
            assertThat(run.err()).contains("cannot start the server");
        }
    }
}
