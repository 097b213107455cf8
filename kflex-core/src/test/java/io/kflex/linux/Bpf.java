package io.kflex.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The few {@code bpf(2)} commands the Linux comparison needs, called through the FFM API (no
 * native library of our own): open pinned objects, {@code BPF_PROG_TEST_RUN}, map lookups and
 * key iteration, object info, and creating a pre-mapped arena (what {@code tools/linux.py arena}
 * does). Every failure is an {@link BpfException} naming the command and errno.
 */
final class Bpf {
    static final int MAP_CREATE = 0, MAP_LOOKUP_ELEM = 1, MAP_GET_NEXT_KEY = 4, OBJ_PIN = 6, OBJ_GET = 7,
            PROG_TEST_RUN = 10, MAP_GET_FD_BY_ID = 14, OBJ_GET_INFO_BY_FD = 15;
    static final int MAP_TYPE_PERCPU_HASH = 5, MAP_TYPE_PERCPU_ARRAY = 6, MAP_TYPE_LRU_PERCPU_HASH = 10,
            MAP_TYPE_ARRAY_OF_MAPS = 12, MAP_TYPE_HASH_OF_MAPS = 13, MAP_TYPE_QUEUE = 22, MAP_TYPE_STACK = 23, MAP_TYPE_ARENA = 33;
    private static final int ATTR_SIZE = 128;
    private static final long SYS_BPF = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> 321;
        case "aarch64" -> 280;
        default -> -1;
    };
    private static final int PROT_READ = 1, PROT_WRITE = 2, MAP_SHARED = 1, F_MMAPABLE = 1 << 10, PAGE = 4096;

    static final class BpfException extends RuntimeException {
        final int errno;

        BpfException(String what, int errno) {
            super(what + ": errno " + errno);
            this.errno = errno;
        }
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL = downcall("syscall",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = downcall("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle MMAP = downcall("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS,
            ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final MethodHandle MUNMAP = downcall("munmap", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private Bpf() {}

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** Why bpf() cannot be used from this JVM, or empty when it can (a tiny array map is created and closed). */
    static Optional<String> unavailable() {
        if (!System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT).contains("linux")) return Optional.of("not Linux");
        if (SYS_BPF < 0) return Optional.of("no bpf() syscall number for " + System.getProperty("os.arch"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, 2);   // BPF_MAP_TYPE_ARRAY
            attr.set(ValueLayout.JAVA_INT, 4, 4);
            attr.set(ValueLayout.JAVA_INT, 8, 8);
            attr.set(ValueLayout.JAVA_INT, 12, 1);
            close(call(MAP_CREATE, attr));
        } catch (BpfException e) {
            return Optional.of("bpf(BPF_MAP_CREATE) fails (" + e.getMessage() + "; root and an unrestricted kernel are needed)");
        } catch (Throwable e) {
            return Optional.of("bpf() cannot be called: " + e);
        }
        try (Arena arena = Arena.ofConfined()) {
            // The heap objects need arena maps (Linux >= 6.9).
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, MAP_TYPE_ARENA);
            attr.set(ValueLayout.JAVA_INT, 12, 1);
            attr.set(ValueLayout.JAVA_INT, 16, F_MMAPABLE);
            close(call(MAP_CREATE, attr));
            return Optional.empty();
        } catch (BpfException e) {
            return Optional.of("this kernel has no arena maps (" + e.getMessage() + "; Linux >= 6.9 is needed)");
        } catch (Throwable e) {
            return Optional.of("bpf() cannot be called: " + e);
        }
    }

    private static MemorySegment attr(Arena arena) {
        return arena.allocate(ATTR_SIZE, 8);
    }

    private static int call(int cmd, MemorySegment attr) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long r = (long) SYSCALL.invokeExact(state, SYS_BPF, (long) cmd, attr, (long) ATTR_SIZE);
            if (r < 0) throw new BpfException("bpf(" + cmd + ")", (int) ERRNO.get(state, 0L));
            return (int) r;
        } catch (BpfException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    static void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A file descriptor for the object pinned at {@code path}. */
    static int objGet(String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.ADDRESS, 0, arena.allocateFrom(path));
            return call(OBJ_GET, attr);
        }
    }

    static void objPin(int fd, String path) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.ADDRESS, 0, arena.allocateFrom(path));
            attr.set(ValueLayout.JAVA_INT, 8, fd);
            call(OBJ_PIN, attr);
        }
    }

    /** What {@code BPF_PROG_TEST_RUN} gave back. {@code dataOut} is empty when no data went in. */
    record TestRunOutput(int retval, byte[] dataOut, byte[] ctxOut) {}

    /**
     * {@code BPF_PROG_TEST_RUN} once: {@code data} as the packet (packet programs) and/or
     * {@code ctx} as the context. A syscall program's context is written back in place, as the
     * kernel does; packet programs get {@code ctx_out} only when a context went in.
     */
    static TestRunOutput testRun(int progFd, byte[] data, byte[] ctx, boolean syscall) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, progFd);
            MemorySegment dataOut = arena.allocate(Math.max(1, data.length + 4096));
            if (data.length > 0) {
                attr.set(ValueLayout.JAVA_INT, 8, data.length);
                attr.set(ValueLayout.ADDRESS, 16, arena.allocateFrom(ValueLayout.JAVA_BYTE, data));
                attr.set(ValueLayout.JAVA_INT, 12, (int) dataOut.byteSize());
                attr.set(ValueLayout.ADDRESS, 24, dataOut);
            }
            if (!syscall) attr.set(ValueLayout.JAVA_INT, 32, 1); // repeat
            MemorySegment ctxIn = ctx.length > 0 ? arena.allocateFrom(ValueLayout.JAVA_BYTE, ctx) : MemorySegment.NULL;
            MemorySegment ctxOut = arena.allocate(Math.max(1, ctx.length));
            if (ctx.length > 0) {
                attr.set(ValueLayout.JAVA_INT, 40, ctx.length);
                attr.set(ValueLayout.ADDRESS, 48, ctxIn);
                if (!syscall) {
                    attr.set(ValueLayout.JAVA_INT, 44, ctx.length);
                    attr.set(ValueLayout.ADDRESS, 56, ctxOut);
                }
            }
            call(PROG_TEST_RUN, attr);
            int retval = attr.get(ValueLayout.JAVA_INT, 4);
            byte[] out = data.length > 0 ? dataOut.asSlice(0, attr.get(ValueLayout.JAVA_INT, 12)).toArray(ValueLayout.JAVA_BYTE) : new byte[0];
            byte[] c = ctx.length == 0 ? new byte[0]
                    : syscall ? ctxIn.toArray(ValueLayout.JAVA_BYTE)
                    : ctxOut.asSlice(0, attr.get(ValueLayout.JAVA_INT, 44)).toArray(ValueLayout.JAVA_BYTE);
            return new TestRunOutput(retval, out, c);
        }
    }

    record MapInfo(int type, int id, int keySize, int valueSize, int maxEntries, int flags, String name) {}

    static MapInfo mapInfo(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(96, 8);
            infoByFd(arena, fd, info);
            byte[] name = info.asSlice(24, 16).toArray(ValueLayout.JAVA_BYTE);
            int end = 0;
            while (end < name.length && name[end] != 0) end++;
            return new MapInfo(info.get(ValueLayout.JAVA_INT, 0), info.get(ValueLayout.JAVA_INT, 4), info.get(ValueLayout.JAVA_INT, 8),
                    info.get(ValueLayout.JAVA_INT, 12), info.get(ValueLayout.JAVA_INT, 16), info.get(ValueLayout.JAVA_INT, 20),
                    new String(name, 0, end, StandardCharsets.US_ASCII));
        }
    }

    /** The ids of the maps a program uses ({@code bpf_prog_info.map_ids}). */
    static List<Integer> programMapIds(int progFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(4 * 64, 8);
            MemorySegment info = arena.allocate(256, 8);
            info.set(ValueLayout.JAVA_INT, 52, 64);          // nr_map_ids
            info.set(ValueLayout.ADDRESS, 56, ids);          // map_ids
            infoByFd(arena, progFd, info);
            int n = Math.min(64, info.get(ValueLayout.JAVA_INT, 52));
            List<Integer> out = new ArrayList<>();
            for (int i = 0; i < n; i++) out.add(ids.getAtIndex(ValueLayout.JAVA_INT, i));
            return out;
        }
    }

    private static void infoByFd(Arena arena, int fd, MemorySegment info) {
        MemorySegment attr = attr(arena);
        attr.set(ValueLayout.JAVA_INT, 0, fd);
        attr.set(ValueLayout.JAVA_INT, 4, (int) info.byteSize());
        attr.set(ValueLayout.ADDRESS, 8, info);
        call(OBJ_GET_INFO_BY_FD, attr);
    }

    static int mapFdById(int id) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, id);
            return call(MAP_GET_FD_BY_ID, attr);
        }
    }

    /** The value under {@code key} ({@code valueBytes} long: per-CPU maps hold one padded value per possible CPU). */
    static Optional<byte[]> lookup(int mapFd, byte[] key, int valueBytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            MemorySegment value = arena.allocate(Math.max(1, valueBytes), 8);
            attr.set(ValueLayout.JAVA_INT, 0, mapFd);
            attr.set(ValueLayout.ADDRESS, 8, key.length == 0 ? MemorySegment.NULL : arena.allocateFrom(ValueLayout.JAVA_BYTE, key));
            attr.set(ValueLayout.ADDRESS, 16, value);
            call(MAP_LOOKUP_ELEM, attr);
            return Optional.of(value.toArray(ValueLayout.JAVA_BYTE));
        } catch (BpfException e) {
            if (e.errno == 2) return Optional.empty(); // ENOENT
            throw e;
        }
    }

    /** Every key of the map, in the kernel's iteration order. */
    static List<byte[]> keys(int mapFd, int keySize) {
        List<byte[]> keys = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = MemorySegment.NULL;
            while (true) {
                MemorySegment attr = attr(arena);
                MemorySegment next = arena.allocate(keySize);
                attr.set(ValueLayout.JAVA_INT, 0, mapFd);
                attr.set(ValueLayout.ADDRESS, 8, key);
                attr.set(ValueLayout.ADDRESS, 16, next);
                try {
                    call(MAP_GET_NEXT_KEY, attr);
                } catch (BpfException e) {
                    if (e.errno == 2) return keys;
                    throw e;
                }
                keys.add(next.toArray(ValueLayout.JAVA_BYTE));
                key = next;
                if (keys.size() > 1_000_000) throw new IllegalStateException("map iteration does not end");
            }
        }
    }

    /**
     * Creates an arena map of {@code pages} pages with the attributes {@code kflex_heap()}
     * declares, fixes its user address with a first mmap(), and pins it at {@code path}.
     */
    static void createArena(String path, int pages) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = attr(arena);
            attr.set(ValueLayout.JAVA_INT, 0, MAP_TYPE_ARENA);
            attr.set(ValueLayout.JAVA_INT, 12, pages);
            attr.set(ValueLayout.JAVA_INT, 16, F_MMAPABLE);
            int fd = call(MAP_CREATE, attr);
            try {
                long length = (long) pages * PAGE;
                MemorySegment at = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0L);
                if (at.address() == -1L) throw new BpfException("mmap of the arena", -1);
                int ignored = (int) MUNMAP.invokeExact(at, length);
                objPin(fd, path);
            } catch (BpfException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                close(fd);
            }
        }
    }
}
