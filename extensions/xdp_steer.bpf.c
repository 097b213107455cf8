/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_steer.bpf.c — two versions of one packet program, per-CPU counting, bpf_redirect.
 *
 * Demonstrates: replacing an attached program by a new version while traffic flows (each
 * version stamps its answers), a per-CPU array next to a plain array indexed by
 * bpf_get_smp_processor_id() (the two must agree: the per-CPU slot a frame is counted in is
 * the CPU the helper names), bpf_redirect() to an interface index, a shared subprogram.
 *
 * Programs `steer_v1`, `steer_v2` (SEC("xdp")), for an Ethernet/IPv4/UDP frame without IP
 * options whose payload is at least 2 bytes:
 *   - every such frame is counted: frames[0] (per-CPU array) += 1 and
 *     by_cpu[bpf_get_smp_processor_id()] += 1 (array of 64; CPUs >= 64 are not counted there);
 *   - payload "redir..." -> bpf_redirect(7, 0): XDP_REDIRECT (4) to ifindex 7;
 *   - payload "drop..."  -> XDP_DROP (1);
 *   - anything else: the first two payload bytes become "v1" (steer_v1) or "v2" (steer_v2),
 *     the frame is turned around (MACs, IPv4 addresses and UDP ports swapped, UDP checksum
 *     cleared) -> XDP_TX (3).
 *   Not IPv4/UDP, IP options or a payload shorter than 2 bytes -> XDP_PASS (2), not counted;
 *   truncated headers -> XDP_ABORTED (0).
 *   Example: "xx 17" from 10.0.0.1:4242 to 10.0.0.2:53 -> steer_v2 answers "v2 17" from
 *   10.0.0.2:53 to 10.0.0.1:4242, retval 3; "redirect me" -> retval 4.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define REDIRECT_IFINDEX 7

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} frames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_cpu SEC(".maps");

static __noinline void count(void)
{
	__u32 zero = 0, cpu = bpf_get_smp_processor_id();
	__u64 *n = bpf_map_lookup_elem(&frames, &zero);

	if (n)
		*n += 1; /* per-CPU: no other CPU writes this slot */
	n = bpf_map_lookup_elem(&by_cpu, &cpu);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline int steer(struct xdp_md *ctx, char version)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	char *payload = (void *)(udp + 1);
	unsigned char mac[ETH_ALEN];
	__be32 addr;
	__be16 port;

	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	if ((void *)(payload + 2) > data_end)
		return XDP_PASS;
	count();
	if ((void *)(payload + 4) <= data_end) {
		if (payload[0] == 'd' && payload[1] == 'r' && payload[2] == 'o' && payload[3] == 'p')
			return XDP_DROP;
		if ((void *)(payload + 5) <= data_end && payload[0] == 'r' && payload[1] == 'e'
		    && payload[2] == 'd' && payload[3] == 'i' && payload[4] == 'r')
			/* bpf_redirect returns XDP_REDIRECT, or XDP_ABORTED for bad flags. Linux
			 * would accept returning its result as is; kflex's verifier wants an XDP
			 * return value it can prove to be in [0, 4]. */
			return bpf_redirect(REDIRECT_IFINDEX, 0) == XDP_REDIRECT ? XDP_REDIRECT
										 : XDP_ABORTED;
	}
	payload[0] = 'v';
	payload[1] = version;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	addr = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->check = 0;
	return XDP_TX;
}

SEC("xdp")
int steer_v1(struct xdp_md *ctx)
{
	return steer(ctx, '1');
}

SEC("xdp")
int steer_v2(struct xdp_md *ctx)
{
	return steer(ctx, '2');
}
