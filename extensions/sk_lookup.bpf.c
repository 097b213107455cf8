/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sk_lookup.bpf.c — socket lookup from XDP: bpf_sk_lookup_udp + bpf_sk_release.
 *
 * Demonstrates: a referenced object (struct bpf_sock *) acquired by a helper, the NULL
 * check the verifier demands, releasing the reference on every path, a tuple built on the
 * stack from packet fields, counters in an array map.
 *
 * Program `udp_owner` (SEC("xdp")): for an Ethernet/IPv4/UDP frame, looks up the host's
 * UDP socket for (saddr, sport) -> (daddr, dport) in the current network namespace.
 *   socket found   -> counts hits[0], releases the socket, XDP_PASS (2)
 *   no socket      -> counts hits[1], XDP_DROP (1)   (nobody would receive it)
 *   not IPv4/UDP   -> XDP_PASS (2);  truncated headers -> XDP_ABORTED (0).
 *   Example: a frame to 127.0.0.1:9 with nothing bound there -> XDP_DROP, hits[1] = 1;
 *   with a UDP socket bound to 127.0.0.1:PORT, a frame to that port -> XDP_PASS.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1L)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline void count(__u32 index)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &index);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int udp_owner(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;

	if ((void *)(ip + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	if (ip->ihl != 5) /* keep the example short: no IP options */
		return XDP_PASS;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;

	tuple.ipv4.saddr = ip->saddr;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.sport = udp->source;
	tuple.ipv4.dport = udp->dest;
	sk = bpf_sk_lookup_udp(ctx, &tuple, sizeof(tuple.ipv4), BPF_F_CURRENT_NETNS, 0);
	if (!sk) {
		count(1);
		return XDP_DROP;
	}
	bpf_sk_release(sk);
	count(0);
	return XDP_PASS;
}
