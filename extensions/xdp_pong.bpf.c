/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_pong.bpf.c — answering a request at the packet hook with XDP_TX.
 *
 * Demonstrates: reading a UDP payload behind bounds checks, rewriting it in place, turning
 * the frame around (MAC addresses, IPv4 addresses and UDP ports swapped) and returning
 * XDP_TX so the host sends it back without the application ever seeing the request.
 *
 * Program `xdp_pong` (SEC("xdp")):
 *   - a UDP datagram whose payload starts with "ping" -> payload becomes "pong...",
 *     frame turned around, UDP checksum cleared (legal in IPv4)       -> XDP_TX (3)
 *   - anything else (other payloads, non-UDP, IP options)            -> XDP_PASS (2)
 *   - truncated headers                                               -> XDP_DROP (1)
 *   Example: "ping 42" from 10.0.0.1:40000 to 10.0.0.2:7000 -> "pong 42" from 10.0.0.2:7000
 *   to 10.0.0.1:40000, retval 3.
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
int xdp_pong(struct xdp_md *ctx)
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
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	if ((void *)(payload + 4) > data_end)
		return XDP_PASS;
	if (payload[0] != 'p' || payload[1] != 'i' || payload[2] != 'n' || payload[3] != 'g')
		return XDP_PASS;

	payload[1] = 'o';
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
