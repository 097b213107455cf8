/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loop_bpf_for.bpf.c — the open-coded numeric iterator (bpf_for).
 *
 * Demonstrates: bpf_for(i, start, end) from kflex.h, i.e. the bpf_iter_num_new/next/destroy
 * kfuncs (.ksyms externs, kfunc calls with src_reg = BPF_PSEUDO_KFUNC_CALL), an iterator
 * state on the stack released by a cleanup attribute, and a nested iterator loop.
 *
 * Program `triangle` (SEC("syscall"), ctx = struct bpf_for_args):
 *   ctx.sum = sum of i for i in [start, end), ctx.pairs = number of pairs (i, j) with
 *   start <= j < i < end (nested loop), retval = number of outer iterations.
 *   start 0, end 100 -> sum 4950, pairs 4950, retval 100;
 *   start 5, end 3 -> sum 0, pairs 0, retval 0;  start -3, end 3 -> sum -3, pairs 15, retval 6.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

struct bpf_for_args {
	__s32 start; /* in */
	__s32 end;   /* in */
	__s64 sum;   /* out */
	__u64 pairs; /* out */
};

SEC("syscall")
int triangle(struct bpf_for_args *ctx)
{
	int start = ctx->start, end = ctx->end;
	__s64 sum = 0;
	__u64 pairs = 0;
	int i, j, outer = 0;

	bpf_for(i, start, end) {
		sum += i;
		outer++;
		bpf_for(j, start, i) pairs++;
	}
	ctx->sum = sum;
	ctx->pairs = pairs;
	return outer;
}
