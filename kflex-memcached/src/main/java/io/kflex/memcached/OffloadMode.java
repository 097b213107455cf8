package io.kflex.memcached;

import java.util.Locale;

/** What runs at the UDP socket's packet hook. */
public enum OffloadMode {
    /** Nothing: the plain Java server answers every request. */
    NONE,
    /** {@code memcached_offload.bpf.c}: GET hits and simple SETs served from the server's own store, in the extension heap. */
    KFLEX,
    /** {@code bmc_cache.bpf.c}: BMC's design, GET hits served from a look-aside cache of fixed-size entries in a BPF map. */
    BMC;

    /** The name used on the command line and in {@code stats}. */
    public String label() { return name().toLowerCase(Locale.ROOT); }

    /** The mode of a label ({@code none}, {@code kflex}, {@code bmc}). */
    public static OffloadMode of(String label) {
        for (OffloadMode m : values()) if (m.label().equals(label)) return m;
        throw new IllegalArgumentException("offload mode must be none, kflex or bmc, not " + label);
    }
}
