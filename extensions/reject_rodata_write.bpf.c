/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reject_rodata_write.bpf.c — a program every verifier must refuse.
 *
 * Demonstrates: host-interface compliance. `limit` lives in .rodata, a map the program may
 * only read (BPF_F_RDONLY_PROG); casting the const away compiles, but the store into the
 * read-only map value is rejected at load time (Linux: "write into map forbidden").
 *
 * Program `bump_limit` (SEC("syscall")): rejected at the store in line 21.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 limit = 10;

SEC("syscall")
int bump_limit(void *ctx)
{
	*(volatile __u64 *)&limit = limit + 1;
	return 0;
}
