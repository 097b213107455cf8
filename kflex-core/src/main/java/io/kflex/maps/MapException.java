package io.kflex.maps;

/**
 * A map operation or creation the host refused, with the Linux error number the same request
 * gets from the kernel's {@code bpf()} system call ({@link Errno}).
 */
public final class MapException extends Exception {
    private final int errno;

    public MapException(int errno, String message) {
        super(message + " (" + Errno.name(errno) + ")");
        this.errno = errno;
    }

    /** The positive Linux error number. */
    public int errno() { return errno; }
}
