package io.kflex.jit;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.isa.Code;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Compiles eBPF to JVM bytecode: one hidden class per program, generated with
 * {@code java.lang.classfile} and defined with its helpers as class data, so that C2 sees them as
 * constants. Semantics are exactly the interpreter's; see {@link JitCompiler} for the translation.
 */
public final class JitEngine implements Engine {
    /** Bytes of one stack frame (r10 points at its end). */
    public static final int FRAME_SIZE = 512;
    /** Frames one invocation may hold: the main program and seven nested calls. */
    public static final int MAX_CALL_DEPTH = 8;
    /** {@code may_goto} fall-throughs allowed per invocation, as in Linux (BPF_MAX_LOOPS). */
    public static final long DEFAULT_LOOP_BUDGET = 8 * 1024 * 1024;

    private static final MethodType ENTRY_TYPE = MethodType.methodType(long.class, JitContext.class, int.class,
            long.class, long.class, long.class, long.class, long.class);

    private final long loopBudget;

    public JitEngine() {
        this(DEFAULT_LOOP_BUDGET);
    }

    /** An engine whose programs may fall through {@code may_goto} {@code loopBudget} times per invocation. */
    public JitEngine(long loopBudget) {
        if (loopBudget < 0) throw new IllegalArgumentException("negative loop budget");
        this.loopBudget = loopBudget;
    }

    @Override
    public String name() {
        return "jit";
    }

    @Override
    public Executable load(Code code, Bindings bindings) throws EngineException {
        return load(new JitCompiler(code, bindings));
    }

    JitExecutable load(JitCompiler compiler) throws EngineException {
        byte[] bytes = compiler.generate();
        try {
            MethodHandles.Lookup program = MethodHandles.lookup()
                    .defineHiddenClassWithClassData(bytes, compiler.classData(), true);
            MethodHandle entry = program.findStatic(program.lookupClass(), JitCompiler.methodName(0), ENTRY_TYPE);
            return new JitExecutable(entry, loopBudget, bytes, compiler.splitSubprograms());
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new EngineException("generated class was rejected by the JVM: " + e, e);
        }
    }

    /** Generates the class file for {@code code} without loading it (for inspection and tests). */
    static byte[] generate(Code code, Bindings bindings) throws EngineException {
        return new JitCompiler(code, bindings).generate();
    }
}
