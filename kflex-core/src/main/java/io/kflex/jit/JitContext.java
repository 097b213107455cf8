package io.kflex.jit;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.ExtensionFault;
import io.kflex.engine.FunctionPointers;
import io.kflex.engine.Invocation;
import io.kflex.engine.RuntimeLimits;
import io.kflex.engine.Stack;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Map;

/**
 * Per-invocation state that generated code shares across its subprogram methods: the invocation
 * (helpers, cancellation), its address space, where the stack frames live, and the
 * {@code may_goto} budget. Registers are not here: they are locals of the generated methods.
 */
final class JitContext implements Invocation.FunctionCaller {
    final Invocation invocation;
    final AddressSpace memory;
    final long stackBase;
    /** The bytes behind the stack region: constant-offset frame accesses are its elements and byte-array views. */
    final byte[] stackBytes;
    /** Remaining {@code may_goto} fall-throughs; the jump is taken once this reaches 0. */
    long loopBudget;
    /** Call depth of the frame that made the current helper call; generated code sets it before each. */
    int callDepth;
    /** The subprogram methods, by entry slot, for callbacks. */
    private final Map<Integer, MethodHandle> functions;

    JitContext(Invocation invocation, Stack.Mapped stack, Map<Integer, MethodHandle> functions) {
        this.functions = functions;
        this.invocation = invocation;
        this.memory = invocation.memory();
        this.stackBase = stack.base();
        this.stackBytes = stack.bytes();
        this.loopBudget = invocation.loopBudget();
    }

    /**
     * The segment of the region holding {@code [address, address + size)}, for a load or store the
     * verifier proved to reach the packet, the context or a map value (generated code names the
     * kind it expects: {@code packet}, {@code context}, {@code mapValue}): for every store, and for
     * loads from regions that are never arrays (map values; packet and context loads look only for
     * the array, {@link #bytes}, {@link #words}). Generated code keeps
     * the segment and its window in locals and calls this only when the window changes, at the
     * first such access of a method and after a helper call (which may have moved the
     * invocation's regions); it then indexes the segment with the address's low 32 bits. Faults
     * are the address space's own.
     */
    MemorySegment packet(long address, int size, boolean write) {
        return memory.resolveOwn(address, size, write);
    }

    /** See {@link #packet}. */
    MemorySegment context(long address, int size, boolean write) {
        return memory.resolveOwn(address, size, write);
    }

    /** See {@link #packet}. */
    MemorySegment stackRegion(long address, int size, boolean write) {
        return memory.resolveOwn(address, size, write);
    }

    /**
     * The {@code long[]} behind the own region (a context) holding {@code [address, address +
     * size)}, when the region is all of one and allows the access, else null
     * ({@link AddressSpace#wordsAt}): when a method's window for loads changes, generated code
     * asks only for it, and loads the generic way when it gets none; for stores it asks after the
     * segment ({@link #context}).
     */
    long[] words(long address, int size, boolean write) {
        return memory.wordsAt(address, size, write);
    }

    /** The {@code byte[]} behind the own region (a packet, a stack), as {@link #words}. */
    byte[] bytes(long address, int size, boolean write) {
        return memory.bytesAt(address, size, write);
    }

    /** See {@link #packet}. */
    MemorySegment mapValue(long address, int size, boolean write) {
        return memory.resolveShared(address, size, write);
    }

    /**
     * r10 of the frame at call depth {@code depth} (0 = the program's main frame), in the shared
     * {@link Stack} layout: frames grow down from the top of the stack region.
     */
    long framePointer(int depth) {
        return Stack.framePointer(stackBase, depth);
    }

    /** Offset of that frame pointer inside the stack region. */
    long frameOffset(int depth) {
        return Stack.framePointer(0, depth);
    }

    /**
     * Calls a subprogram for a helper (a callback), one frame below the frame that called the
     * helper. Faults and cancellations inside it unwind as they would from a local call.
     */
    @Override
    public long call(long functionPointer, long r1, long r2, long r3, long r4, long r5) {
        if (!FunctionPointers.isFunctionPointer(functionPointer)) {
            throw new ExtensionFault(String.format("callback 0x%x is not a function pointer", functionPointer));
        }
        long slot = FunctionPointers.slotOf(functionPointer);
        MethodHandle target = slot <= Integer.MAX_VALUE ? functions.get((int) slot) : null;
        if (target == null) throw new ExtensionFault(String.format("callback 0x%x: no function starts at slot %d", functionPointer, slot));
        int caller = callDepth;
        if (caller + 1 >= RuntimeLimits.MAX_CALL_FRAMES) throw new ExtensionFault("call depth exceeds " + RuntimeLimits.MAX_CALL_FRAMES);
        try {
            return (long) target.invokeExact(this, caller + 1, r1, r2, r3, r4, r5);
        } catch (JitTailCall t) {
            invocation.takePendingTailCall();
            throw new ExtensionFault("a callback cannot make a tail call");
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new ExtensionFault("callback failed: " + t);
        } finally {
            callDepth = caller;
        }
    }
}
