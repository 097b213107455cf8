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
    private static final MethodType ENTRY_TYPE = MethodType.methodType(long.class, JitContext.class, int.class,
            long.class, long.class, long.class, long.class, long.class);

    public static final String NAME = "jit";
    /** The name of {@link #uninstrumentedForMeasurementOnly()}'s engine. */
    public static final String UNINSTRUMENTED_NAME = "jit-uninstrumented";

    private final boolean instrumented;

    /** The JIT: heap guards and cancellation points as the design requires (the registered engine). */
    public JitEngine() {
        this(true);
    }

    private JitEngine(boolean instrumented) {
        this.instrumented = instrumented;
    }

    /**
     * <b>Unsafe, for measuring only.</b> A JIT that leaves out the instrumentation KFlex adds: heap
     * accesses are not confined by the heap mask (the JVM's own bounds check of the heap segment
     * still applies, so a wild pointer faults instead of escaping) and taken back-edges and
     * {@code may_goto} do not poll for cancellation, so a runaway program cannot be cancelled.
     * Benchmarks compare it with {@link #JitEngine()} to price the instrumentation. It is not
     * registered with {@link io.kflex.engine.Engines}, so no hook or {@code --engine} option can
     * select it; only code that constructs it explicitly gets it.
     */
    public static JitEngine uninstrumentedForMeasurementOnly() {
        return new JitEngine(false);
    }

    /** Whether this engine emits heap guards and cancellation points (true except for measuring). */
    public boolean instrumented() {
        return instrumented;
    }

    @Override
    public String name() {
        return instrumented ? NAME : UNINSTRUMENTED_NAME;
    }

    @Override
    public Executable load(Code code, Bindings bindings) throws EngineException {
        return load(new JitCompiler(code, bindings, JitCompiler.HUGE_METHOD_LIMIT, instrumented));
    }

    JitExecutable load(JitCompiler compiler) throws EngineException {
        byte[] bytes = compiler.generate();
        try {
            MethodHandles.Lookup program = MethodHandles.lookup()
                    .defineHiddenClassWithClassData(bytes, compiler.classData(), true);
            MethodHandle entry = program.findStatic(program.lookupClass(), JitCompiler.methodName(0), ENTRY_TYPE);
            java.util.Map<Integer, MethodHandle> functions = new java.util.HashMap<>();
            for (int f : compiler.functionEntries()) {
                functions.put(f, program.findStatic(program.lookupClass(), JitCompiler.methodName(f), ENTRY_TYPE));
            }
            return new JitExecutable(entry, bytes, compiler.splitSubprograms(), functions);
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new EngineException("generated class was rejected by the JVM: " + e, e);
        }
    }

    /** Generates the class file for {@code code} without loading it (for inspection and tests). */
    static byte[] generate(Code code, Bindings bindings) throws EngineException {
        return new JitCompiler(code, bindings).generate();
    }
}
