package io.kflex.loader;

import java.util.Optional;

/**
 * Program types, numbered as Linux's {@code enum bpf_prog_type}, with the ELF section prefixes
 * libbpf maps to them. The type decides the context layout, the allowed helpers and return values,
 * and the hook a program can attach to.
 */
public enum ProgramType {
    SOCKET_FILTER(1, "socket"),
    SCHED_CLS(3, "tc", "classifier", "tcx/ingress", "tcx/egress", "tc/ingress", "tc/egress"),
    SCHED_ACT(4, "action"),
    TRACEPOINT(5, "tracepoint", "tp"),
    XDP(6, "xdp"),
    PERF_EVENT(7, "perf_event"),
    CGROUP_SKB(8, "cgroup_skb"),
    SK_SKB(14, "sk_skb"),
    RAW_TRACEPOINT(17, "raw_tracepoint", "raw_tp"),
    SK_REUSEPORT(21, "sk_reuseport"),
    SK_LOOKUP(30, "sk_lookup"),
    SYSCALL(31, "syscall");

    private final int linuxId;
    private final String[] sectionPrefixes;

    ProgramType(int linuxId, String... sectionPrefixes) {
        this.linuxId = linuxId;
        this.sectionPrefixes = sectionPrefixes;
    }

    /** The value of Linux's {@code enum bpf_prog_type}. */
    public int linuxId() { return linuxId; }

    /**
     * The type libbpf would give a program in ELF section {@code section}: the section name equals
     * a prefix or continues it after {@code /} (e.g. {@code xdp}, {@code xdp/frags},
     * {@code sk_skb/stream_verdict}).
     */
    public static Optional<ProgramType> ofSection(String section) {
        ProgramType best = null;
        int bestLength = -1;
        for (ProgramType type : values()) {
            for (String prefix : type.sectionPrefixes) {
                boolean matches = section.equals(prefix) || section.startsWith(prefix + "/") || section.startsWith(prefix + ".");
                if (matches && prefix.length() > bestLength) {
                    best = type;
                    bestLength = prefix.length();
                }
            }
        }
        return Optional.ofNullable(best);
    }
}
