/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * memcached_udp.h — what the memcached extensions at the UDP hook share: the frame layout of a
 * memcached UDP request (Ethernet, IPv4 without options, UDP, memcached's 8-byte frame header,
 * then the text) and the checks that find it, FNV-1a, and the byte-level access to the body and
 * the turn-around of a reply. Used by memcached_offload.bpf.c (the KFlex offload),
 * bmc_cache.bpf.c (the BMC-style cache) and bench_memcached_get.bpf.c (the GET benchmark).
 */
#ifndef MEMCACHED_UDP_H
#define MEMCACHED_UDP_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define UDP_AT (14 + 20)               /* the UDP header, behind Ethernet and IPv4 (no options) */
#define FRAME_AT (UDP_AT + 8)          /* memcached's frame header, behind UDP */
#define FRAME_HEADER 8
#define BODY (FRAME_AT + FRAME_HEADER) /* the text of the request or reply */
#define RESPONSE_MASK 2047             /* every response offset is below this */
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/*
 * Whether data..data_end holds an Ethernet frame carrying IPv4 without options and UDP. Only
 * the headers up to the IPv4 one are known to be in bounds then: the caller checks the UDP
 * header (at UDP_AT) and what follows it.
 */
static __always_inline int is_ipv4_udp(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if ((void *)(ip + 1) > data_end || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return 0;
	return 1;
}

/*
 * Whether data..data_end holds a single-datagram memcached request (frame header at FRAME_AT
 * with sequence 0 and datagram count 1) in an IPv4/UDP frame, with at least body_bytes bytes
 * of body, which are then known to be in bounds.
 *
 * A flag rather than a pointer to the frame header: with a pointer that may be NULL, clang
 * merges the checks differently and memcached_udp needs more instructions.
 */
static __always_inline int is_request(void *data, void *data_end, __u32 body_bytes)
{
	__u8 *f = (__u8 *)data + FRAME_AT;

	if (!is_ipv4_udp(data, data_end))
		return 0;
	if ((void *)(f + FRAME_HEADER + body_bytes) > data_end)
		return 0;
	if (f[2] || f[3] || f[4] || f[5] != 1)
		return 0;
	return 1;
}

/*
 * Writes one response byte at body offset pos. The frame was grown to hold the largest reply
 * (GROWTH), so the check never fails; it is there for the verifier. It returns nothing so that
 * both outcomes leave the same state and the verifier's path count stays linear.
 */
static __always_inline void put(void *data, void *data_end, __u32 pos, __u8 c)
{
	__u32 off = pos;
	__u8 *q;

	barrier_var(off);
	off &= RESPONSE_MASK;
	q = (__u8 *)data + BODY + off;
	if ((void *)(q + 1) <= data_end)
		*q = c;
}

/* The body byte at pos, or -1 past the end of the frame. */
static __always_inline int body_at(void *data, void *data_end, __u32 pos)
{
	__u32 off = pos;
	__u8 *q;

	barrier_var(off);
	off &= RESPONSE_MASK;
	q = (__u8 *)data + BODY + off;
	if ((void *)(q + 1) > data_end)
		return -1;
	return *q;
}

/*
 * Turns the frame (its body already the reply) around: addresses and ports swapped, UDP and
 * IPv4 lengths for a body of body_len bytes, IPv4 header checksum recomputed.
 */
static __always_inline int turn_around(struct xdp_md *ctx, __u32 body_len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	unsigned char mac[ETH_ALEN];
	__be32 addr;
	__be16 port;
	__u16 *words;
	__u32 sum = 0;

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	addr = ip->saddr;
	port = udp->source;
	words = (__u16 *)ip;
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	ip->saddr = ip->daddr;
	ip->daddr = addr;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(8 + FRAME_HEADER + body_len);
	udp->check = 0; /* optional in IPv4 */
	ip->tot_len = bpf_htons(20 + 8 + FRAME_HEADER + body_len);
	ip->check = 0;
	for (int i = 0; i < 10; i++)
		sum += words[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = ~sum & 0xffff;
	return XDP_TX;
}

#endif /* MEMCACHED_UDP_H */
