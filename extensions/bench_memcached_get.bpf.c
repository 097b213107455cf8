/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bench_memcached_get.bpf.c — the memcached UDP GET fast path: parse, hash, look up.
 *
 * Demonstrates: parsing a memcached text request from a UDP payload (after the 8-byte
 * memcached UDP frame header: request id, sequence number, datagram count, reserved),
 * hashing the key with 64-bit FNV-1a while copying it (a bounded loop over packet bytes
 * with a variable-offset bounds check), and looking the hash up in a BPF hash map that
 * the host fills; the entry stores the key itself, which is compared to rule out hash
 * collisions (as a cache in front of memcached must).
 *
 * Program `memcached_get` (SEC("xdp")), for an Ethernet/IPv4/UDP frame:
 *   - not IPv4/UDP to port 11211, IPv4 options, or a payload that is not
 *     "get <key>\r\n" with 1 <= length(key) <= 31               -> XDP_PASS (2)
 *   - a key whose hash is not in `mc_cache`, or whose entry holds another key
 *                                                                  -> XDP_PASS (2) (miss)
 *   - a key found in `mc_cache`                                    -> XDP_TX (3) (hit)
 * The reply itself is not built: this is the parse + lookup benchmark.
 *
 * Map `mc_cache` (hash, key __u64 = FNV-1a 64 of the key bytes, value struct mc_entry):
 * the host stores entries keyed by that hash with the key zero-padded to 32 bytes.
 *   fnv1a64("") = 0xcbf29ce484222325, fnv1a64("a") = 0xaf63dc4c8601ec8c.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "kflex.h"
#include "memcached_udp.h"

char LICENSE[] SEC("license") = "GPL";

#define MEMCACHED_PORT 11211
#define KEY_MAX 32     /* key bytes in an entry, zero-padded; keys are at most 31 bytes */
#define VALUE_MAX 32

struct mc_entry {
	__u8 key[KEY_MAX];     /* the key, zero-padded */
	__u32 key_len;
	__u32 value_len;
	__u8 value[VALUE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct mc_entry);
} mc_cache SEC(".maps");

__u32 zero; /* always 0; in .bss so that the verifiers do not know it */

SEC("xdp")
int memcached_get(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct udphdr *udp;
	struct mc_entry *entry;
	__u64 key[KEY_MAX / 8] = {};
	__u64 hash = FNV_OFFSET;
	__u8 *p;
	__u32 len;

	if (!is_ipv4_udp(data, data_end))
		return XDP_PASS;
	/* Only the port is checked: not the frame header's sequence and count fields. */
	udp = (struct udphdr *)((__u8 *)data + UDP_AT);
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(MEMCACHED_PORT))
		return XDP_PASS;

	p = (__u8 *)(udp + 1) + FRAME_HEADER;
	if ((void *)(p + 4) > data_end || p[0] != 'g' || p[1] != 'e' || p[2] != 't' || p[3] != ' ')
		return XDP_PASS;
	p += 4;

	/*
	 * Copy and hash the key up to "\r"; a key of KEY_MAX bytes or more is not cached. The
	 * offset is masked so that both verifiers see it bounded whatever they know about i, and
	 * the loop starts from `zero` (unknown to the verifier) so that Linux's verifier does not
	 * track the counter exactly (see bench_list_walk.bpf.c).
	 */
	len = KEY_MAX;
	for (__u32 i = zero; i < KEY_MAX && can_loop; i++) {
		__u32 off = i;
		__u8 *q;
		__u8 c;

		barrier_var(off); /* keep clang from folding the mask into the loop bounds */
		off &= KEY_MAX - 1;
		q = p + off;

		if ((void *)(q + 1) > data_end)
			return XDP_PASS;
		c = *q;
		if (c == '\r') {
			len = off;
			break;
		}
		((__u8 *)key)[off] = c;
		hash = (hash ^ c) * FNV_PRIME;
	}
	if (len == 0 || len >= KEY_MAX)
		return XDP_PASS;
	p += len & (KEY_MAX - 1);
	if ((void *)(p + 2) > data_end || p[1] != '\n')
		return XDP_PASS;

	entry = bpf_map_lookup_elem(&mc_cache, &hash);
	if (!entry || entry->key_len != len)
		return XDP_PASS;
	/* Collision check: the whole zero-padded key, 8 bytes at a time. */
	for (int i = 0; i < KEY_MAX / 8; i++) {
		if (((__u64 *)entry->key)[i] != key[i])
			return XDP_PASS;
	}
	return XDP_TX;
}
