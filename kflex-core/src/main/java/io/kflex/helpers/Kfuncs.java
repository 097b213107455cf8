package io.kflex.helpers;

import io.kflex.loader.KfuncResolver;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;

/**
 * The host's kfuncs: each by its C name (as {@code extensions/include/kflex.h} declares it) with a
 * stable id and the prototype the verifier checks. The ids are what {@link #resolver()} gives the
 * loader, so a {@code call} with {@code src_reg = 2} carries one of them; an id not listed here
 * names no kfunc of this host.
 */
public final class Kfuncs {

    /** What an argument register must hold. */
    public enum ArgType {
        /** A scalar (sizes, counts, flags, NUMA node). */
        SCALAR,
        /** A map pointer ({@code lddw} of a map) naming an arena map: the heap. */
        ARENA_MAP,
        /**
         * A heap pointer in either view, or NULL: an arena pointer or a scalar (heap pointers
         * loaded from memory are numbers). Never a host pointer.
         */
        HEAP_PTR,
        /** An 8-byte aligned stack slot that holds no live iterator: {@code bpf_iter_num_new} initialises it. */
        ITER_NUM_UNINIT,
        /** A stack slot holding a live numeric iterator. */
        ITER_NUM
    }

    /** What the kfunc leaves in r0. */
    public enum ReturnType {
        VOID,
        INTEGER,
        /** A heap pointer (user view) or NULL. */
        HEAP_PTR_OR_NULL,
        /** A read-only pointer to the iterator's current {@code int}, or NULL once it is exhausted. */
        ITER_NUM_CUR_OR_NULL
    }

    /** What the kfunc does to the program's resources. */
    public enum Effect {
        /** Initialises the iterator in its first argument: a reference the program must destroy. */
        ITER_NEW,
        /** Advances the iterator in its first argument. */
        ITER_NEXT,
        /** Releases the iterator in its first argument. */
        ITER_DESTROY,
        /** Takes a heap spin lock: a held resource, released by {@link #HEAP_UNLOCK}. */
        HEAP_LOCK,
        HEAP_UNLOCK
    }

    /** One kfunc: id, C name, argument kinds for r1..r5 (unused ones omitted), result and effects. */
    public record Prototype(int id, String name, List<ArgType> args, ReturnType returns, Set<Effect> effects) {
        public Prototype {
            args = List.copyOf(args);
            effects = effects.isEmpty() ? Set.of() : Collections.unmodifiableSet(EnumSet.copyOf(effects));
        }

        public boolean has(Effect e) { return effects.contains(e); }
    }

    /** Ids start here so that they never collide with small numbers a test or a missing weak extern (0) uses. */
    public static final int FIRST_ID = 0x4b46_0001;

    public static final int BPF_ARENA_ALLOC_PAGES = FIRST_ID;
    public static final int BPF_ARENA_FREE_PAGES = FIRST_ID + 1;
    public static final int BPF_ITER_NUM_NEW = FIRST_ID + 2;
    public static final int BPF_ITER_NUM_NEXT = FIRST_ID + 3;
    public static final int BPF_ITER_NUM_DESTROY = FIRST_ID + 4;
    public static final int KFLEX_MALLOC = FIRST_ID + 5;
    public static final int KFLEX_FREE = FIRST_ID + 6;
    public static final int KFLEX_SPIN_LOCK = FIRST_ID + 7;
    public static final int KFLEX_SPIN_UNLOCK = FIRST_ID + 8;

    private static final Map<Integer, Prototype> BY_ID = new TreeMap<>();
    private static final Map<String, Prototype> BY_NAME = new LinkedHashMap<>();

    static {
        // void __arena *bpf_arena_alloc_pages(void *map, void __arena *addr, __u32 page_cnt, int node_id, __u64 flags)
        add(BPF_ARENA_ALLOC_PAGES, "bpf_arena_alloc_pages",
                List.of(ArgType.ARENA_MAP, ArgType.HEAP_PTR, ArgType.SCALAR, ArgType.SCALAR, ArgType.SCALAR), ReturnType.HEAP_PTR_OR_NULL);
        // void bpf_arena_free_pages(void *map, void __arena *ptr, __u32 page_cnt)
        add(BPF_ARENA_FREE_PAGES, "bpf_arena_free_pages", List.of(ArgType.ARENA_MAP, ArgType.HEAP_PTR, ArgType.SCALAR), ReturnType.VOID);
        // int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)
        add(BPF_ITER_NUM_NEW, "bpf_iter_num_new", List.of(ArgType.ITER_NUM_UNINIT, ArgType.SCALAR, ArgType.SCALAR), ReturnType.INTEGER,
                Effect.ITER_NEW);
        // int *bpf_iter_num_next(struct bpf_iter_num *it)
        add(BPF_ITER_NUM_NEXT, "bpf_iter_num_next", List.of(ArgType.ITER_NUM), ReturnType.ITER_NUM_CUR_OR_NULL, Effect.ITER_NEXT);
        // void bpf_iter_num_destroy(struct bpf_iter_num *it)
        add(BPF_ITER_NUM_DESTROY, "bpf_iter_num_destroy", List.of(ArgType.ITER_NUM), ReturnType.VOID, Effect.ITER_DESTROY);
        // void __arena *kflex_malloc(__u64 size)
        add(KFLEX_MALLOC, "kflex_malloc", List.of(ArgType.SCALAR), ReturnType.HEAP_PTR_OR_NULL);
        // void kflex_free(void __arena *ptr)
        add(KFLEX_FREE, "kflex_free", List.of(ArgType.HEAP_PTR), ReturnType.VOID);
        // void kflex_spin_lock(kflex_spinlock_t __arena *lock) / kflex_spin_unlock(...)
        add(KFLEX_SPIN_LOCK, "kflex_spin_lock", List.of(ArgType.HEAP_PTR), ReturnType.VOID, Effect.HEAP_LOCK);
        add(KFLEX_SPIN_UNLOCK, "kflex_spin_unlock", List.of(ArgType.HEAP_PTR), ReturnType.VOID, Effect.HEAP_UNLOCK);
    }

    private Kfuncs() {}

    private static void add(int id, String name, List<ArgType> args, ReturnType returns, Effect... effects) {
        Prototype p = new Prototype(id, name, args, returns, effects.length == 0 ? Set.of() : EnumSet.of(effects[0], effects));
        if (BY_ID.put(id, p) != null || BY_NAME.put(name, p) != null) throw new IllegalStateException("kfunc " + name + " defined twice");
    }

    /** The prototype of the kfunc with this id, if the host has one. */
    public static Optional<Prototype> find(int id) { return Optional.ofNullable(BY_ID.get(id)); }

    /** The prototype of the kfunc with this C name, if the host has one. */
    public static Optional<Prototype> byName(String name) { return Optional.ofNullable(BY_NAME.get(name)); }

    /** Every kfunc's id by name. */
    public static Map<String, Integer> ids() {
        Map<String, Integer> out = new LinkedHashMap<>();
        BY_NAME.forEach((name, p) -> out.put(name, p.id()));
        return Collections.unmodifiableMap(out);
    }

    /** Every kfunc, by id. */
    public static Map<Integer, Prototype> all() { return Collections.unmodifiableMap(BY_ID); }

    /** Resolves {@code __ksym} externs to these ids, for the loader. */
    public static KfuncResolver resolver() {
        return name -> {
            Prototype p = BY_NAME.get(name);
            return p == null ? OptionalInt.empty() : OptionalInt.of(p.id());
        };
    }

    /** The name of kfunc {@code id} for messages: its C name, or {@code kfunc #id}. */
    public static String nameOf(int id) {
        Prototype p = BY_ID.get(id);
        return p != null ? p.name() : "kfunc #" + id;
    }
}
