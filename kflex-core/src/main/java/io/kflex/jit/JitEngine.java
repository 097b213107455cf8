package io.kflex.jit;

import io.kflex.engine.Bindings;
import io.kflex.engine.Engine;
import io.kflex.engine.EngineException;
import io.kflex.engine.Executable;
import io.kflex.engine.TailCallable;
import io.kflex.interp.Interpreter;
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
        JitCompiler compiler = new JitCompiler(code, bindings, JitCompiler.HUGE_METHOD_LIMIT, instrumented);
        byte[] bytes;
        try {
            bytes = compiler.generate();
        } catch (EngineException e) {
            // generate() fails only when the code does not fit the class-file format's limits.
            return fallback(code, bindings, e.getMessage());
        }
        try {
            return define(compiler, bytes);
        } catch (ClassFormatError | VerifyError e) {
            // Limits the class-file builder does not check (e.g. a constant pool past 65535 entries).
            return fallback(code, bindings, "generated class was rejected by the JVM: " + e.getMessage());
        }
    }

    /**
     * A valid program that is only too large for one JVM class runs on the interpreter, which has
     * the same semantics (DESIGN §7: the interpreter is the fallback), and the reason is kept.
     */
    private static Executable fallback(Code code, Bindings bindings, String reason) throws EngineException {
        Executable interpreted = new Interpreter().load(code, bindings);
        System.getLogger("io.kflex.jit").log(System.Logger.Level.INFO, "program runs on the interpreter: {0}", reason);
        return new InterpreterFallback((TailCallable) interpreted, reason);
    }

    JitExecutable load(JitCompiler compiler) throws EngineException {
        byte[] bytes = compiler.generate();
        try {
            return define(compiler, bytes);
        } catch (ClassFormatError | VerifyError e) {
            throw new EngineException("generated class was rejected by the JVM: " + e, e);
        }
    }

    private JitExecutable define(JitCompiler compiler, byte[] bytes) throws EngineException {
        // Before the class exists, so that none of its methods can get hot before HotSpot knows.
        if (compiler.leftToC2()) HotSpotTiers.prepareForLargeMethods();
        try {
            MethodHandles.Lookup program = MethodHandles.lookup()
                    .defineHiddenClassWithClassData(bytes, compiler.classData(), true);
            JitEntry entry = (JitEntry) program.findConstructor(program.lookupClass(), MethodType.methodType(void.class)).invoke();
            java.util.Map<Integer, MethodHandle> functions = new java.util.HashMap<>();
            for (int f : compiler.functionEntries()) {
                functions.put(f, program.findStatic(program.lookupClass(), JitCompiler.methodName(f), ENTRY_TYPE));
            }
            return new JitExecutable(entry, bytes, functions, new JitExecutable.Shape(compiler.splitSubprograms(), compiler.hostAccesses(),
                    compiler.stackBytesToZero(), compiler.boundCalls(), compiler.stackKeyLookups(), compiler.largestMethodBytes()));
        } catch (ClassFormatError | VerifyError e) {
            throw e;
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new EngineException("generated class was rejected by the JVM: " + e, e);
        } catch (Throwable e) {
            throw new EngineException("generated class could not be instantiated: " + e, e);
        }
    }

    /** Generates the class file for {@code code} without loading it (for inspection and tests). */
    static byte[] generate(Code code, Bindings bindings) throws EngineException {
        return new JitCompiler(code, bindings).generate();
    }
}
