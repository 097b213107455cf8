/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * count_sketch.bpf.c — a Count Sketch in the heap (signed counters, median estimate).
 *
 * Demonstrates: like count_min.bpf.c, a fixed-size array structure allocated once and
 * published in a global (.bss), but with Linux's arena API only (bpf_arena_alloc_pages), so the
 * same object loads and runs in Linux >= 6.9 too; and the rows are visited by a bpf_for loop
 * (numeric iterator) instead of being spelt out, so each counter's address combines a row
 * index bounded by the iterator's range with a column bounded by its mask: the verifier
 * proves every counter access inside the heap and the engines emit no guard for it.
 *
 *   sketch (cs_sketch, a user-view heap pointer in .bss) -> struct cs_sketch
 *   struct cs_sketch { s32 rows[CS_DEPTH][CS_WIDTH]; }     5 x 1024 x 4 bytes = 20 KiB (5 pages)
 *   column of a key in row r = (key * column_seed[r]) >> 54               (10 bits)
 *   sign of a key in row r   = +1 if bit 63 of (key * sign_seed[r]) is 0, else -1
 *   counters are 32-bit two's complement and wrap.
 *
 * Programs (SEC("syscall"), ctx = struct cs_args { u64 key; s64 count; }):
 *   cs_add       adds sign(key, r) * (s32) ctx.count to the key's counter in every row r.
 *                retval 0, or -1 when the sketch cannot be allocated.
 *   cs_estimate  ctx.count = the median over the rows of sign(key, r) * counter (sign-extended
 *                to 64 bits): an unbiased estimate of the key's total, which other keys
 *                sharing a counter push up or down. retval 0 (-1 as above).
 *   Example: add(7, 5), add(7, 2), add(9, 1), add(11, -3) -> estimate(7) = 7 (exact while at
 *   most two rows hold a collision), estimate(9) = 1, estimate(11) = -3, estimate(13) = 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 20); /* 1 MiB */

#define CS_DEPTH 5
#define CS_WIDTH_BITS 10
#define CS_WIDTH (1 << CS_WIDTH_BITS)
#define CS_PAGES ((CS_DEPTH * CS_WIDTH * 4 + PAGE_SIZE - 1) / PAGE_SIZE)

struct cs_sketch {
	__s32 rows[CS_DEPTH][CS_WIDTH];
};

struct cs_sketch __arena *cs_sketch; /* .bss: where the host finds the sketch */

struct cs_args {
	__u64 key;
	__s64 count;
};

/* Odd 64-bit multipliers: one set picks the column, the other the sign. */
static const __u64 cs_column_seeds[CS_DEPTH] = {
	0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
	0xd6e8feb86659fd93ULL, 0xff51afd7ed558ccdULL,
};
static const __u64 cs_sign_seeds[CS_DEPTH] = {
	0xc4ceb9fe1a85ec53ULL, 0x94d049bb133111ebULL, 0xbf58476d1ce4e5b9ULL,
	0x27d4eb2f165667c5ULL, 0x85ebca77c2b2ae63ULL,
};

static __always_inline __u32 cs_column(__u64 key, int row)
{
	return ((key * cs_column_seeds[row]) >> (64 - CS_WIDTH_BITS)) & (CS_WIDTH - 1);
}

static __always_inline __s32 cs_sign(__u64 key, int row)
{
	return (key * cs_sign_seeds[row]) >> 63 ? -1 : 1;
}

static __always_inline struct cs_sketch __arena *sketch(void)
{
	struct cs_sketch __arena *s = cs_sketch;

	if (!s) {
		s = bpf_arena_alloc_pages(KFLEX_HEAP, NULL, CS_PAGES, NUMA_NO_NODE, 0);
		if (!s)
			return NULL;
		/* Two first callers may race: keep one sketch (the other's pages are freed). */
		if (__sync_val_compare_and_swap(&cs_sketch, NULL, s) != NULL) {
			bpf_arena_free_pages(KFLEX_HEAP, s, CS_PAGES);
			s = cs_sketch;
		}
	}
	return s;
}

SEC("syscall")
int cs_add(struct cs_args *ctx)
{
	struct cs_sketch __arena *s = sketch();
	__u64 key = ctx->key;
	__s32 count = ctx->count;
	int r;

	if (!s)
		return -1;
	bpf_for(r, 0, CS_DEPTH)
		/* Unsigned product: -1 * INT_MIN wraps instead of overflowing. */
		__sync_fetch_and_add(&s->rows[r][cs_column(key, r)],
				     (__s32)((__u32)cs_sign(key, r) * (__u32)count));
	return 0;
}

SEC("syscall")
int cs_estimate(struct cs_args *ctx)
{
	struct cs_sketch __arena *s = sketch();
	__u64 key = ctx->key;
	__s64 v[CS_DEPTH] = {}, t; /* zeroed: the verifier cannot tell that the loop fills it */
	int r, i, j;

	if (!s)
		return -1;
	bpf_for(r, 0, CS_DEPTH)
		v[r] = (__s64)cs_sign(key, r) * s->rows[r][cs_column(key, r)];
	/* Insertion sort of the row estimates; the median is the middle one. */
	for (i = 1; i < CS_DEPTH; i++) {
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
	ctx->count = v[CS_DEPTH / 2];
	return 0;
}
