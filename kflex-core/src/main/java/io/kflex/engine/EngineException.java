package io.kflex.engine;

/** A program an engine cannot prepare (for example, too large to compile); the message says why. */
public final class EngineException extends Exception {
    public EngineException(String message) {
        super(message);
    }

    public EngineException(String message, Throwable cause) {
        super(message, cause);
    }
}
