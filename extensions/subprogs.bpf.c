/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * subprogs.bpf.c — BPF-to-BPF calls.
 *
 * Demonstrates: a static subprogram (verified in the caller's context), a global
 * (non-static) __noinline function (Linux verifies it once, on its own, from its BTF
 * signature), an __always_inline helper, and a call chain three frames deep
 * (main -> poly -> add_seven).
 *
 * Program `subprogs` (SEC("syscall"), ctx = struct subprogs_args { __s32 x; __s32 y; }):
 *   retval = add_seven(triple(x)) + poly(x) where
 *     triple(x) = 3x,  add_seven(v) = v + 7,  poly(x) = x*x - add_seven(x) * 2;
 *   ctx.y = clamp(x) = x limited to [-100, 100].
 *   Examples: x = 5 -> 22 + (25 - 24) = 23, y = 5;  x = -3 -> -2 + (9 - 8) = -1, y = -3;
 *             x = 1000 -> 3007 + 997986 = 1000993, y = 100.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct subprogs_args {
	__s32 x; /* in */
	__s32 y; /* out */
};

/* Global function: its own BTF FUNC with global linkage; arguments must be scalars. */
__noinline int add_seven(int v)
{
	return v + 7;
}

static __noinline int triple(int x)
{
	return 3 * x;
}

static __noinline int poly(int x)
{
	return x * x - add_seven(x) * 2;
}

static __always_inline int clamp(int x)
{
	return x < -100 ? -100 : x > 100 ? 100 : x;
}

SEC("syscall")
int subprogs(struct subprogs_args *ctx)
{
	int x = ctx->x;

	ctx->y = clamp(x);
	return add_seven(triple(x)) + poly(x);
}
