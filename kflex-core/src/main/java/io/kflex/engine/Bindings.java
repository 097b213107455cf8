package io.kflex.engine;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Instruction.LoadImm64;
import io.kflex.verifier.VerifiedProgram;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What a program is linked against when an engine loads it: the host helpers and kfuncs it may
 * call, the values its {@code lddw} pseudo forms stand for (map handles, map value addresses),
 * and — for programs that use a heap — the verifier's facts about the program and the heap.
 *
 * <p>With both facts and a heap, a load, store or atomic whose fact says {@link
 * io.kflex.verifier.MemoryRegion#HEAP HEAP} becomes a guarded heap access and
 * {@code addr_space_cast} converts between the views; without a heap, {@code addr_space_cast}
 * faults when it is executed.
 */
public record Bindings(HelperTable helpers, PseudoResolver pseudo, Optional<VerifiedProgram> verified, Optional<HeapMemory> heap) {

    /**
     * Gives the 64-bit value of an {@code lddw} with a pseudo source other than {@code PLAIN} and
     * {@code FUNC} (which every engine handles itself). The value is fixed at load time, so the
     * JIT emits it as a constant.
     */
    @FunctionalInterface
    public interface PseudoResolver {
        /** Resolves nothing: such an {@code lddw} faults when it is executed. */
        PseudoResolver NONE = insn -> OptionalLong.empty();

        /**
         * The value {@code insn} loads; empty when nothing is bound to it (the instruction then
         * faults when executed, as in a program that was never linked).
         *
         * @throws EngineException when the instruction names something that cannot exist, such as
         *     a map index the object does not declare or an offset outside a map value
         */
        OptionalLong resolve(LoadImm64 insn) throws EngineException;

        /**
         * The one region that holds every value of the program's map {@code mapIndex} for as long
         * as the map exists, and the address it is mapped at, when there is such a region (an
         * array's values, a hash map's value slab); else empty. The JIT then reaches the values
         * of that map through a constant segment.
         */
        default Optional<FixedRegion> valueRegion(int mapIndex) {
            return Optional.empty();
        }
    }

    /** A region mapped at {@code base} (a window's first address) for the life of what owns it. */
    public record FixedRegion(long base, Region region) {
        public FixedRegion {
            Objects.requireNonNull(region);
            if ((base & 0xffff_ffffL) != 0) throw new IllegalArgumentException("a region starts a window, not at 0x" + Long.toHexString(base));
        }
    }

    public Bindings {
        Objects.requireNonNull(helpers);
        Objects.requireNonNull(pseudo);
        Objects.requireNonNull(verified);
        Objects.requireNonNull(heap);
    }

    public Bindings(HelperTable helpers, PseudoResolver pseudo) {
        this(helpers, pseudo, Optional.empty(), Optional.empty());
    }

    public static Bindings of(HelperTable helpers) {
        return new Bindings(helpers, PseudoResolver.NONE);
    }

    public Bindings withPseudo(PseudoResolver resolver) {
        return new Bindings(helpers, resolver, verified, heap);
    }

    /** These bindings with the verifier's facts about the program to be loaded (it must be the same code). */
    public Bindings withVerified(VerifiedProgram program) {
        return new Bindings(helpers, pseudo, Optional.of(program), heap);
    }

    /** These bindings with the heap the program's heap accesses and casts use. */
    public Bindings withHeap(HeapMemory memory) {
        return new Bindings(helpers, pseudo, verified, Optional.of(memory));
    }
}
