package io.kflex.jit;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.CancellationBeacon;
import io.kflex.engine.CallbackOutcome;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.Outcome;
import io.kflex.engine.Invocation;
import io.kflex.helpers.HelperTable;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Small static routines the generated code calls where one JVM instruction does not match eBPF
 * semantics. They are tiny on purpose: C2 inlines them into the generated methods.
 */
final class JitRuntime {
    private JitRuntime() {}

    // Little-endian, unaligned layouts for direct stack-slot access; static finals, so constants to C2.
    static final ValueLayout.OfByte LE8 = ValueLayout.JAVA_BYTE;
    static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    // Direct accesses to a host region's segment (packet, context, map value, stack through a
    // pointer), one small static method per width: generated methods with many accesses exceed
    // C2's inlining budget, and a call to one of these compiled methods then stays cheap, where a
    // partly inlined segment access leaves calls into its internals with polluted type profiles.

    static long getU8(MemorySegment s, long offset) { return s.get(LE8, offset) & 0xffL; }

    static long getU16(MemorySegment s, long offset) { return s.get(LE16, offset) & 0xffffL; }

    static long getU32(MemorySegment s, long offset) { return s.get(LE32, offset) & 0xffff_ffffL; }

    static long getS8(MemorySegment s, long offset) { return s.get(LE8, offset); }

    static long getS16(MemorySegment s, long offset) { return s.get(LE16, offset); }

    static long getS32(MemorySegment s, long offset) { return s.get(LE32, offset); }

    static long get64(MemorySegment s, long offset) { return s.get(LE64, offset); }

    static void set8(MemorySegment s, long offset, long value) { s.set(LE8, offset, (byte) value); }

    static void set16(MemorySegment s, long offset, long value) { s.set(LE16, offset, (short) value); }

    static void set32(MemorySegment s, long offset, long value) { s.set(LE32, offset, (int) value); }

    static void set64(MemorySegment s, long offset, long value) { s.set(LE64, offset, value); }

    // A context as hooks make it: a segment over a whole long[], whose word i holds bytes
    // 8i..8i+7 little-endian. Generated code uses the array elements, whose bounds are the
    // region's: a few instructions, and a few compiler nodes, against a segment access's inlined
    // tree of checks. Loads of any width and stores of whole 64-bit values go to the array; an
    // access may straddle two words (at an unaligned address), and one that runs past the last
    // word fails on the array's bounds (a store before it has written anything).

    /** The {@code 8 * bytes}-bit little-endian value at byte {@code offset} (zero-extended). */
    private static long word(long[] w, long offset, int bytes) {
        int i = (int) (offset >>> 3), shift = (int) (offset & 7) << 3;
        long v = w[i] >>> shift;
        if (shift + 8 * bytes > 64) v |= w[i + 1] << (64 - shift);
        return bytes == 8 ? v : v & ((1L << (8 * bytes)) - 1);
    }

    static long wordU8(long[] w, long offset) { return (w[(int) (offset >>> 3)] >>> ((offset & 7) << 3)) & 0xffL; }

    static long wordU16(long[] w, long offset) { return word(w, offset, 2); }

    static long wordU32(long[] w, long offset) { return word(w, offset, 4); }

    static long wordS8(long[] w, long offset) { return (byte) wordU8(w, offset); }

    static long wordS16(long[] w, long offset) { return (short) word(w, offset, 2); }

    static long wordS32(long[] w, long offset) { return (int) word(w, offset, 4); }

    static long word64(long[] w, long offset) { return word(w, offset, 8); }

    /**
     * Stores the 64-bit little-endian value at byte {@code offset}. (Narrower stores stay segment
     * stores: merged into a word, each would wait for a load of what the previous one wrote.)
     */
    static void wordSet64(long[] w, long offset, long value) {
        int i = (int) (offset >>> 3), shift = (int) (offset & 7) << 3;
        if (shift == 0) {
            w[i] = value;
            return;
        }
        // The second word first: past the array, the store fails before it has written anything.
        w[i + 1] = w[i + 1] & (-1L << shift) | value >>> (64 - shift);
        w[i] = w[i] & ~(-1L << shift) | value << shift;
    }

    // A packet as hooks make it, and every stack: a segment over a whole byte[]. Loads and stores
    // of every width are array elements or byte-array views (one move each once compiled); the
    // offset is the region offset, below 2^32, so a cast to int is negative, hence out of the
    // array, exactly when it is past 2^31.
    private static final VarHandle BYTES16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BYTES32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle BYTES64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static long bytesU8(byte[] b, long offset) { return b[(int) offset] & 0xffL; }

    static long bytesU16(byte[] b, long offset) { return (short) BYTES16.get(b, (int) offset) & 0xffffL; }

    static long bytesU32(byte[] b, long offset) { return (int) BYTES32.get(b, (int) offset) & 0xffff_ffffL; }

    static long bytesS8(byte[] b, long offset) { return b[(int) offset]; }

    static long bytesS16(byte[] b, long offset) { return (short) BYTES16.get(b, (int) offset); }

    static long bytesS32(byte[] b, long offset) { return (int) BYTES32.get(b, (int) offset); }

    static long bytes64(byte[] b, long offset) { return (long) BYTES64.get(b, (int) offset); }

    static void bytesSet8(byte[] b, long offset, long value) { b[(int) offset] = (byte) value; }

    static void bytesSet16(byte[] b, long offset, long value) { BYTES16.set(b, (int) offset, (short) value); }

    static void bytesSet32(byte[] b, long offset, long value) { BYTES32.set(b, (int) offset, (int) value); }

    static void bytesSet64(byte[] b, long offset, long value) { BYTES64.set(b, (int) offset, value); }

    // eBPF division never traps: x / 0 = 0, x % 0 = x; Java's MIN / -1 = MIN and MIN % -1 = 0
    // already match RFC 9669, so only the zero divisor needs a branch.

    static long udiv64(long a, long b) { return b == 0 ? 0 : Long.divideUnsigned(a, b); }

    static long umod64(long a, long b) { return b == 0 ? a : Long.remainderUnsigned(a, b); }

    static long sdiv64(long a, long b) { return b == 0 ? 0 : a / b; }

    static long smod64(long a, long b) { return b == 0 ? a : a % b; }

    static int udiv32(int a, int b) { return b == 0 ? 0 : Integer.divideUnsigned(a, b); }

    static int umod32(int a, int b) { return b == 0 ? a : Integer.remainderUnsigned(a, b); }

    static int sdiv32(int a, int b) { return b == 0 ? 0 : a / b; }

    static int smod32(int a, int b) { return b == 0 ? a : a % b; }

    /** Attributes a host exception caught in generated code to the instruction at {@code pc}. */
    static RuntimeException fault(Throwable cause, int pc) {
        return switch (cause) {
            case JitFault f -> f;
            case JitCancellation c -> c;
            case ExtensionFault f -> new JitFault(pc, f.getMessage());
            case CallbackOutcome c -> switch (c.outcomeAt(pc)) {
                case Outcome.Cancelled x -> new JitCancellation(x.pc(), x.reason());
                case Outcome.Faulted x -> new JitFault(x.pc(), x.reason());
                case Outcome.Returned x -> new JitFault(pc, "internal error: " + x);
            };
            default -> new JitFault(pc, "unexpected failure: " + cause);
        };
    }

    /**
     * Attributes a failed direct packet, context, stack or map-value access at {@code pc}: a
     * segment's or an array's own bounds check throws {@link IndexOutOfBoundsException} (a closed
     * segment, {@link IllegalStateException}), so the address space is asked
     * for the fault it gives for the same access, keeping the reason identical on every engine.
     */
    static RuntimeException hostAccessFault(Throwable cause, AddressSpace memory, long address, int size, boolean write, int pc) {
        if (!(cause instanceof ExtensionFault) && cause instanceof RuntimeException) {
            try {
                memory.resolve(address, size, write);
            } catch (ExtensionFault f) {
                return fault(f, pc);
            }
        }
        return fault(cause, pc);
    }

    /** A fault the generated code itself detects at {@code pc}. */
    static JitFault fault(int pc, String reason) {
        return new JitFault(pc, reason);
    }

    static JitFault badCallTarget(long target, int pc) {
        return new JitFault(pc, String.format("callx to 0x%x: no function starts at slot %d", target, target & 0xffff_ffffL));
    }

    /** {@code callx} on a value that is not a function pointer: the helper with that number. */
    static long callHelperByNumber(HelperTable helpers, Invocation invocation, long number, long r1, long r2, long r3, long r4, long r5) {
        HelperTable.NamedHelper h = number >= 0 && number <= Integer.MAX_VALUE ? helpers.get((int) number) : null;
        if (h == null) {
            throw new ExtensionFault(String.format("callx to 0x%x: neither a function pointer nor a known helper number", number));
        }
        return h.implementation().call(invocation, r1, r2, r3, r4, r5);
    }

    /** Points that found the beacon lit for another invocation, since the last sweep (racy: a pace, not a count). */
    private static int beaconMisses;

    /**
     * The slow path of cancellation point {@code pc}, taken while the {@link CancellationBeacon}
     * is lit: throws the cancellation if the request is this invocation's, else returns and the
     * program carries on. Every 4,096 returns it sweeps the beacon, which repairs a hold that
     * raced with the end of its run when no watchdog is scanning.
     */
    static void pollInvocation(JitContext context, int pc) {
        String reason = context.invocation.cancelRequested();
        if (reason != null) throw new JitCancellation(pc, reason);
        if ((++beaconMisses & 4095) == 0) CancellationBeacon.sweep();
    }
}
