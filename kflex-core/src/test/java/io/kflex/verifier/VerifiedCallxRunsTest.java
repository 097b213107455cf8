package io.kflex.verifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TestEngines;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.loader.ProgramType;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Programs with {@code callx} that the verifier accepts run on every engine, calling the subprogram verified. */
class VerifiedCallxRunsTest {

    static Stream<Engine> engines() { return TestEngines.all().stream(); }

    private static long run(Engine engine, Code code) throws Exception {
        VerifiedProgram verified = Verifier.verify(code, ProgramType.SYSCALL, List.of(), VerifierOptions.defaults());
        Outcome outcome = engine.load(code, Bindings.of(HelperTable.empty()).withVerified(verified))
                .run(new Invocation(new AddressSpace(), 0));
        assertThat(outcome).as(engine.name()).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }

    @ParameterizedTest
    @MethodSource("engines")
    void functionPointerInARegister(Engine engine) throws Exception {
        Code code = new Asm().mov(1, 5).ldFunc(3, "f").callx(3).exit().label("f").movr(0, 1).add(0, 1).exit().build();
        assertThat(run(engine, code)).isEqualTo(6);
    }

    @ParameterizedTest
    @MethodSource("engines")
    void functionPointerSpilledAndPassedDown(Engine engine) throws Exception {
        Code code = new Asm().ldFunc(6, "g").stxdw(10, -8, 6).mov(6, 0).ldxdw(1, 10, -8).mov(2, 40).callLocal("f").exit()
                .label("f").movr(6, 2).movr(3, 1).mov(1, 2).callx(3).addr(0, 6).exit()
                .label("g").movr(0, 1).exit().build();
        assertThat(run(engine, code)).isEqualTo(42);
    }
}
