/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * count_min.bpf.c — a count-min sketch in the heap (arrays indexed by hashed keys).  KFlex only.
 *
 * Demonstrates: a fixed-size array structure in the heap allocated once with kflex_malloc and
 * published in a global (.bss), indexed as base + (hash & mask) * sizeof(counter): every
 * index is bounded by its mask, so the verifier proves each counter access inside the heap
 * and the engines emit no guard for it (see docs/heap.md, guard elision).
 *
 *   sketch (cm_sketch, a user-view heap pointer in .bss) -> struct cm_sketch
 *   struct cm_sketch { u32 rows[CM_DEPTH][CM_WIDTH]; }      4 x 1024 x 4 bytes = 16 KiB
 *   column of a key in row r = (key * seed[r]) >> 54       (10 bits)
 *
 * Programs (SEC("syscall"), ctx = struct cm_args { u64 key; u64 count; }):
 *   cm_add       adds ctx.count to the key's counter in every row. retval 0, or -1 when the
 *                sketch cannot be allocated.
 *   cm_estimate  ctx.count = the minimum of the key's counters (an over-estimate of its
 *                total, never under). retval 0 (-1 as above).
 *   cm_remove    subtracts ctx.count from the key's counter in every row (deleting occurrences
 *                that were added: the turnstile model), each counter stopping at 0 so that a
 *                caller removing more than it added cannot wrap a counter into a huge
 *                over-estimate. retval 0 (-1 as above).
 *   cm_add_batch adds 1 to the counters of n keys first, first + stride, ... (ctx = struct
 *                cm_batch_args { u64 first; u64 stride; u64 n; }), each as cm_add does.
 *                retval n (-1 as above). A benchmark's run: many updates per invocation.
 *   Example: add(7, 5), add(7, 2), add(9, 1) -> estimate(7) = 7 (exact while no two keys
 *   collide in every row), estimate(9) = 1, estimate(11) = 0; remove(7, 3) -> estimate(7) = 4;
 *   remove(9, 5) -> estimate(9) = 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 20); /* 1 MiB */

#define CM_DEPTH 4
#define CM_WIDTH_BITS 10
#define CM_WIDTH (1 << CM_WIDTH_BITS)

struct cm_sketch {
	__u32 rows[CM_DEPTH][CM_WIDTH];
};

struct cm_sketch __arena *cm_sketch; /* .bss: where the host finds the sketch */

struct cm_args {
	__u64 key;
	__u64 count;
};

static const __u64 cm_seeds[CM_DEPTH] = {
	0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL, 0xd6e8feb86659fd93ULL,
};

static __always_inline __u32 cm_column(__u64 key, int row)
{
	return ((key * cm_seeds[row]) >> (64 - CM_WIDTH_BITS)) & (CM_WIDTH - 1);
}

static __always_inline struct cm_sketch __arena *sketch(void)
{
	struct cm_sketch __arena *s = cm_sketch;

	if (!s) {
		s = kflex_malloc(sizeof(*s));
		if (!s)
			return NULL;
		if (__sync_val_compare_and_swap(&cm_sketch, NULL, s) != NULL) {
			kflex_free(s);
			s = cm_sketch;
		}
	}
	return s;
}

static __always_inline void add(struct cm_sketch __arena *s, __u64 key, __u32 count)
{
	__sync_fetch_and_add(&s->rows[0][cm_column(key, 0)], count);
	__sync_fetch_and_add(&s->rows[1][cm_column(key, 1)], count);
	__sync_fetch_and_add(&s->rows[2][cm_column(key, 2)], count);
	__sync_fetch_and_add(&s->rows[3][cm_column(key, 3)], count);
}

SEC("syscall")
int cm_add(struct cm_args *ctx)
{
	struct cm_sketch __arena *s = sketch();

	if (!s)
		return -1;
	add(s, ctx->key, ctx->count);
	return 0;
}

struct cm_batch_args {
	__u64 first;
	__u64 stride;
	__u64 n;
};

SEC("syscall")
int cm_add_batch(struct cm_batch_args *ctx)
{
	struct cm_sketch __arena *s = sketch();
	__u64 key = ctx->first, stride = ctx->stride, n = ctx->n, i;

	if (!s)
		return -1;
	for (i = 0; i < n; i++, key += stride)
		add(s, key, 1);
	return n;
}

SEC("syscall")
int cm_estimate(struct cm_args *ctx)
{
	struct cm_sketch __arena *s = sketch();
	__u64 key = ctx->key;
	__u32 min, c;

	if (!s)
		return -1;
	min = s->rows[0][cm_column(key, 0)];
	c = s->rows[1][cm_column(key, 1)];
	if (c < min)
		min = c;
	c = s->rows[2][cm_column(key, 2)];
	if (c < min)
		min = c;
	c = s->rows[3][cm_column(key, 3)];
	if (c < min)
		min = c;
	ctx->count = min;
	return 0;
}

/* Subtracts count from one counter, stopping at 0; retried while another CPU changes it. */
static __always_inline void cm_sub(__u32 __arena *counter, __u32 count)
{
	__u32 old = *counter, new;

	while (can_loop) {
		new = old > count ? old - count : 0;
		__u32 seen = __sync_val_compare_and_swap(counter, old, new);
		if (seen == old)
			break;
		old = seen;
	}
}

SEC("syscall")
int cm_remove(struct cm_args *ctx)
{
	struct cm_sketch __arena *s = sketch();
	__u64 key = ctx->key;
	__u32 count = ctx->count;

	if (!s)
		return -1;
	cm_sub(&s->rows[0][cm_column(key, 0)], count);
	cm_sub(&s->rows[1][cm_column(key, 1)], count);
	cm_sub(&s->rows[2][cm_column(key, 2)], count);
	cm_sub(&s->rows[3][cm_column(key, 3)], count);
	return 0;
}
