/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sk_leak.bpf.c — REJECTED ON PURPOSE: a socket reference that is not released on every path.
 *
 * Demonstrates what the verifier catches: like sk_lookup.bpf.c, but the path for DNS traffic
 * returns without bpf_sk_release(). Both Linux and KFlex reject it ("Unreleased reference"
 * in Linux, LEAKED_REFERENCE here), naming the return instruction and its source line.
 * Tests use it to check how rejections are reported.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int leaky_owner(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct bpf_sock_tuple tuple = {};
	struct bpf_sock *sk;

	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	tuple.ipv4.saddr = ip->saddr;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.sport = udp->source;
	tuple.ipv4.dport = udp->dest;
	sk = bpf_sk_lookup_udp(ctx, &tuple, sizeof(tuple.ipv4), -1, 0);
	if (!sk)
		return XDP_DROP;
	if (udp->dest == bpf_htons(53))
		return XDP_PASS; /* the bug: sk is still held here */
	bpf_sk_release(sk);
	return XDP_PASS;
}
