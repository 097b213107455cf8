/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * skip_list.bpf.c — an ordered map as a skip list in the heap.  KFlex only.
 *
 * Demonstrates: a pointer-rich data structure (towers of forward pointers) built with
 * kflex_malloc, searched with loops that have no static bound (cancellation points), and
 * the heap accesses guard elision removes: every node is reached through a freshly cast
 * pointer and its fields lie within the guard distance (docs/heap.md).
 *
 *   head (sl_head, a user-view heap pointer in .bss) -> a node of level SL_LEVELS with key 0
 *   struct sl_node { u64 key; u64 value; u64 level; struct sl_node *next[SL_LEVELS]; }
 *   a node's level: 1 + the number of trailing one bits of a xorshift draw (at most 8)
 *
 * Programs (SEC("syscall"), ctx = struct sl_args { u64 key; u64 value; }):
 *   sl_insert  inserts key -> value (keys >= 1), or replaces the value of a present key.
 *              retval 0 = inserted, 1 = replaced, -1 = out of heap memory, -22 = key 0.
 *   sl_lookup  ctx.value = the value of the smallest key >= ctx.key. retval 0 = found
 *              (ctx.key set to that key), 1 = no such key (ctx untouched).
 *   sl_delete  removes ctx.key and frees its node; ctx.value = its value. retval 0 = removed,
 *              1 = not present.
 *   sl_lookup_batch  (ctx = struct sl_batch_args { u64 first; u64 stride; u64 n; u64 sum; })
 *              n lookups as sl_lookup's, of first, first + stride, ...; ctx.sum = the sum of
 *              the values found; retval = how many found. A benchmark's run: many lookups per
 *              invocation, so that the lookups, not the invocation, are what is timed.
 *   Example: insert(30, 3), insert(10, 1), insert(20, 2), insert(20, 22) -> 0, 0, 0, 1;
 *   lookup(15) -> 0 with key 20, value 22; lookup(31) -> 1; delete(20) -> 0 (value 22),
 *   then lookup(15) -> 0 with key 30, delete(20) -> 1.
 *
 * One writer at a time: the programs take no lock (the host serialises inserts and deletes),
 * and a node is freed as soon as it is unlinked.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 22); /* 4 MiB */

#define SL_LEVELS 8

struct sl_node {
	__u64 key;
	__u64 value;
	__u64 level;
	struct sl_node __arena *next[SL_LEVELS];
};

struct sl_node __arena *sl_head; /* .bss: where the host finds the list */
__u64 sl_seed = 0x2545f4914f6cdd1dULL;

struct sl_args {
	__u64 key;
	__u64 value;
};

static __always_inline struct sl_node __arena *head(void)
{
	struct sl_node __arena *h = sl_head;

	if (!h) {
		h = kflex_malloc(sizeof(*h));
		if (!h)
			return NULL;
		h->level = SL_LEVELS;
		if (__sync_val_compare_and_swap(&sl_head, NULL, h) != NULL) {
			kflex_free(h);
			h = sl_head;
		}
	}
	return h;
}

static __always_inline int random_level(void)
{
	__u64 x = sl_seed;
	int level = 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	sl_seed = x;
	if (x & 1) { level++; if (x & 2) { level++; if (x & 4) { level++; if (x & 8) { level++;
	if (x & 16) { level++; if (x & 32) { level++; if (x & 64) { level++; } } } } } } }
	return level;
}

SEC("syscall")
int sl_insert(struct sl_args *ctx)
{
	struct sl_node __arena *update[SL_LEVELS];
	struct sl_node __arena *h = head(), *x, *n;
	__u64 key = ctx->key;
	int i, level;

	if (key == 0)
		return -22;
	if (!h)
		return -1;
	x = h;
	for (i = SL_LEVELS - 1; i >= 0; i--) {
		for (n = x->next[i]; n && n->key < key; n = n->next[i])
			x = n;
		update[i] = x;
	}
	n = x->next[0];
	if (n && n->key == key) {
		n->value = ctx->value;
		return 1;
	}
	n = kflex_malloc(sizeof(*n));
	if (!n)
		return -1;
	level = random_level();
	n->key = key;
	n->value = ctx->value;
	n->level = level;
	/* Spelt out level by level: each update[i] is then a constant stack slot. */
#define SL_LINK(i)                                                                          \
	if (level > (i)) {                                                                  \
		x = update[i];                                                              \
		n->next[i] = x->next[i];                                                    \
		x->next[i] = n;                                                             \
	}
	SL_LINK(0) SL_LINK(1) SL_LINK(2) SL_LINK(3) SL_LINK(4) SL_LINK(5) SL_LINK(6) SL_LINK(7)
	return 0;
}

/* The node of the smallest key >= key in the list headed by x, or NULL. */
static __always_inline struct sl_node __arena *ceiling(struct sl_node __arena *x, __u64 key)
{
	struct sl_node __arena *n;
	int i;

	for (i = SL_LEVELS - 1; i >= 0; i--) {
		for (n = x->next[i]; n && n->key < key; n = n->next[i])
			x = n;
	}
	return x->next[0];
}

SEC("syscall")
int sl_lookup(struct sl_args *ctx)
{
	struct sl_node __arena *x = sl_head, *n;

	if (!x)
		return 1;
	n = ceiling(x, ctx->key);
	if (!n)
		return 1;
	ctx->key = n->key;
	ctx->value = n->value;
	return 0;
}

SEC("syscall")
int sl_delete(struct sl_args *ctx)
{
	struct sl_node __arena *update[SL_LEVELS];
	struct sl_node __arena *x = sl_head, *n;
	__u64 key = ctx->key;
	int i;

	if (!x)
		return 1;
	for (i = SL_LEVELS - 1; i >= 0; i--) {
		for (n = x->next[i]; n && n->key < key; n = n->next[i])
			x = n;
		update[i] = x;
	}
	n = x->next[0];
	if (!n || n->key != key)
		return 1;
	/* Unlink from every level the node is on: those whose predecessor points at it. */
#define SL_UNLINK(i)                                                                        \
	x = update[i];                                                                      \
	if (x->next[i] == n)                                                                \
		x->next[i] = n->next[i];
	SL_UNLINK(0) SL_UNLINK(1) SL_UNLINK(2) SL_UNLINK(3) SL_UNLINK(4) SL_UNLINK(5) SL_UNLINK(6) SL_UNLINK(7)
	ctx->value = n->value;
	kflex_free(n);
	return 0;
}

struct sl_batch_args {
	__u64 first;
	__u64 stride;
	__u64 n;
	__u64 sum;
};

SEC("syscall")
int sl_lookup_batch(struct sl_batch_args *ctx)
{
	struct sl_node __arena *h = sl_head, *n;
	__u64 key = ctx->first, stride = ctx->stride, count = ctx->n, sum = 0, i;
	int found = 0;

	if (!h)
		return 0;
	for (i = 0; i < count; i++, key += stride) {
		n = ceiling(h, key);
		if (n) {
			sum += n->value;
			found++;
		}
	}
	ctx->sum = sum;
	return found;
}
