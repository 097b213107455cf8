package io.kflex.runtime;

/** What happens to a program after one of its invocations is cancelled (DESIGN §6). */
public enum CancellationPolicy {
    /**
     * As in KFlex: the program is detached from its hooks and unloaded; later invocations return
     * the hook's default verdict without running it. Its maps and heap stay until the host closes
     * the extension, so no data is lost.
     */
    UNLOAD,
    /** The program stays loaded and attached; only the cancelled invocation is abandoned. */
    KEEP
}
