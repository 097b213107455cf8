package io.kflex.jit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.RuntimeLimits;
import io.kflex.engine.Stack;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.asm.Assembler;
import io.kflex.loader.ProgramType;
import io.kflex.verifier.Verifier;
import io.kflex.verifier.VerifierOptions;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A run zeroes only the stack a verified program can touch (the verifier rejects reads of stack it did not write). */
class JitStackZeroingTest {
    /** Uses 16 bytes of its frame. */
    private static final String READ_THEN_WRITE = """
            *(u64 *)(r10 - 0x10) = 0x2a
            r0 = *(u64 *)(r10 - 0x10)
            *(u64 *)(r10 - 0x8) = 0x2b
            exit
            """;

    private static JitExecutable load(String source, boolean verified) throws Exception {
        Code code = Assembler.assemble(source);
        Bindings bindings = Bindings.of(HelperTable.empty());
        if (verified) {
            bindings = bindings.withVerified(Verifier.verify(code, ProgramType.SOCKET_FILTER, List.of(),
                    VerifierOptions.defaults()));
        }
        return (JitExecutable) new JitEngine().load(code, bindings);
    }

    @Test
    void aVerifiedProgramWithoutCallsZeroesItsDepthOnly() throws Exception {
        assertThat(load(READ_THEN_WRITE, true).stackBytesToZero()).isEqualTo(16);
        assertThat(load(READ_THEN_WRITE, false).stackBytesToZero()).as("no facts").isEqualTo(RuntimeLimits.STACK_SIZE);
        String withCall = """
                call pc+0x1
                exit
                r0 = 0x0
                exit
                """;
        assertThat(load(withCall, true).stackBytesToZero()).as("local calls use deeper frames").isEqualTo(RuntimeLimits.STACK_SIZE);
    }

    @Test
    void mapIntoZeroesExactlyTheTopBytes() {
        AddressSpace memory = new AddressSpace();
        try (Stack.Mapped first = Stack.mapInto(memory)) {
            first.region().segment().fill((byte) 7);
        }
        try (Stack.Mapped second = Stack.mapInto(memory, 24)) {
            var segment = second.region().segment();
            for (int i = 0; i < 24; i++) assertThat(segment.get(ValueLayout.JAVA_BYTE, RuntimeLimits.STACK_SIZE - 1 - i)).isZero();
            assertThat(segment.get(ValueLayout.JAVA_BYTE, RuntimeLimits.STACK_SIZE - 25)).as("below the depth: untouched").isEqualTo((byte) 7);
        }
    }
}
