package io.kflex.interp;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.isa.Code;

/**
 * The reference engine: executes eBPF one instruction at a time, with the semantics every other
 * engine is tested against. Programs are pre-decoded once at load time into flat arrays, so a run
 * allocates only its registers, frames and stack.
 */
public final class Interpreter implements Engine {
    public static final String NAME = "interpreter";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Executable load(Code code, Bindings bindings) throws EngineException {
        return new InterpretedProgram(code, bindings);
    }
}
