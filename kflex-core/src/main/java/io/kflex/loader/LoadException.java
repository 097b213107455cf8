package io.kflex.loader;

/**
 * An object file that cannot be loaded: malformed ELF, BTF or instructions, an unsupported
 * construct, or an extern the host does not provide. The message names the problem and where it is.
 */
public class LoadException extends Exception {
    public LoadException(String message) {
        super(message);
    }

    public LoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
