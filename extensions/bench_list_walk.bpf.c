/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_list_walk.bpf.c — walking a shuffled 65,536-node linked list in the heap.
 *
 * Demonstrates: a large heap data structure (1 MiB of nodes and a 256 KiB permutation
 * array allocated with bpf_arena_alloc_pages), heap pointers kept in .bss globals between
 * programs and runs, Fisher-Yates shuffling with a xorshift32 generator so that the walk
 * visits memory in random order (cache-hostile, like real pointer chasing), and loops
 * bounded by can_loop so that Linux runs the same object (~6.4 ns per node there).
 *
 * Program `list_build` (SEC("syscall"), ctx = struct list_args): builds the list of n
 * nodes (1 <= n <= 65536, else retval -22); node k holds value k; the order of the list
 * is a random permutation drawn from ctx.seed (0 means 1). ctx.first = index of the first
 * node, retval = n (-1 when the heap is exhausted). Rebuilding reuses the same memory.
 *
 * Program `list_walk` (same ctx): walks the last built list; ctx.count = nodes visited,
 * ctx.sum = sum of their values, retval = count (0 before any build).
 *   After a build with n = 65536 (any seed): count 65536, sum 2147450880.
 *   After a build with n = 1000: count 1000, sum 499500.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

#define MAX_NODES 65536
#define NODE_PAGES (MAX_NODES * 16 / PAGE_SIZE)   /* 256 */
#define PERM_PAGES (MAX_NODES * 4 / PAGE_SIZE)    /* 64 */

kflex_heap(1 << 22); /* 4 MiB: room for nodes and permutation */

struct node {
	struct node __arena *next;
	__u64 value;
};

struct list_args {
	__u32 n;     /* in */
	__u32 seed;  /* in */
	__u32 first; /* out (list_build) */
	__u32 pad;
	__u64 count; /* out (list_walk) */
	__u64 sum;   /* out (list_walk) */
};

/* Heap pointers kept between runs (.bss). */
struct node __arena *nodes;
__u32 __arena *perm;
struct node __arena *head;

/*
 * Loop counters start from `zero` (a .bss variable, unknown to the verifier) instead of
 * the constant 0, and n is never a constant: when Linux's verifier can decide a loop
 * comparison it tracks the counter exactly, and the may_goto loop never converges
 * ("program too large"). KFlex does not need this; it is here so that Linux loads the
 * object.
 */
__u32 zero;

static __always_inline __u32 xorshift32(__u32 *state)
{
	__u32 x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

SEC("syscall")
int list_build(struct list_args *ctx)
{
	__u32 n = ctx->n, seed = ctx->seed ? ctx->seed : 1, i;
	struct node __arena *ns = nodes;
	__u32 __arena *pm = perm;

	/* Rejecting (rather than clamping to a constant) keeps n unknown to the verifier. */
	if (n == 0 || n > MAX_NODES)
		return -22;
	if (!ns) {
		ns = bpf_arena_alloc_pages(KFLEX_HEAP, NULL, NODE_PAGES, NUMA_NO_NODE, 0);
		if (!ns)
			return -1;
		nodes = ns;
	}
	if (!pm) {
		pm = bpf_arena_alloc_pages(KFLEX_HEAP, NULL, PERM_PAGES, NUMA_NO_NODE, 0);
		if (!pm)
			return -1;
		perm = pm;
	}

	for (i = zero; i < n && can_loop; i++) {
		pm[i] = i;
		ns[i].value = i;
	}
	/* Fisher-Yates: perm becomes a uniformly random order of 0..n-1. */
	for (i = n - 1; i > 0 && can_loop; i--) {
		/* j uniform in [0, i]: multiply-shift range reduction (no division) */
		__u32 j = ((__u64)xorshift32(&seed) * (i + 1)) >> 32;
		__u32 t = pm[i];

		pm[i] = pm[j];
		pm[j] = t;
	}
	for (i = zero; i + 1 < n && can_loop; i++)
		ns[pm[i] & (MAX_NODES - 1)].next = &ns[pm[i + 1] & (MAX_NODES - 1)];
	ns[pm[n - 1] & (MAX_NODES - 1)].next = NULL;
	head = &ns[pm[0] & (MAX_NODES - 1)];
	ctx->first = pm[0];
	return n;
}

SEC("syscall")
int list_walk(struct list_args *ctx)
{
	struct node __arena *p = head;
	__u64 count = 0, sum = 0;

	kflex_use_heap(); /* Linux: this program never names the heap otherwise */
	while (p && can_loop) {
		sum += p->value;
		count++;
		p = p->next;
	}
	ctx->count = count;
	ctx->sum = sum;
	return count;
}
