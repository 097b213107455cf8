/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * heap_list.bpf.c — a linked list in the heap (a Linux arena).
 *
 * Demonstrates: kflex_heap(), bpf_arena_alloc_pages(), __arena pointers stored in the heap,
 * and walking the list with `while (n && can_loop) n = n->next` (the form Linux accepts;
 * see unbounded_walk.bpf.c for the KFlex-only form without can_loop).
 *
 * Program `build_and_walk` (SEC("syscall"), ctx = struct args): allocates one page, builds a
 * list of args.n nodes (1 <= n <= 64, clamped) holding values 1..n pushed at the head, then
 * walks it. Results: ctx.count = number of nodes walked, ctx.sum = sum of their values,
 * return value = count.
 *   Example: n = 10 -> count 10, sum 55, retval 10.  n = 64 -> count 64, sum 2080.
 *   n = 0 -> retval 0.  Returns -1 if the page allocation fails. The page is freed again,
 *   so any number of runs give the same results.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 20); /* 1 MiB heap, 256 pages */

struct node {
	struct node __arena *next;
	__u64 value;
};

struct args {
	__u32 n;     /* in: number of nodes */
	__u32 count; /* out: nodes walked */
	__u64 sum;   /* out: sum of values */
};

SEC("syscall")
int build_and_walk(struct args *ctx)
{
	struct node __arena *page, *head = NULL, *n;
	__u32 want = ctx->n, i;
	__u64 sum = 0;
	__u32 count = 0;

	if (want > 64) /* one 4 KiB page holds 256 nodes of 16 bytes */
		want = 64;
	page = bpf_arena_alloc_pages(KFLEX_HEAP, NULL, 1, NUMA_NO_NODE, 0);
	if (!page)
		return -1;
	for (i = 0; i < want; i++) {
		n = &page[i];
		n->value = i + 1;
		n->next = head;
		head = n;
	}
	n = head;
	while (n && can_loop) {
		sum += n->value;
		count++;
		n = n->next;
	}
	ctx->count = count;
	ctx->sum = sum;
	bpf_arena_free_pages(KFLEX_HEAP, page, 1); /* give the page back: runs can repeat */
	return count;
}
