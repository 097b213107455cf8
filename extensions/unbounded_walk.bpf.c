/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * unbounded_walk.bpf.c — an unbounded loop over a heap list, without can_loop.
 *
 * Demonstrates the KFlex difference: `while (p) p = p->next;` has no bound Linux's verifier
 * can prove, so Linux rejects the object; KFlex accepts it, puts a cancellation point on
 * the loop's back-edge, and cancels the invocation if it runs too long (a cyclic list).
 *
 * Program `walk_unbounded` (SEC("syscall"), ctx = struct walk_args): builds a list of n
 * nodes (1 <= n <= 256, clamped; values 1..n) in one heap page, optionally closing it into
 * a cycle, walks it, frees the page.
 *   n = 10, cyclic 0 -> count 10, sum 55, retval 10.
 *   n = 256, cyclic 0 -> count 256, sum 32896.
 *   cyclic 1 -> never ends by itself: KFlex cancels it at the loop's cancellation point
 *   (the page is not freed; the heap survives the cancellation).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 20);

struct node {
	struct node __arena *next;
	__u64 value;
};

struct walk_args {
	__u32 n;      /* in */
	__u32 cyclic; /* in: 1 = last node points back to the first */
	__u64 count;  /* out */
	__u64 sum;    /* out */
};

SEC("syscall")
int walk_unbounded(struct walk_args *ctx)
{
	struct node __arena *page, *p;
	__u32 n = ctx->n, i;
	__u64 count = 0, sum = 0;

	if (n > PAGE_SIZE / sizeof(struct node))
		n = PAGE_SIZE / sizeof(struct node);
	if (n == 0)
		return 0;
	page = bpf_arena_alloc_pages(KFLEX_HEAP, NULL, 1, NUMA_NO_NODE, 0);
	if (!page)
		return -1;
	for (i = 0; i < n; i++) {
		page[i].value = i + 1;
		page[i].next = i + 1 < n ? &page[i + 1] : NULL;
	}
	if (ctx->cyclic)
		page[n - 1].next = page;

	p = page;
	while (p) { /* no bound, no can_loop */
		sum += p->value;
		count++;
		p = p->next;
	}
	ctx->count = count;
	ctx->sum = sum;
	bpf_arena_free_pages(KFLEX_HEAP, page, 1);
	return count;
}
