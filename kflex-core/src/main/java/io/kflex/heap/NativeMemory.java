package io.kflex.heap;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;

/**
 * The few Linux system calls the heap needs, called through the FFM linker: reserving address
 * space that is committed only when touched ({@code mmap} with {@code MAP_NORESERVE}), mapping a
 * file over part of it, and giving pages back ({@code madvise}). Constants are Linux's generic
 * values, shared by x86-64 and AArch64.
 */
final class NativeMemory {
    private NativeMemory() {}

    static final long PAGE = 4096;

    private static final int PROT_READ = 1, PROT_WRITE = 2;
    private static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    private static final int MADV_DONTNEED = 4, MADV_REMOVE = 9;
    private static final int O_RDWR = 02, O_CREAT = 0100, O_CLOEXEC = 02000000;
    private static final long MAP_FAILED = -1L;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

    private static final MethodHandle MMAP, MUNMAP, MADVISE, MINCORE, OPEN, FTRUNCATE, CLOSE, STRERROR;
    private static final Throwable UNAVAILABLE;

    static {
        MethodHandle mmap = null, munmap = null, madvise = null, mincore = null, open = null, ftruncate = null, close = null, strerror = null;
        Throwable unavailable = null;
        try {
            if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
                throw new UnsupportedOperationException("lazily committed heaps are implemented for Linux only (this is " + System.getProperty("os.name") + ")");
            }
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            Linker.Option errno = Linker.Option.captureCallState("errno");
            ValueLayout.OfLong size = ValueLayout.JAVA_LONG;
            mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), errno);
            munmap = linker.downcallHandle(libc.find("munmap").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size), errno);
            // No errno capture: madvise runs on every page release and its failure is handled
            // without a reason, so it need not pay for a capture buffer.
            madvise = linker.downcallHandle(libc.find("madvise").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size, ValueLayout.JAVA_INT));
            mincore = linker.downcallHandle(libc.find("mincore").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, size, ValueLayout.ADDRESS), errno);
            open = linker.downcallHandle(libc.find("open").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno, Linker.Option.firstVariadicArg(2));
            ftruncate = linker.downcallHandle(libc.find("ftruncate").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG), errno);
            close = linker.downcallHandle(libc.find("close").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), errno);
            strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), ValueLayout.JAVA_INT));
        } catch (Throwable t) {
            unavailable = t;
        }
        MMAP = mmap;
        MUNMAP = munmap;
        MADVISE = madvise;
        MINCORE = mincore;
        OPEN = open;
        FTRUNCATE = ftruncate;
        CLOSE = close;
        STRERROR = strerror;
        UNAVAILABLE = unavailable;
    }

    /** A mapping: its base address and length. */
    record Mapping(long address, long length) {}

    /**
     * Reserves {@code length} bytes of zero-filled, readable and writable memory that costs
     * nothing until touched. With {@code file} non-null, {@code [fileOffsetInMapping,
     * fileOffsetInMapping + fileLength)} of the mapping shows that file instead (shared with every
     * other mapping of it), which is created or extended (sparsely) to {@code fileLength} bytes.
     */
    static Mapping reserve(long length, Path file, long fileOffsetInMapping, long fileLength) throws HeapException {
        checkAvailable();
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CAPTURE);
            MemorySegment base = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, length,
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0L);
            if (base.address() == MAP_FAILED) throw new HeapException("cannot reserve " + length + " bytes: " + error(state));
            Mapping mapping = new Mapping(base.address(), length);
            if (file == null) return mapping;
            try {
                mapFile(call, state, mapping.address() + fileOffsetInMapping, file, fileLength);
            } catch (HeapException | RuntimeException e) {
                unmap(mapping);
                throw e;
            }
            return mapping;
        } catch (HeapException e) {
            throw e;
        } catch (Throwable t) {
            throw new HeapException("cannot reserve heap memory: " + t, t);
        }
    }

    private static void mapFile(Arena call, MemorySegment state, long at, Path file, long length) throws Throwable {
        MemorySegment name = call.allocateFrom(file.toAbsolutePath().toString());
        int fd = (int) OPEN.invokeExact(state, name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) throw new HeapException("cannot open heap file " + file + ": " + error(state));
        try {
            // Only ever grow the file: a shorter heap over a longer file must not truncate its data.
            long existing = java.nio.file.Files.size(file);
            if (existing < length && (int) FTRUNCATE.invokeExact(state, fd, length) != 0) {
                throw new HeapException("cannot size heap file " + file + " to " + length + " bytes: " + error(state));
            }
            MemorySegment got = (MemorySegment) MMAP.invokeExact(state, MemorySegment.ofAddress(at), length,
                    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0L);
            if (got.address() == MAP_FAILED) throw new HeapException("cannot map heap file " + file + ": " + error(state));
        } finally {
            int _ = (int) CLOSE.invokeExact(state, fd); // the mapping keeps the file open
        }
    }

    /** Releases a mapping; never throws (it runs from cleaners). */
    static void unmap(Mapping mapping) {
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CAPTURE);
            int _ = (int) MUNMAP.invokeExact(state, MemorySegment.ofAddress(mapping.address()), mapping.length());
        } catch (Throwable ignored) {
            // Nothing sensible to do: the address space stays reserved.
        }
    }

    /*
     * The calls below take the range as a slice of the heap's own segment, not as a raw address:
     * the linker keeps the segment's arena alive for the duration of the call (and refuses the
     * call once it is closed), so a heap closed concurrently can never have its addresses reused
     * by another mapping that this call would then wipe.
     */

    /**
     * Gives {@code range} back to the system ({@code MADV_DONTNEED}): the pages of an anonymous
     * mapping read as zeros afterwards and cost nothing until touched again; the pages of a file
     * mapping are dropped from this process but keep their data. False if that failed.
     */
    static boolean decommit(MemorySegment range) {
        return madvise(range, MADV_DONTNEED);
    }

    /**
     * Zeroes {@code range} of a file mapping and releases the file's blocks ({@code MADV_REMOVE},
     * a hole punch); returns false where the file system cannot, and the caller must zero the
     * range itself.
     */
    static boolean punch(MemorySegment range) {
        return madvise(range, MADV_REMOVE);
    }

    /** Bytes of {@code range} (page aligned) that are resident in memory ({@code mincore}), or -1 if the system cannot tell. */
    static long residentBytes(MemorySegment range) {
        long length = range.byteSize();
        long pages = (length + PAGE - 1) / PAGE;
        try (Arena call = Arena.ofConfined()) {
            MemorySegment state = call.allocate(CAPTURE);
            MemorySegment vector = call.allocate(pages);
            if ((int) MINCORE.invokeExact(state, range, length, vector) != 0) return -1;
            long resident = 0;
            for (long i = 0; i < pages; i++) resident += vector.get(ValueLayout.JAVA_BYTE, i) & 1;
            return resident * PAGE;
        } catch (Throwable t) {
            return -1;
        }
    }

    private static boolean madvise(MemorySegment range, int advice) {
        try {
            return (int) MADVISE.invokeExact(range, range.byteSize(), advice) == 0;
        } catch (IllegalStateException closed) {
            throw closed;
        } catch (Throwable t) {
            return false;
        }
    }

    private static void checkAvailable() throws HeapException {
        if (UNAVAILABLE != null) throw new HeapException("native memory mapping is unavailable: " + UNAVAILABLE.getMessage(), UNAVAILABLE);
    }

    private static String error(MemorySegment state) {
        int errno = (int) ERRNO.get(state, 0L);
        try {
            MemorySegment text = (MemorySegment) STRERROR.invokeExact(errno);
            return text.getString(0) + " (errno " + errno + ")";
        } catch (Throwable t) {
            return "errno " + errno;
        }
    }
}
