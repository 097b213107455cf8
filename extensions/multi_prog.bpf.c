/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * multi_prog.bpf.c — several programs of different types in one object, sharing a map.
 *
 * Demonstrates: SEC() names selecting program types (xdp, tc, socket, syscall), one map
 * shared by all of them, a static subprogram called from several programs (each program
 * gets its own copy when the object is loaded).
 *
 *   `mp_xdp`    (SEC("xdp"))    counts in seen[0], returns XDP_PASS (2).
 *   `mp_tc`     (SEC("tc"))     counts in seen[1], returns TC_ACT_OK (0).
 *   `mp_socket` (SEC("socket")) counts in seen[2], returns skb->len (keep the whole packet;
 *               a socket filter sees the packet after the Ethernet header: a 64-byte test
 *               frame gives 50).
 *   `mp_report` (SEC("syscall"), ctx = struct report { __u64 xdp, tc, socket; }) copies the
 *                three counters into ctx and returns their total.
 *   Fresh object, one run of each packet program, then mp_report -> ctx {1, 1, 1}, retval 3.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

static __noinline __u64 bump(__u32 index)
{
	__u64 *v = bpf_map_lookup_elem(&seen, &index);

	if (!v)
		return 0;
	return __sync_add_and_fetch(v, 1);
}

static __always_inline __u64 get(__u32 index)
{
	__u64 *v = bpf_map_lookup_elem(&seen, &index);

	return v ? *v : 0;
}

SEC("xdp")
int mp_xdp(struct xdp_md *ctx)
{
	bump(0);
	return XDP_PASS;
}

SEC("tc")
int mp_tc(struct __sk_buff *skb)
{
	bump(1);
	return 0; /* TC_ACT_OK */
}

SEC("socket")
int mp_socket(struct __sk_buff *skb)
{
	bump(2);
	return skb->len;
}

struct report {
	__u64 xdp;
	__u64 tc;
	__u64 socket;
};

SEC("syscall")
int mp_report(struct report *ctx)
{
	ctx->xdp = get(0);
	ctx->tc = get(1);
	ctx->socket = get(2);
	return ctx->xdp + ctx->tc + ctx->socket;
}
