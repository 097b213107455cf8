package io.kflex.hooks;

/** Linux's {@code enum xdp_action}: what a packet program's return value asks the hook to do. */
public enum XdpAction {
    /** The program failed; the packet is dropped and counted as an error. */
    ABORTED,
    DROP,
    /** Deliver the (possibly rewritten) packet to the host application. */
    PASS,
    /** Send the rewritten frame back out, to the address its headers now name. */
    TX,
    /** Hand the frame to the target {@code bpf_redirect} chose. */
    REDIRECT;

    /** The action for a return value; values outside the enum are {@link #ABORTED}, as in Linux. */
    public static XdpAction of(long retval) {
        return retval >= 0 && retval <= 4 ? values()[(int) retval] : ABORTED;
    }
}
