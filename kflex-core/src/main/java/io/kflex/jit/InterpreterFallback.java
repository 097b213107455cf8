package io.kflex.jit;

import io.kflex.engine.Invocation;
import io.kflex.engine.Outcome;
import io.kflex.engine.TailCallable;

/**
 * A program the JIT could not turn into a class (a method over the JVM's 64 KiB limit, a constant
 * pool overflow, a class the JVM refused) that runs on the interpreter instead. It stays a
 * {@link TailCallable} so tail calls into it work as into any other program, and it keeps the
 * reason so that loaders and the command line can report why this program is not compiled.
 */
final class InterpreterFallback implements TailCallable {
    private final TailCallable interpreted;
    private final String reason;

    InterpreterFallback(TailCallable interpreted, String reason) {
        this.interpreted = interpreted;
        this.reason = reason;
    }

    /** Why the program is not compiled. */
    String reason() { return reason; }

    @Override
    public Outcome enter(Invocation invocation, long[] arguments) {
        return interpreted.enter(invocation, arguments);
    }

    @Override
    public String description() {
        return "interpreter (the JIT could not generate it: " + reason + ")";
    }
}
