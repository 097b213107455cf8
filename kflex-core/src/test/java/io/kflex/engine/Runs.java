package io.kflex.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.kflex.helpers.HelperTable;
import io.kflex.isa.Code;

/** Loads and runs test programs on a given engine. */
public final class Runs {
    private Runs() {}

    public static Executable load(Engine engine, Code code, HelperTable helpers) {
        try {
            return engine.load(code, Bindings.of(helpers));
        } catch (EngineException e) {
            throw new AssertionError(engine.name() + " refused the program: " + e.getMessage(), e);
        }
    }

    public static Outcome run(Engine engine, Code code, long... args) {
        return run(engine, code, HelperTable.empty(), args);
    }

    public static Outcome run(Engine engine, Code code, HelperTable helpers, long... args) {
        return load(engine, code, helpers).run(new Invocation(new AddressSpace(), args));
    }

    /** Runs and expects a normal return; gives r0. */
    public static long r0(Engine engine, Code code, long... args) {
        return r0(engine, code, HelperTable.empty(), args);
    }

    public static long r0(Engine engine, Code code, HelperTable helpers, long... args) {
        Outcome outcome = run(engine, code, helpers, args);
        assertThat(outcome).as("outcome on %s", engine.name()).isInstanceOf(Outcome.Returned.class);
        return ((Outcome.Returned) outcome).r0();
    }
}
