package io.kflex.helpers;

import io.kflex.engine.AddressSpace;

/**
 * The open-coded numeric iterator, {@code bpf_iter_num_new/next/destroy}, with Linux's semantics
 * ({@code kernel/bpf/bpf_iter.c}). The state is the program's 8-byte {@code struct bpf_iter_num}
 * on its stack: the current value ({@code int}, at offset 0) and the end ({@code int}, at 4).
 * {@code next} returns the address of the current value, so {@code *p} reads it.
 */
public final class IteratorKfuncs {
    private IteratorKfuncs() {}

    /** Linux's BPF_MAX_LOOPS: ranges longer than this are refused by {@code bpf_iter_num_new}. */
    public static final long MAX_STEPS = 8L * 1024 * 1024;
    private static final long EINVAL = 22, E2BIG = 7;

    /** Binds the three iterator kfuncs under their {@link Kfuncs} ids. */
    public static HelperTable.Builder register(HelperTable.Builder builder) {
        return builder.addKfunc(Kfuncs.BPF_ITER_NUM_NEW, "bpf_iter_num_new", IteratorKfuncs::iterNew)
                .addKfunc(Kfuncs.BPF_ITER_NUM_NEXT, "bpf_iter_num_next", IteratorKfuncs::iterNext)
                .addKfunc(Kfuncs.BPF_ITER_NUM_DESTROY, "bpf_iter_num_destroy", IteratorKfuncs::iterDestroy);
    }

    /** {@code int bpf_iter_num_new(struct bpf_iter_num *it, int start, int end)}. */
    static long iterNew(io.kflex.engine.Invocation invocation, long it, long startArg, long endArg, long r4, long r5) {
        AddressSpace memory = invocation.memory();
        int start = (int) startArg, end = (int) endArg;
        if (start > end) {
            write(memory, it, 0, 0);
            return -EINVAL;
        }
        if ((long) end - (long) start > MAX_STEPS) {
            write(memory, it, 0, 0);
            return -E2BIG;
        }
        // next() is called first and moves cur to exactly start; start - 1 may wrap, harmlessly.
        write(memory, it, start - 1, end);
        return 0;
    }

    /** {@code int *bpf_iter_num_next(struct bpf_iter_num *it)}. */
    static long iterNext(io.kflex.engine.Invocation invocation, long it, long r2, long r3, long r4, long r5) {
        AddressSpace memory = invocation.memory();
        int cur = (int) memory.load(it, 4), end = (int) memory.load(it + 4, 4);
        // In 64 bits, so that cur == end == INT_MAX cannot overflow into a false "not done".
        if ((long) (cur + 1) >= end) {
            write(memory, it, 0, 0);
            return 0;
        }
        memory.store(it, 4, cur + 1);
        return it;
    }

    /** {@code void bpf_iter_num_destroy(struct bpf_iter_num *it)}. */
    static long iterDestroy(io.kflex.engine.Invocation invocation, long it, long r2, long r3, long r4, long r5) {
        write(invocation.memory(), it, 0, 0);
        return 0;
    }

    private static void write(AddressSpace memory, long it, int cur, int end) {
        memory.store(it, 4, cur);
        memory.store(it + 4, 4, end);
    }
}
