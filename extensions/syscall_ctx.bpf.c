/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * syscall_ctx.bpf.c — a SEC("syscall") program as a calculator over its context.
 *
 * Demonstrates: BPF_PROG_TYPE_SYSCALL with a user-defined context struct (read and
 * written in place, as BPF_PROG_TEST_RUN's ctx_in), and the ISA v4 operations clang emits
 * for plain C: signed division and modulo (sdiv/smod), bswap, sign-extending moves
 * (movsx), arithmetic shifts — with eBPF's defined results for division by zero
 * (x / 0 = 0, x % 0 = x), which the program does not guard against on purpose.
 *
 * Program `calc` (ctx = struct calc_args { __u32 op; __u32 pad; __s64 a, b, result; }):
 *   op 0 a+b, 1 a-b, 2 a*b, 3 a/b (signed), 4 a%b (signed), 5 a/b (unsigned),
 *   6 bswap64(a), 7 (s64)(s8)a, 8 a << (b & 63), 9 a >> (b & 63) (arithmetic);
 *   ctx.result = the value, retval 0. Unknown op: retval -22, result untouched.
 *   Examples: op 3, a = -7, b = 2 -> -3;  op 4, a = -7, b = 2 -> -1;  op 3, b = 0 -> 0;
 *   op 4, a = -7, b = 0 -> -7;  op 5, a = -1, b = 2 -> 0x7fffffffffffffff;
 *   op 6, a = 0x0102030405060708 -> 0x0807060504030201;  op 7, a = 0x80 -> -128;
 *   op 9, a = -256, b = 4 -> -16.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct calc_args {
	__u32 op;
	__u32 pad;
	__s64 a;
	__s64 b;
	__s64 result;
};

/* eBPF defines division by zero; C does not, so spell the semantics out for the compiler
 * while still emitting the plain sdiv/smod/udiv instruction on the non-zero path. */
static __always_inline __s64 sdiv(__s64 a, __s64 b) { return b ? a / b : 0; }
static __always_inline __s64 smod(__s64 a, __s64 b) { return b ? a % b : a; }
static __always_inline __u64 udiv(__u64 a, __u64 b) { return b ? a / b : 0; }

SEC("syscall")
int calc(struct calc_args *ctx)
{
	__s64 a = ctx->a, b = ctx->b, r;

	switch (ctx->op) {
	case 0: r = a + b; break;
	case 1: r = a - b; break;
	case 2: r = a * b; break;
	case 3: r = sdiv(a, b); break;
	case 4: r = smod(a, b); break;
	case 5: r = udiv(a, b); break;
	case 6: r = __builtin_bswap64(a); break;
	case 7: r = (__s64)(__s8)a; break;
	case 8: r = (__s64)((__u64)a << (b & 63)); break;
	case 9: r = a >> (b & 63); break;
	default: return -22;
	}
	ctx->result = r;
	return 0;
}
