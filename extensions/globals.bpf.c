/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * globals.bpf.c — global variables: .data, .bss, .rodata and a merged string section.
 *
 * Demonstrates: initialised globals (.data), zero-initialised globals (.bss), constants
 * (.rodata, `const volatile` so the compiler keeps the load), a string literal reached
 * by index (clang puts it in ".rodata.str1.1"), a static const array (clang picks
 * ".rodata" or a mergeable-constant section such as ".rodata.cst16"),
 * all accessed with direct value access (lddw map-value relocations).
 *
 * Program `globals` (SEC("syscall"), ctx = struct globals_args): on each run
 *   calls += 1 (.bss), total += 2 (.data, starts at 40),
 *   retval = total * factor (.rodata, 3) + GREETING[index & 3] (".rodata.str1.1", "kflex")
 *            + weights[index & 3] (const array, {1000, 2000, 3000, 4000}),
 *   ctx.calls = calls.
 *   First run, index 0: total 42 -> 126 + 'k' (107) + 1000 = 1233, ctx.calls = 1.
 *   Second run, index 1: total 44 -> 132 + 'f' (102) + 2000 = 2234, ctx.calls = 2.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 total = 40;              /* .data */
__u64 calls;                   /* .bss */
const volatile __u64 factor = 3; /* .rodata */
static const __u32 weights[4] = { 1000, 2000, 3000, 4000 }; /* read-only constants */
#define GREETING "kflex"       /* a literal: its characters go to .rodata.str1.1 */

struct globals_args {
	__u32 index;  /* in */
	__u32 calls;  /* out */
};

SEC("syscall")
int globals(struct globals_args *ctx)
{
	__u32 index = ctx->index;

	calls += 1;
	total += 2;
	ctx->calls = calls;
	return total * factor + GREETING[index & 3] + weights[index & 3];
}
