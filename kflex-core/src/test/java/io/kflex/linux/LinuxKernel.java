package io.kflex.linux;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The running Linux kernel as a reference: objects are loaded with {@code bpftool prog loadall}
 * into a private bpffs (mounted for the session when {@code /sys/fs/bpf} is not one) and their
 * programs test-run and maps read with {@link Bpf}. {@link #unavailable()} says why a machine
 * cannot do this (not root, no bpf(), no bpftool, no bpffs), so tests can skip visibly.
 */
final class LinuxKernel implements AutoCloseable {
    /** Arena pages of the objects with a {@code kflex_heap()} (its size / 4096), as linux-check.py. */
    static final Map<String, Integer> ARENA_PAGES = Map.of("heap_list.bpf.o", 256, "unbounded_walk.bpf.o", 256,
            "bench_list_walk.bpf.o", 1024, "kflex_alloc.bpf.o", 4096, "kflex_locks.bpf.o", 16, "count_sketch.bpf.o", 256,
            "rb_tree.bpf.o", 1024);

    private final Path bpftool;
    private final Path root;
    private final boolean mounted;
    private int sequence;

    private LinuxKernel(Path bpftool, Path root, boolean mounted) {
        this.bpftool = bpftool;
        this.root = root;
        this.mounted = mounted;
    }

    private static Optional<Path> findBpftool() {
        List<Path> candidates = new ArrayList<>(List.of(Path.of("/usr/sbin/bpftool"), Path.of("/usr/bin/bpftool"), Path.of("/sbin/bpftool")));
        String path = System.getenv("PATH");
        if (path != null) for (String dir : path.split(":")) if (!dir.isEmpty()) candidates.add(Path.of(dir, "bpftool"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** Why the kernel cannot be used as a reference here, or empty. */
    static Optional<String> unavailable() {
        if (!isRoot()) return Optional.of("needs root (bpftool loads programs and mounts a bpffs)");
        Optional<String> bpf = Bpf.unavailable();
        if (bpf.isPresent()) return bpf;
        if (findBpftool().isEmpty()) return Optional.of("bpftool is not installed (Debian package bpftool)");
        return Optional.empty();
    }

    /** Whether this process runs with effective user id 0 ({@code /proc/self/status}). */
    private static boolean isRoot() {
        try {
            return Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
                    .map(l -> l.split("\\s+")).anyMatch(f -> f.length > 2 && f[2].equals("0"));
        } catch (IOException e) {
            return false;
        }
    }

    /** Starts a session: a private directory on a bpffs. */
    static LinuxKernel open() throws IOException, InterruptedException {
        Path tool = findBpftool().orElseThrow(() -> new IOException("no bpftool"));
        Path system = Path.of("/sys/fs/bpf");
        if (isBpffs(system)) {
            // bpffs (libbpf) refuses pin paths with dots: the directory name has none.
            Path dir = system.resolve("kflex-linux-test-" + ProcessHandle.current().pid());
            deleteTree(dir);
            Files.createDirectories(dir);
            return new LinuxKernel(tool, dir, false);
        }
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "kflexbpffs");
        Result r = exec(List.of("mount", "-t", "bpf", "bpf", dir.toString()));
        if (r.status != 0) {
            Files.deleteIfExists(dir);
            throw new IOException("cannot mount a bpffs at " + dir + ": " + r.output.strip());
        }
        return new LinuxKernel(tool, dir, true);
    }

    private static boolean isBpffs(Path dir) {
        try {
            return Files.readAllLines(Path.of("/proc/mounts")).stream()
                    .map(l -> l.split(" ")).anyMatch(f -> f.length > 2 && f[1].equals(dir.toString()) && f[2].equals("bpf"));
        } catch (IOException e) {
            return false;
        }
    }

    record Result(int status, String output) {}

    static Result exec(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, command + " timed out");
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    /** An object loaded into the kernel: its pinned programs and the maps they use. */
    final class Loaded implements AutoCloseable {
        private final Path dir;
        private final Map<String, Integer> programs = new LinkedHashMap<>();

        private Loaded(Path dir) throws IOException {
            this.dir = dir;
            try (Stream<Path> pins = Files.list(dir)) {
                for (Path p : pins.sorted().toList()) programs.put(p.getFileName().toString(), Bpf.objGet(p.toString()));
            }
        }

        /** The program's file descriptor, or an error naming the programs there are. */
        int program(String name) {
            Integer fd = programs.get(name);
            if (fd == null) throw new IllegalArgumentException("no program " + name + " in the kernel (loaded: " + programs.keySet() + ")");
            return fd;
        }

        Bpf.TestRunOutput testRun(String program, byte[] data, byte[] ctx, boolean syscall) {
            return Bpf.testRun(program(program), data, ctx, syscall);
        }

        /**
         * The maps the programs use, by the name the kernel gives them, with their contents:
         * hex key → hex value in key order. Map types without readable elements are left out.
         */
        Map<String, MapDump> maps() {
            Map<String, MapDump> out = new TreeMap<>();
            java.util.Set<Integer> seen = new java.util.HashSet<>();
            for (int prog : programs.values()) {
                for (int id : Bpf.programMapIds(prog)) {
                    if (!seen.add(id)) continue;
                    int fd = Bpf.mapFdById(id);
                    try {
                        Bpf.MapInfo info = Bpf.mapInfo(fd);
                        dump(fd, info).ifPresent(d -> out.put(info.name(), d));
                    } finally {
                        Bpf.close(fd);
                    }
                }
            }
            return out;
        }

        @Override
        public void close() throws IOException {
            for (int fd : programs.values()) Bpf.close(fd);
            deleteTree(dir);
            deleteTree(Path.of(dir + "_maps"));
            deleteTree(Path.of(dir + "_arena"));
        }
    }

    /** One map's readable contents: its type and hex key → hex value (per-CPU values: every CPU's, concatenated). */
    record MapDump(Bpf.MapInfo info, Map<String, String> elements) {}

    static final int MAP_TYPE_HASH = 1, MAP_TYPE_ARRAY = 2, MAP_TYPE_LRU_HASH = 9;

    private static Optional<MapDump> dump(int fd, Bpf.MapInfo info) {
        int type = info.type();
        boolean perCpu = type == Bpf.MAP_TYPE_PERCPU_ARRAY || type == Bpf.MAP_TYPE_PERCPU_HASH || type == Bpf.MAP_TYPE_LRU_PERCPU_HASH;
        boolean plain = type == MAP_TYPE_HASH || type == MAP_TYPE_ARRAY || type == MAP_TYPE_LRU_HASH;
        HexFormat hex = HexFormat.of();
        if (type == Bpf.MAP_TYPE_ARRAY_OF_MAPS || type == Bpf.MAP_TYPE_HASH_OF_MAPS) {
            // A lookup gives the inner map's id: the element is the inner map's contents.
            Map<String, String> elements = new TreeMap<>();
            for (byte[] key : Bpf.keys(fd, info.keySize())) {
                Optional<byte[]> id = Bpf.lookup(fd, key, 4);
                if (id.isEmpty()) continue;
                int innerFd = Bpf.mapFdById(java.nio.ByteBuffer.wrap(id.get()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt());
                try {
                    Bpf.MapInfo inner = Bpf.mapInfo(innerFd);
                    dump(innerFd, inner).ifPresent(d -> elements.put(hex.formatHex(key), d.elements().toString()));
                } finally {
                    Bpf.close(innerFd);
                }
            }
            return Optional.of(new MapDump(info, elements));
        }
        if (type == Bpf.MAP_TYPE_QUEUE || type == Bpf.MAP_TYPE_STACK) {
            // A lookup peeks: the element the next pop would return.
            Map<String, String> elements = new TreeMap<>();
            Bpf.lookup(fd, new byte[0], info.valueSize()).ifPresent(v -> elements.put("peek", hex.formatHex(v)));
            return Optional.of(new MapDump(info, elements));
        }
        if (!plain && !perCpu) return Optional.empty();
        int valueBytes = perCpu ? ((info.valueSize() + 7) & ~7) * possibleCpus() : info.valueSize();
        Map<String, String> elements = new TreeMap<>();
        for (byte[] key : Bpf.keys(fd, info.keySize())) {
            Bpf.lookup(fd, key, valueBytes).ifPresent(v -> elements.put(hex.formatHex(key), hex.formatHex(v)));
        }
        return Optional.of(new MapDump(info, elements));
    }

    /** The kernel's possible CPUs ({@code /sys/devices/system/cpu/possible}, e.g. "0-3"). */
    static int possibleCpus() {
        try {
            String s = Files.readString(Path.of("/sys/devices/system/cpu/possible")).strip();
            int n = 0;
            for (String part : s.split(",")) {
                String[] range = part.split("-");
                n += range.length == 1 ? 1 : Integer.parseInt(range[1]) - Integer.parseInt(range[0]) + 1;
            }
            return n;
        } catch (IOException | NumberFormatException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /**
     * Loads {@code object} with {@code bpftool prog loadall} (an arena object reuses a
     * pre-mapped arena, see extensions/README.md). Returns the loaded object, or the verifier's or
     * loader's complaint.
     */
    Verdict load(Path object) throws IOException, InterruptedException {
        String file = object.getFileName().toString();
        Path dir = root.resolve("o" + (sequence++) + "_" + file.replace('.', '_'));
        List<String> command = new ArrayList<>(List.of(bpftool.toString(), "prog", "loadall", object.toString(), dir.toString()));
        Integer pages = ARENA_PAGES.get(file);
        if (pages == null) {
            // Pinned maps keep prog arrays populated after bpftool exits.
            Path maps = Path.of(dir + "_maps");
            Files.createDirectories(maps);
            command.addAll(List.of("pinmaps", maps.toString()));
        } else {
            Path arena = Path.of(dir + "_arena");
            Bpf.createArena(arena.toString(), pages);
            command.addAll(List.of("map", "name", "kflex_heap_map", "pinned", arena.toString()));
        }
        Result r = exec(command);
        if (r.status == 0) return new Verdict(Optional.of(new Loaded(dir)), "");
        deleteTree(dir);
        deleteTree(Path.of(dir + "_maps"));
        deleteTree(Path.of(dir + "_arena"));
        return new Verdict(Optional.empty(), complaint(r.output));
    }

    /** Linux's verdict on an object: loaded, or why not. */
    record Verdict(Optional<Loaded> loaded, String rejection) {}

    /** The line of bpftool/libbpf/verifier output that says why an object was refused. */
    static String complaint(String output) {
        List<String> lines = output.lines().filter(l -> !l.isBlank() && !l.startsWith("Warning") && !l.startsWith("If it used")
                && !l.startsWith("libbpf: failed to load object") && !l.startsWith("Error: failed") && !l.startsWith("-- END")
                && !l.startsWith("processed") && !l.startsWith("verification time") && !l.startsWith("stack depth")).toList();
        for (String pattern : List.of("too large|infinite loop|back-edge|Unreleased reference", "not found|not supported", "invalid|unbounded|R\\d+ ")) {
            var re = java.util.regex.Pattern.compile(pattern);
            List<String> hits = lines.stream().filter(l -> re.matcher(l).find() && !l.contains("failed to load:")).toList();
            if (!hits.isEmpty()) return hits.getLast().replace("libbpf: ", "");
        }
        return lines.isEmpty() ? "load failed" : lines.getLast().replace("libbpf: ", "");
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (mounted) {
            exec(List.of("umount", root.toString()));
            Files.deleteIfExists(root);
        } else {
            deleteTree(root);
        }
    }
}
