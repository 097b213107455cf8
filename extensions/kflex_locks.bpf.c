/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * kflex_locks.bpf.c — heap spin locks, two held at once.  KFlex only.
 *
 * Demonstrates: kflex_spin_lock()/kflex_spin_unlock() on lock words that live in the heap
 * inside the data they protect, holding two locks at the same time (bpf_spin_lock allows
 * one), a fixed lock order to avoid deadlock, a heap object allocated once and kept in a
 * global (.bss) across invocations. Linux rejects the object (kflex_* kfuncs).
 *
 * Program `transfer` (SEC("syscall"), ctx = struct transfer_args): the first run creates
 * two accounts with balance 1000 each. Every run moves ctx.amount from account A to
 * account B under both locks if A has enough, then reports both balances.
 *   retval 0 = moved, 1 = insufficient funds (nothing moved), -1 = out of memory.
 *   Fresh object: amount 300 -> retval 0, a 700, b 1300; then amount 800 -> retval 1,
 *   a 700, b 1300; then amount -200 -> retval 0, a 900, b 1100.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

kflex_heap(1 << 16);

struct account {
	kflex_spinlock_t lock;
	__u32 pad;
	__s64 balance;
};

struct bank {
	struct account a;
	struct account b;
};

struct bank __arena *bank; /* .bss: a heap pointer kept between runs */

struct transfer_args {
	__s64 amount;    /* in */
	__s64 balance_a; /* out */
	__s64 balance_b; /* out */
};

SEC("syscall")
int transfer(struct transfer_args *ctx)
{
	struct bank __arena *bk = bank;
	__s64 amount = ctx->amount;
	int ret = 1;

	if (!bk) {
		bk = kflex_malloc(sizeof(*bk));
		if (!bk)
			return -1;
		bk->a.balance = 1000;
		bk->b.balance = 1000;
		bank = bk;
	}

	/* Always A before B: a consistent order keeps two transfers from deadlocking. */
	kflex_spin_lock(&bk->a.lock);
	kflex_spin_lock(&bk->b.lock);
	if (bk->a.balance >= amount && bk->b.balance >= -amount) {
		bk->a.balance -= amount;
		bk->b.balance += amount;
		ret = 0;
	}
	ctx->balance_a = bk->a.balance;
	ctx->balance_b = bk->b.balance;
	kflex_spin_unlock(&bk->b.lock);
	kflex_spin_unlock(&bk->a.lock);
	return ret;
}
