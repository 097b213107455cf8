/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loop_bpf_loop.bpf.c — the bpf_loop() helper with a callback.
 *
 * Demonstrates: bpf_loop(nr, callback, ctx, 0) (helper 181), a static callback function
 * whose address is passed with a pseudo-function lddw, a callback context on the stack,
 * and early termination (callback returns 1).
 *
 * Program `sum_squares` (SEC("syscall"), ctx = struct bpf_loop_args):
 *   calls the callback for i = 0 .. n-1, summing i*i, stopping early once the sum exceeds
 *   ctx.limit (when limit != 0). ctx.sum = sum, retval = number of iterations bpf_loop
 *   reports (the callbacks run).
 *   n = 10, limit 0 -> sum 285, retval 10;  n = 100, limit 0 -> sum 328350, retval 100;
 *   n = 100, limit 1000 -> sum 1015 (i = 0..14), retval 15.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct bpf_loop_args {
	__u32 n;     /* in: iterations */
	__u32 limit; /* in: stop once the sum exceeds it (0 = never) */
	__u64 sum;   /* out */
};

struct loop_state {
	__u64 sum;
	__u64 limit;
};

static int add_square(__u32 index, void *data)
{
	struct loop_state *st = data;

	st->sum += (__u64)index * index;
	if (st->limit && st->sum > st->limit)
		return 1; /* stop */
	return 0;
}

SEC("syscall")
int sum_squares(struct bpf_loop_args *ctx)
{
	struct loop_state st = { .sum = 0, .limit = ctx->limit };
	long iterations = bpf_loop(ctx->n, add_square, &st, 0);

	ctx->sum = st.sum;
	return iterations;
}
