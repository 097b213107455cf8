/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kflex_alloc.bpf.c — the KFlex allocator: kflex_malloc() / kflex_free().  KFlex only.
 *
 * Demonstrates: kflex_heap(), kflex_malloc() returning NULL on exhaustion (never a fault),
 * objects linked through heap pointers, freeing while walking, and an unbounded walk loop
 * (no can_loop: KFlex inserts a cancellation point). Linux rejects the object: the
 * kflex_* kfuncs do not exist there.
 *
 * Program `alloc_free` (SEC("syscall"), ctx = struct alloc_args):
 *   allocates n (<= 1000, clamped) 64-byte items with values i*i (i = 0..n-1) into a
 *   list, walks it summing the values and freeing every item, then tries one allocation
 *   of ctx.big bytes (and frees it).
 *   ctx.sum = sum of values, ctx.allocated = items allocated, ctx.big_ok = 1 if the big
 *   allocation succeeded, retval = items freed.
 *   n = 10, big = 4096 -> sum 285, allocated 10, big_ok 1, retval 10.
 *   n = 1000, big = 1 << 30 (larger than the 16 MiB heap) -> sum 332833500, big_ok 0.
 *   Repeated runs give the same results: everything allocated is freed.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 24); /* 16 MiB */

struct item {
	struct item __arena *next;
	__u64 value;
	__u8 payload[48];
};

struct alloc_args {
	__u32 n;         /* in: items to allocate */
	__u32 allocated; /* out */
	__u64 big;       /* in: size of one extra allocation */
	__u64 sum;       /* out */
	__u32 big_ok;    /* out */
	__u32 pad;
};

SEC("syscall")
int alloc_free(struct alloc_args *ctx)
{
	struct item __arena *head = NULL, *it;
	__u32 n = ctx->n, i, allocated = 0;
	void __arena *big;
	__u64 sum = 0;
	int freed = 0;

	if (n > 1000)
		n = 1000;
	for (i = 0; i < n; i++) {
		it = kflex_malloc(sizeof(*it));
		if (!it)
			break;
		it->value = (__u64)i * i;
		it->next = head;
		head = it;
		allocated++;
	}
	while (head) {
		struct item __arena *next = head->next;

		sum += head->value;
		kflex_free(head);
		head = next;
		freed++;
	}
	big = kflex_malloc(ctx->big);
	ctx->big_ok = big != NULL;
	kflex_free(big);

	ctx->sum = sum;
	ctx->allocated = allocated;
	return freed;
}
