/* Exercises cpu v4 code generation: signed division, sign-extending loads and moves, byte swaps,
 * 32-bit atomics, loops. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct rec { signed char c; short s; int i; long l; unsigned int u; };

SEC("syscall") long v4(struct rec *r)
{
    long acc = 0;
    for (int i = 0; i < r->i; i++) {
        acc += r->c / (long)(i + 1);
        acc ^= r->s % 7;
        acc += __builtin_bswap32(r->u) + __builtin_bswap16((unsigned short)r->s);
        if (acc < -1000) break;
    }
    __sync_fetch_and_or(&r->u, 3);
    int old = __sync_fetch_and_add(&r->i, 2);
    __sync_lock_test_and_set(&r->l, acc);
    __sync_val_compare_and_swap(&r->u, 5u, (unsigned)old);
    return acc + (int)(signed char)acc + (long)(short)r->l;
}
char LICENSE[] SEC("license") = "GPL";
