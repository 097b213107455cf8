package io.kflex.helpers;

import io.kflex.loader.ProgramType;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The signatures of the host helpers, by Linux helper number (libbpf's {@code bpf_helper_defs.h}),
 * as the verifier checks calls and the runtime binds implementations. Argument and return kinds
 * follow Linux's {@code enum bpf_arg_type} / {@code enum bpf_return_type}.
 */
public final class HelperPrototypes {

    /** What an argument register must hold. */
    public enum ArgType {
        /** Any initialised value. */
        ANYTHING,
        /** A map pointer from {@code lddw} (its key and value sizes drive the following arguments). */
        CONST_MAP_PTR,
        /** Readable memory of the map's key size. */
        PTR_TO_MAP_KEY,
        /** Readable memory of the map's value size. */
        PTR_TO_MAP_VALUE,
        /** Memory of the map's value size that the helper writes (pop and peek). */
        PTR_TO_UNINIT_MAP_VALUE,
        /** Readable memory whose size is the next argument. */
        PTR_TO_MEM,
        /** Memory the helper writes, of the size given by the next argument. */
        PTR_TO_UNINIT_MEM,
        /** The size of the preceding memory argument: a bounded scalar, at least 1. */
        CONST_SIZE,
        /** Like {@link #CONST_SIZE} but 0 is allowed. */
        CONST_SIZE_OR_ZERO,
        /** A constant size for memory the helper allocates (ring-buffer reserve). */
        CONST_ALLOC_SIZE_OR_ZERO,
        /** The program's context pointer, unmodified. */
        PTR_TO_CTX,
        /** A referenced socket, known non-NULL. */
        PTR_TO_SOCKET,
        /** Memory returned by an allocating helper (ring-buffer record), known non-NULL, unmodified. */
        PTR_TO_ALLOC_MEM,
        /** A {@code struct bpf_spin_lock} inside a map value. */
        PTR_TO_SPIN_LOCK,
        /** A subprogram address ({@code lddw} pseudo FUNC) called back by the helper. */
        PTR_TO_FUNC,
        /** A stack pointer or NULL, passed through to a callback. */
        PTR_TO_STACK_OR_NULL
    }

    /** What the helper leaves in r0. */
    public enum ReturnType {
        INTEGER,
        VOID,
        PTR_TO_MAP_VALUE_OR_NULL,
        PTR_TO_SOCKET_OR_NULL,
        PTR_TO_ALLOC_MEM_OR_NULL
    }

    /** What the helper does to reference and packet state beyond its arguments and result. */
    public enum Effect {
        /** The result is a reference the program must release. */
        ACQUIRES,
        /** Releases the reference passed in its {@link #releasedArg} argument. */
        RELEASES,
        /** May move packet data: every packet pointer is invalidated. */
        CHANGES_PACKET_DATA,
        /** Takes or drops the program's spin lock. */
        LOCKS,
        UNLOCKS,
        /** Never returns on success (tail call): references must not be held. */
        TAIL_CALL,
        /** Invokes a callback subprogram repeatedly ({@code bpf_loop}, {@code bpf_for_each_map_elem}). */
        CALLS_BACK
    }

    /**
     * One helper: Linux number and name, argument kinds for r1..r5 (unused ones omitted),
     * result kind, effects, the argument released (1-based, 0 if none), and the program types
     * that may call it (empty = every type).
     */
    public record Prototype(int id, String name, List<ArgType> args, ReturnType returns, Set<Effect> effects,
                            int releasedArg, Set<ProgramType> allowedTypes) {
        public boolean allowedIn(ProgramType type) { return allowedTypes.isEmpty() || allowedTypes.contains(type); }

        public boolean has(Effect e) { return effects.contains(e); }
    }

    private static final Set<ProgramType> NETWORKING = EnumSet.of(ProgramType.XDP, ProgramType.SCHED_CLS,
            ProgramType.SCHED_ACT, ProgramType.SK_SKB, ProgramType.CGROUP_SKB, ProgramType.SOCKET_FILTER);

    private static final Map<Integer, Prototype> BY_ID = new TreeMap<>();

    static {
        define(1, "map_lookup_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_MAP_KEY), ReturnType.PTR_TO_MAP_VALUE_OR_NULL);
        define(2, "map_update_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_MAP_KEY, ArgType.PTR_TO_MAP_VALUE, ArgType.ANYTHING), ReturnType.INTEGER);
        define(3, "map_delete_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_MAP_KEY), ReturnType.INTEGER);
        define(5, "ktime_get_ns", List.of(), ReturnType.INTEGER);
        define(6, "trace_printk", List.of(ArgType.PTR_TO_MEM, ArgType.CONST_SIZE, ArgType.ANYTHING, ArgType.ANYTHING, ArgType.ANYTHING), ReturnType.INTEGER);
        define(7, "get_prandom_u32", List.of(), ReturnType.INTEGER);
        define(8, "get_smp_processor_id", List.of(), ReturnType.INTEGER);
        add(new Prototype(12, "tail_call", List.of(ArgType.PTR_TO_CTX, ArgType.CONST_MAP_PTR, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.of(Effect.TAIL_CALL), 0, Set.of()));
        add(new Prototype(23, "redirect", List.of(ArgType.ANYTHING, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.noneOf(Effect.class), 0, EnumSet.of(ProgramType.XDP, ProgramType.SCHED_CLS, ProgramType.SCHED_ACT)));
        add(new Prototype(51, "redirect_map", List.of(ArgType.CONST_MAP_PTR, ArgType.ANYTHING, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.noneOf(Effect.class), 0, EnumSet.of(ProgramType.XDP)));
        add(new Prototype(44, "xdp_adjust_head", List.of(ArgType.PTR_TO_CTX, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.of(Effect.CHANGES_PACKET_DATA), 0, EnumSet.of(ProgramType.XDP)));
        for (int id : new int[] {84, 85}) {
            add(new Prototype(id, id == 84 ? "sk_lookup_tcp" : "sk_lookup_udp",
                    List.of(ArgType.PTR_TO_CTX, ArgType.PTR_TO_MEM, ArgType.CONST_SIZE, ArgType.ANYTHING, ArgType.ANYTHING),
                    ReturnType.PTR_TO_SOCKET_OR_NULL, EnumSet.of(Effect.ACQUIRES), 0, NETWORKING));
        }
        define(87, "map_push_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_MAP_VALUE, ArgType.ANYTHING), ReturnType.INTEGER);
        define(88, "map_pop_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_UNINIT_MAP_VALUE), ReturnType.INTEGER);
        define(89, "map_peek_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_UNINIT_MAP_VALUE), ReturnType.INTEGER);
        add(new Prototype(86, "sk_release", List.of(ArgType.PTR_TO_SOCKET), ReturnType.INTEGER,
                EnumSet.of(Effect.RELEASES), 1, Set.of()));
        add(new Prototype(93, "spin_lock", List.of(ArgType.PTR_TO_SPIN_LOCK), ReturnType.VOID, EnumSet.of(Effect.LOCKS), 0, Set.of()));
        add(new Prototype(94, "spin_unlock", List.of(ArgType.PTR_TO_SPIN_LOCK), ReturnType.VOID, EnumSet.of(Effect.UNLOCKS), 0, Set.of()));
        define(125, "ktime_get_boot_ns", List.of(), ReturnType.INTEGER);
        define(130, "ringbuf_output", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_MEM, ArgType.CONST_SIZE_OR_ZERO, ArgType.ANYTHING), ReturnType.INTEGER);
        add(new Prototype(131, "ringbuf_reserve", List.of(ArgType.CONST_MAP_PTR, ArgType.CONST_ALLOC_SIZE_OR_ZERO, ArgType.ANYTHING),
                ReturnType.PTR_TO_ALLOC_MEM_OR_NULL, EnumSet.of(Effect.ACQUIRES), 0, Set.of()));
        add(new Prototype(132, "ringbuf_submit", List.of(ArgType.PTR_TO_ALLOC_MEM, ArgType.ANYTHING), ReturnType.VOID,
                EnumSet.of(Effect.RELEASES), 1, Set.of()));
        add(new Prototype(133, "ringbuf_discard", List.of(ArgType.PTR_TO_ALLOC_MEM, ArgType.ANYTHING), ReturnType.VOID,
                EnumSet.of(Effect.RELEASES), 1, Set.of()));
        define(134, "ringbuf_query", List.of(ArgType.CONST_MAP_PTR, ArgType.ANYTHING), ReturnType.INTEGER);
        // The packet helpers beside bpf_xdp_adjust_head that the runtime implements (PacketHelpers).
        add(new Prototype(28, "csum_diff", List.of(ArgType.PTR_TO_MEM, ArgType.CONST_SIZE_OR_ZERO, ArgType.PTR_TO_MEM,
                ArgType.CONST_SIZE_OR_ZERO, ArgType.ANYTHING), ReturnType.INTEGER, EnumSet.noneOf(Effect.class), 0, NETWORKING));
        add(new Prototype(54, "xdp_adjust_meta", List.of(ArgType.PTR_TO_CTX, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.of(Effect.CHANGES_PACKET_DATA), 0, EnumSet.of(ProgramType.XDP)));
        add(new Prototype(65, "xdp_adjust_tail", List.of(ArgType.PTR_TO_CTX, ArgType.ANYTHING), ReturnType.INTEGER,
                EnumSet.of(Effect.CHANGES_PACKET_DATA), 0, EnumSet.of(ProgramType.XDP)));
        add(new Prototype(164, "for_each_map_elem", List.of(ArgType.CONST_MAP_PTR, ArgType.PTR_TO_FUNC, ArgType.PTR_TO_STACK_OR_NULL, ArgType.ANYTHING),
                ReturnType.INTEGER, EnumSet.of(Effect.CALLS_BACK), 0, Set.of()));
        add(new Prototype(181, "loop", List.of(ArgType.ANYTHING, ArgType.PTR_TO_FUNC, ArgType.PTR_TO_STACK_OR_NULL, ArgType.ANYTHING),
                ReturnType.INTEGER, EnumSet.of(Effect.CALLS_BACK), 0, Set.of()));
    }

    private HelperPrototypes() {}

    private static void define(int id, String name, List<ArgType> args, ReturnType ret) {
        add(new Prototype(id, name, args, ret, EnumSet.noneOf(Effect.class), 0, Set.of()));
    }

    private static void add(Prototype p) {
        if (BY_ID.put(p.id(), p) != null) throw new IllegalStateException("helper " + p.id() + " defined twice");
    }

    /** The prototype of helper {@code id}, if the host knows it. */
    public static Optional<Prototype> find(int id) { return Optional.ofNullable(BY_ID.get(id)); }

    /** Every known prototype, by number. */
    public static Map<Integer, Prototype> all() { return java.util.Collections.unmodifiableMap(BY_ID); }

    /**
     * The libbpf name of a helper ({@code bpf_map_lookup_elem}) — also for Linux helpers the host
     * does not provide — or {@code helper #id} for numbers Linux does not define.
     */
    public static String nameOf(int id) {
        Prototype p = BY_ID.get(id);
        if (p != null) return "bpf_" + p.name();
        String linux = LinuxNames.NAMES.get(id);
        return linux != null ? "bpf_" + linux : "helper #" + id;
    }

    /** Linux's helper names by number, loaded on first use from a resource generated from libbpf's header. */
    private static final class LinuxNames {
        static final Map<Integer, String> NAMES = load();

        private static Map<Integer, String> load() {
            Map<Integer, String> names = new TreeMap<>();
            try (var in = HelperPrototypes.class.getResourceAsStream("linux-helper-names.txt")) {
                if (in == null) return names;
                for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).split("\n")) {
                    if (line.isBlank() || line.startsWith("#")) continue;
                    String[] parts = line.trim().split(" ");
                    names.put(Integer.parseInt(parts[0]), parts[1]);
                }
            } catch (java.io.IOException | RuntimeException e) {
                // Names are only for messages: without them helpers are named by number.
            }
            return java.util.Collections.unmodifiableMap(names);
        }
    }
}
