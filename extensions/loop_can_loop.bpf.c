/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loop_can_loop.bpf.c — loops bounded only by the may_goto budget.
 *
 * Demonstrates: `can_loop` in a loop condition and `cond_break` as a statement (both one
 * may_goto instruction), loops whose trip count the verifier cannot know.
 *
 * Program `collatz_can_loop` (SEC("syscall"), ctx = struct loop_args): like loop_bounded's
 *   collatz but without the step limit: ctx.out = steps until x reaches 1, retval = steps.
 *   x = 27 -> 111;  x = 837799 -> 524;  x = 1 -> 0.  (x = 0 never reaches 1: the budget runs
 *   out, the loop stops and retval is the number of steps taken — large, budget-dependent.)
 *
 * Program `gcd_cond_break` (SEC("syscall"), same ctx): Euclid's algorithm on (x, y) by
 *   remainders; ctx.out = gcd, retval = number of remainder steps.
 *   x = 48, y = 18 -> gcd 6, steps 3;  x = 1071, y = 462 -> gcd 21, steps 3;
 *   y = 0 -> gcd x, steps 0.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

struct loop_args {
	__u64 x;   /* in */
	__u64 y;   /* in (gcd only) */
	__u64 out; /* out */
};

SEC("syscall")
int collatz_can_loop(struct loop_args *ctx)
{
	__u64 x = ctx->x;
	__u64 steps = 0;

	while (x != 1 && can_loop) {
		x = (x & 1) ? 3 * x + 1 : x / 2;
		steps++;
	}
	ctx->out = steps;
	return steps;
}

SEC("syscall")
int gcd_cond_break(struct loop_args *ctx)
{
	__u64 a = ctx->x, b = ctx->y;
	int steps = 0;

	for (;;) {
		cond_break;
		if (b == 0)
			break;
		/* one step: (a, b) -> (b, a mod b) */
		__u64 r = a % b;
		a = b;
		b = r;
		steps++;
	}
	ctx->out = a;
	return steps;
}
