package io.kflex.cli;

import io.kflex.bench.Workload;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Times a workload's object in the running Linux kernel with {@code extensions/tools/linux.py
 * bench} (bpftool loads it; {@code BPF_PROG_TEST_RUN} runs it; the kernel measures). Only where
 * root, {@code bpf()}, bpftool and python3 are there: {@link #probe} says why not otherwise.
 */
final class LinuxBench {
    private static final Pattern MEDIAN = Pattern.compile("\"median_ns\":\\s*([0-9.eE+-]+)");
    private static final Pattern RETVAL = Pattern.compile("\"retval\":\\s*(-?\\d+)");
    private static final HexFormat HEX = HexFormat.of();

    private final Path tool;

    private LinuxBench(Path tool) {
        this.tool = tool;
    }

    /** A Linux timing: median ns per run and the retval of the last run. */
    record Timing(double medianNs, long retval) {}

    /** The runner, or why Linux cannot be used here (the note shown instead of its rows). */
    sealed interface Probe {
        record Available(LinuxBench bench) implements Probe {}
        record Unavailable(String why) implements Probe {}
    }

    static Probe probe(Path home) {
        Path tool = home.resolve("extensions/tools/linux.py");
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) return new Probe.Unavailable("not Linux");
        if (!Files.isRegularFile(tool)) return new Probe.Unavailable("no " + tool);
        if (!isRoot()) return new Probe.Unavailable("not root (bpf() needs CAP_BPF + CAP_PERFMON)");
        if (onPath("bpftool").isEmpty()) return new Probe.Unavailable("no bpftool on PATH or in /usr/sbin");
        if (onPath("python3").isEmpty()) return new Probe.Unavailable("no python3");
        if (!Files.isDirectory(Path.of("/sys/fs/bpf"))) return new Probe.Unavailable("no /sys/fs/bpf");
        return new Probe.Available(new LinuxBench(tool));
    }

    private static boolean isRoot() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Uid:")) return line.split("\\s+")[2].equals("0");
            }
        } catch (IOException | RuntimeException e) {
            return false;
        }
        return false;
    }

    private static Optional<Path> onPath(String name) {
        List<String> dirs = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "").split(":")));
        dirs.add("/usr/sbin");
        dirs.add("/sbin");
        return dirs.stream().filter(d -> !d.isEmpty()).map(d -> Path.of(d, name)).filter(Files::isExecutable).findFirst();
    }

    /**
     * Times {@code w} in the kernel: {@code repeat} runs per round, {@code rounds} rounds.
     *
     * @throws IOException when the tool fails (its last line of stderr is the message)
     */
    Timing time(Workload w, Path objects, int repeat, int rounds) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("python3", tool.toString(), "bench",
                objects.resolve(w.object()).toString(), w.program(), "--repeat", Integer.toString(repeat),
                "--rounds", Integer.toString(rounds)));
        if (w.dataIn().length > 0) command.addAll(List.of("--data", HEX.formatHex(w.dataIn())));
        else command.addAll(List.of("--ctx", HEX.formatHex(w.ctxIn())));
        if (w.arenaPages() > 0) command.addAll(List.of("--arena", Integer.toString(w.arenaPages())));
        for (Workload.SetupRun s : w.setupRuns()) command.addAll(List.of("--setup", s.program() + "=" + HEX.formatHex(s.ctxIn())));
        List<Path> temporary = new ArrayList<>();
        try {
            for (Workload.MapFill fill : w.mapFills()) {
                Path file = Files.createTempFile("kflex-bench-fill", ".txt");
                temporary.add(file);
                StringBuilder sb = new StringBuilder();
                for (var e : fill.entries()) sb.append(HEX.formatHex(e.key())).append(' ').append(HEX.formatHex(e.value())).append('\n');
                Files.writeString(file, sb);
                command.addAll(List.of("--fill", fill.map() + "=" + file));
            }
            Process p = new ProcessBuilder(command).start();
            p.getOutputStream().close();
            // Drain stderr concurrently so that a chatty failure cannot block the tool.
            var err = new java.util.concurrent.CompletableFuture<String>();
            Thread.ofVirtual().start(() -> {
                try {
                    err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    err.complete("");
                }
            });
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IOException("linux.py bench did not finish");
            }
            Matcher m = MEDIAN.matcher(out), r = RETVAL.matcher(out);
            if (p.exitValue() != 0 || !m.find() || !r.find()) {
                String[] lines = err.join().strip().split("\n");
                throw new IOException(lines[lines.length - 1].isBlank() ? "linux.py bench failed (status " + p.exitValue() + ")" : lines[lines.length - 1]);
            }
            return new Timing(Double.parseDouble(m.group(1)), Long.parseLong(r.group(1)));
        } finally {
            for (Path f : temporary) Files.deleteIfExists(f);
        }
    }
}
