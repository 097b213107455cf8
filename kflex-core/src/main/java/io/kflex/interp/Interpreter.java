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
 *
 * <p>The run-time contract other engines mirror:
 * <ul>
 *   <li>Arithmetic as in {@link Arithmetic}; jumps by {@code JumpOp.test}/{@code test32}.</li>
 *   <li>Each program run maps a fresh zeroed stack ({@link io.kflex.engine.Stack}) and unmaps it
 *       however the run ends. Local calls and {@code callx} to a function pointer pass r1-r5,
 *       preserve r6-r9 for the caller and give the callee the next frame's {@code r10}; an
 *       attempt to open a ninth frame faults with "call depth exceeds 8".</li>
 *   <li>Cancellation points: a <em>taken</em> branch whose target is at or before the branch
 *       ({@code target <= pc}) and every {@code may_goto} (checked before it consults the loop
 *       budget). There a pending {@code Invocation.cancelRequested()} or an interrupt of the
 *       running thread (reported as "interrupted", the flag is left set) ends the run with
 *       {@code Cancelled(pc, reason, [])}.</li>
 *   <li>{@code may_goto} falls through {@code Invocation.loopBudget()} times per program run,
 *       then jumps.</li>
 *   <li>Faults carry the pc of the faulting instruction: memory errors, helper failures (any
 *       exception a helper throws), unknown helpers, unbound kfuncs, unresolved {@code lddw}
 *       pseudo forms and {@code addr_space_cast} without a bound heap fault when <em>executed</em>,
 *       not at load. Running past the last slot faults at the last instruction.</li>
 *   <li>Heap: with verifier facts and a heap in the {@link Bindings}, memory instructions follow
 *       {@link io.kflex.engine.HeapPlan} (guarded heap accesses confine their base register in
 *       place) and {@code addr_space_cast} converts between the heap's views, exactly as the JIT
 *       does.</li>
 *   <li>Function pointers and {@code callx}: {@link io.kflex.engine.FunctionPointers}; tail calls:
 *       {@link io.kflex.engine.TailCallable}. A {@code lddw} naming a function outside the
 *       program is refused at load with an {@link EngineException}.</li>
 * </ul>
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
