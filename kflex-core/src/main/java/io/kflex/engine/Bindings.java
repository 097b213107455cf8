package io.kflex.engine;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Instruction.LoadImm64;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * What a program is linked against when an engine loads it: the host helpers and kfuncs it may
 * call, and the values its {@code lddw} pseudo forms stand for (map handles, map value addresses).
 */
public record Bindings(HelperTable helpers, PseudoResolver pseudo) {

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
    }

    public Bindings {
        Objects.requireNonNull(helpers);
        Objects.requireNonNull(pseudo);
    }

    public static Bindings of(HelperTable helpers) {
        return new Bindings(helpers, PseudoResolver.NONE);
    }

    public Bindings withPseudo(PseudoResolver resolver) {
        return new Bindings(helpers, resolver);
    }
}
