/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_parse.bpf.c — Ethernet / IPv4 / UDP parsing in an XDP program.
 *
 * Demonstrates: struct xdp_md, packet pointers with bounds checks against data_end
 * (a variable-length IPv4 header included), byte order helpers, rewriting a packet in
 * place, and the XDP verdicts.
 *
 * Program `xdp_udp` (SEC("xdp")), result for each input frame:
 *   - shorter than an Ethernet header                      -> XDP_DROP (1)
 *   - not IPv4 (e.g. ARP, IPv6)                            -> XDP_PASS (2)
 *   - IPv4 with IHL < 5 or a header running past the frame -> XDP_DROP (1)
 *   - IPv4 but not UDP (e.g. TCP, ICMP)                    -> XDP_PASS (2)
 *   - UDP header running past the frame                    -> XDP_DROP (1)
 *   - UDP to port 9 (discard)                              -> XDP_DROP (1)
 *   - UDP to port 7 (echo): swaps MAC addresses, IPv4 addresses and UDP ports
 *     (checksums stay valid: the swaps do not change the sums) -> XDP_TX (3)
 *   - any other UDP                                         -> XDP_PASS (2)
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

#define PORT_ECHO 7
#define PORT_DISCARD 9

/* Swaps two equally sized byte ranges in the packet (MAC addresses are 6 bytes). */
static __always_inline void swap_bytes(__u8 *a, __u8 *b, int len)
{
	for (int i = 0; i < len; i++) {
		__u8 t = a[i];
		a[i] = b[i];
		b[i] = t;
	}
}

SEC("xdp")
int xdp_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	__u32 ip_len;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip->ihl < 5)
		return XDP_DROP;
	ip_len = ip->ihl * 4; /* options make the header longer than struct iphdr */
	if ((void *)ip + ip_len > data_end)
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP)
		return XDP_PASS;

	udp = (void *)ip + ip_len;
	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;

	switch (bpf_ntohs(udp->dest)) {
	case PORT_DISCARD:
		return XDP_DROP;
	case PORT_ECHO: {
		__u32 addr = ip->saddr;
		__u16 port = udp->source;

		swap_bytes(eth->h_dest, eth->h_source, ETH_ALEN);
		ip->saddr = ip->daddr;
		ip->daddr = addr;
		udp->source = udp->dest;
		udp->dest = port;
		return XDP_TX;
	}
	default:
		return XDP_PASS;
	}
}
