package io.kflex.interp;

import static io.kflex.engine.Asm.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.engine.AddressSpace;
import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.Executable;
import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TailCallable;
import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;
import io.kflex.isa.Instruction;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;

class InterpreterTest {

    @Test
    void isRegisteredAsAnEngineNamedInterpreter() {
        List<String> names = ServiceLoader.load(Engine.class).stream().map(p -> p.get().name()).toList();
        assertThat(names).contains("interpreter");
        assertThat(new Interpreter().name()).isEqualTo("interpreter");
    }

    @Test
    void programsCanBeTailCallTargets() throws Exception {
        Executable program = new Interpreter().load(code(mov(0, 1), exit()), Bindings.of(HelperTable.empty()));
        assertThat(program).isInstanceOf(TailCallable.class);
    }

    @Test
    void runsAProgramOfLinuxMaximumSize() throws Exception {
        List<Instruction> insns = new ArrayList<>();
        insns.add(mov(0, 0));
        while (insns.size() < Code.MAX_SLOTS - 1) insns.add(add(0, 3));
        insns.add(exit());
        Executable program = new Interpreter().load(code(insns), Bindings.of(HelperTable.empty()));
        assertThat(program.run(new Invocation(new AddressSpace()))).isEqualTo(new Outcome.Returned(3L * (Code.MAX_SLOTS - 2)));
    }
}
