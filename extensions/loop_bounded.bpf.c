/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loop_bounded.bpf.c — a loop with a constant bound (no may_goto, no helper).
 *
 * Demonstrates: a plain C loop whose trip count the verifier can bound (Linux explores
 * it iteration by iteration; kflex proves termination by widening), data-dependent
 * branches in the body.
 *
 * Program `collatz` (SEC("syscall"), ctx = struct collatz_args { __u64 x; __u64 steps; }):
 *   follows the Collatz sequence from x for at most 1000 steps; ctx.steps = steps taken
 *   until reaching 1 (or 1000), retval = steps.
 *   Examples: x = 27 -> 111;  x = 1 -> 0;  x = 6 -> 8;  x = 0 -> 1000 (0 never reaches 1).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define MAX_STEPS 1000

struct collatz_args {
	__u64 x;     /* in */
	__u64 steps; /* out */
};

SEC("syscall")
int collatz(struct collatz_args *ctx)
{
	__u64 x = ctx->x;
	int steps;

	for (steps = 0; steps < MAX_STEPS; steps++) {
		if (x == 1)
			break;
		x = (x & 1) ? 3 * x + 1 : x / 2;
	}
	ctx->steps = steps;
	return steps;
}
