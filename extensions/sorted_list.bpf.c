/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sorted_list.bpf.c — an ordered map as a sorted singly linked list in the heap.  KFlex only.
 *
 * Demonstrates: the simplest pointer structure with every operation (insert, lookup, delete,
 * and a walk of the whole list), one heap spin lock held across each operation (the host can
 * take it too), and walks with no static bound: the list may be as long as the heap allows,
 * so each loop gets a cancellation point instead of a proof of termination.
 *
 *   list (ls_list, a user-view heap pointer in .bss) -> struct ls_head
 *   struct ls_head { u32 lock; u32 pad; struct ls_node *first; u64 count; }    24 bytes
 *   struct ls_node { struct ls_node *next; u64 key; u64 value; }             24 bytes
 *   nodes in ascending key order, keys unique
 *
 * Programs (SEC("syscall"), ctx = struct ls_args { u64 key; u64 value; }):
 *   ls_insert  inserts key -> value in order, or replaces the value of a present key.
 *              retval 0 = inserted, 1 = replaced, -1 = out of heap memory.
 *   ls_lookup  ctx.value = the key's value. retval 0 = found, 1 = absent (ctx untouched).
 *   ls_delete  removes the key and frees its node; ctx.value = its value. retval 0 =
 *              removed, 1 = absent.
 *   ls_sum     walks the whole list: ctx.key = number of nodes, ctx.value = sum of keys
 *              multiplied by their position (1, 2, ...), which changes if the order is wrong.
 *              retval 0.
 *   Any program creates the list head on first use (retval -1 if that allocation fails).
 *   Example: insert(5, 50), insert(2, 20), insert(9, 90), insert(5, 55) -> 0, 0, 0, 1;
 *   lookup(5) -> 0, value 55; delete(2) -> 0, value 20; sum -> 2 nodes, 5*1 + 9*2 = 23.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 22); /* 4 MiB */

struct ls_node {
	struct ls_node __arena *next;
	__u64 key;
	__u64 value;
};

struct ls_head {
	kflex_spinlock_t lock;
	__u32 pad;
	struct ls_node __arena *first;
	__u64 count;
};

struct ls_head __arena *ls_list; /* .bss: where the host finds the list */

struct ls_args {
	__u64 key;
	__u64 value;
};

static __always_inline struct ls_head __arena *list(void)
{
	struct ls_head __arena *h = ls_list;

	if (!h) {
		h = kflex_malloc(sizeof(*h));
		if (!h)
			return NULL;
		/* Two first callers may race: keep one head (the other's allocation is freed). */
		if (__sync_val_compare_and_swap(&ls_list, NULL, h) != NULL) {
			kflex_free(h);
			h = ls_list;
		}
	}
	return h;
}

SEC("syscall")
int ls_insert(struct ls_args *ctx)
{
	struct ls_head __arena *h = list();
	struct ls_node __arena *prev = NULL, *n, *fresh;
	__u64 key = ctx->key;
	int ret = 0;

	if (!h)
		return -1;
	/* Allocate before taking the lock: nothing slow happens under it. */
	fresh = kflex_malloc(sizeof(*fresh));
	kflex_spin_lock(&h->lock);
	for (n = h->first; n && n->key < key; n = n->next)
		prev = n;
	if (n && n->key == key) {
		n->value = ctx->value;
		ret = 1;
	} else if (fresh) {
		fresh->key = key;
		fresh->value = ctx->value;
		fresh->next = n;
		if (prev)
			prev->next = fresh;
		else
			h->first = fresh;
		h->count++;
		fresh = NULL;
	} else {
		ret = -1;
	}
	kflex_spin_unlock(&h->lock);
	if (fresh)
		kflex_free(fresh);
	return ret;
}

SEC("syscall")
int ls_lookup(struct ls_args *ctx)
{
	struct ls_head __arena *h = list();
	struct ls_node __arena *n;
	__u64 key = ctx->key;
	int ret = 1;

	if (!h)
		return -1;
	kflex_spin_lock(&h->lock);
	for (n = h->first; n && n->key < key; n = n->next)
		;
	if (n && n->key == key) {
		ctx->value = n->value;
		ret = 0;
	}
	kflex_spin_unlock(&h->lock);
	return ret;
}

SEC("syscall")
int ls_delete(struct ls_args *ctx)
{
	struct ls_head __arena *h = list();
	struct ls_node __arena *prev = NULL, *n, *gone = NULL;
	__u64 key = ctx->key;

	if (!h)
		return -1;
	kflex_spin_lock(&h->lock);
	for (n = h->first; n && n->key < key; n = n->next)
		prev = n;
	if (n && n->key == key) {
		if (prev)
			prev->next = n->next;
		else
			h->first = n->next;
		h->count--;
		ctx->value = n->value;
		gone = n;
	}
	kflex_spin_unlock(&h->lock);
	if (!gone)
		return 1;
	kflex_free(gone);
	return 0;
}

SEC("syscall")
int ls_sum(struct ls_args *ctx)
{
	struct ls_head __arena *h = list();
	struct ls_node __arena *n;
	__u64 nodes = 0, sum = 0;

	if (!h)
		return -1;
	kflex_spin_lock(&h->lock);
	for (n = h->first; n; n = n->next) {
		nodes++;
		sum += n->key * nodes;
	}
	kflex_spin_unlock(&h->lock);
	ctx->key = nodes;
	ctx->value = sum;
	return 0;
}
