package io.kflex.engine;

/**
 * Raised inside an engine when an extension does something the host refuses at run time: a
 * memory access outside what it owns, a call depth overflow, a missing helper. Engines catch it at
 * the invocation boundary and turn it into {@link Outcome.Faulted} with the instruction index; it
 * never reaches the host. Stack traces are not filled in: faults are expected control flow.
 */
public final class ExtensionFault extends RuntimeException {
    public ExtensionFault(String message) {
        super(message, null, false, false);
    }
}
