/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kv_store.bpf.c — a hash table in the heap, shared with the Java host.  KFlex only.
 *
 * Demonstrates: a pointer data structure built with kflex_malloc/kflex_free, a bucket array
 * allocated once and published in a global (.bss) so the host finds it, one heap spin lock
 * per bucket (the host takes the same locks through its heap view), chains walked with no
 * static bound (cancellation points), and a layout simple enough to read from Java:
 *
 *   table (kv_table, a user-view heap pointer in .bss) -> KV_BUCKETS x struct kv_bucket
 *   struct kv_bucket { u32 lock; u32 pad; struct kv_entry *head; }           16 bytes
 *   struct kv_entry  { struct kv_entry *next; u64 key; u64 value; }         24 bytes
 *   bucket of a key = (key * 0x9e3779b97f4a7c15) >> (64 - KV_BUCKET_BITS)
 *
 * Programs (SEC("syscall"), ctx = struct kv_args { u64 key; u64 value; }):
 *   kv_put    inserts or replaces key -> value. retval 0 = inserted, 1 = replaced,
 *             -1 = out of heap memory.
 *   kv_get    ctx.value = the key's value. retval 0 = found, 1 = absent (ctx untouched).
 *   kv_delete removes the key and frees its entry. retval 0 = removed, 1 = absent.
 *   kv_get_batch  (ctx = struct kv_batch_args { u64 first; u64 stride; u64 n; u64 sum; })
 *             looks up n keys first, first + stride, first + 2 * stride, ... exactly as kv_get
 *             does (bucket lock held while walking the chain). ctx.sum = the sum of the values
 *             found; retval = how many were found. A benchmark's run: many lookups per
 *             invocation, so that the lookups, not the invocation, are what is timed.
 *   Any program creates the table on first use (retval -1 if that allocation fails).
 *   Example: put(7, 700) -> 0; put(7, 701) -> 1; get(7) -> 0, value 701; delete(7) -> 0;
 *   get(7) -> 1.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 24); /* 16 MiB */

#define KV_BUCKET_BITS 10
#define KV_BUCKETS (1 << KV_BUCKET_BITS)

struct kv_entry {
	struct kv_entry __arena *next;
	__u64 key;
	__u64 value;
};

struct kv_bucket {
	kflex_spinlock_t lock;
	__u32 pad;
	struct kv_entry __arena *head;
};

struct kv_bucket __arena *kv_table; /* .bss: where the host finds the table */

struct kv_args {
	__u64 key;
	__u64 value;
};

static __always_inline struct kv_bucket __arena *bucket_of(__u64 key)
{
	struct kv_bucket __arena *table = kv_table;

	if (!table) {
		table = kflex_malloc(KV_BUCKETS * sizeof(struct kv_bucket));
		if (!table)
			return NULL;
		/* Two first callers may race: keep one table (the other's allocation is freed). */
		if (__sync_val_compare_and_swap(&kv_table, NULL, table) != NULL) {
			kflex_free(table);
			table = kv_table;
		}
	}
	return &table[(key * 0x9e3779b97f4a7c15ULL) >> (64 - KV_BUCKET_BITS)];
}

SEC("syscall")
int kv_put(struct kv_args *ctx)
{
	__u64 key = ctx->key, value = ctx->value;
	struct kv_bucket __arena *b = bucket_of(key);
	struct kv_entry __arena *e, *fresh;
	int ret = 0;

	if (!b)
		return -1;
	/* Allocate before taking the lock: nothing slow happens under it. */
	fresh = kflex_malloc(sizeof(*fresh));
	kflex_spin_lock(&b->lock);
	for (e = b->head; e; e = e->next) {
		if (e->key == key) {
			e->value = value;
			ret = 1;
			break;
		}
	}
	if (!ret) {
		if (fresh) {
			fresh->key = key;
			fresh->value = value;
			fresh->next = b->head;
			b->head = fresh;
			fresh = NULL;
		} else {
			ret = -1;
		}
	}
	kflex_spin_unlock(&b->lock);
	if (fresh)
		kflex_free(fresh);
	return ret;
}

/* Looks key up in bucket b under its lock: 0 and *value set when found, else 1. */
static __always_inline int bucket_get(struct kv_bucket __arena *b, __u64 key, __u64 *value)
{
	struct kv_entry __arena *e;
	int ret = 1;

	kflex_spin_lock(&b->lock);
	for (e = b->head; e; e = e->next) {
		if (e->key == key) {
			*value = e->value;
			ret = 0;
			break;
		}
	}
	kflex_spin_unlock(&b->lock);
	return ret;
}

SEC("syscall")
int kv_get(struct kv_args *ctx)
{
	__u64 key = ctx->key, value = 0;
	struct kv_bucket __arena *b = bucket_of(key);
	int ret;

	if (!b)
		return -1;
	ret = bucket_get(b, key, &value);
	if (ret == 0)
		ctx->value = value;
	return ret;
}

struct kv_batch_args {
	__u64 first;
	__u64 stride;
	__u64 n;
	__u64 sum;
};

SEC("syscall")
int kv_get_batch(struct kv_batch_args *ctx)
{
	__u64 key = ctx->first, stride = ctx->stride, n = ctx->n, sum = 0, value, i;
	int found = 0;

	for (i = 0; i < n; i++, key += stride) {
		struct kv_bucket __arena *b = bucket_of(key);

		if (!b)
			return -1;
		if (bucket_get(b, key, &value) == 0) {
			sum += value;
			found++;
		}
	}
	ctx->sum = sum;
	return found;
}

SEC("syscall")
int kv_delete(struct kv_args *ctx)
{
	__u64 key = ctx->key;
	struct kv_bucket __arena *b = bucket_of(key);
	struct kv_entry __arena *e, *prev = NULL, *gone = NULL;

	if (!b)
		return -1;
	kflex_spin_lock(&b->lock);
	for (e = b->head; e; prev = e, e = e->next) {
		if (e->key == key) {
			if (prev)
				prev->next = e->next;
			else
				b->head = e->next;
			gone = e;
			break;
		}
	}
	kflex_spin_unlock(&b->lock);
	if (!gone)
		return 1;
	kflex_free(gone);
	return 0;
}
