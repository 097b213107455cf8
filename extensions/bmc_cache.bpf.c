/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * bmc_cache.bpf.c — a BMC-style look-aside cache for memcached UDP GETs, in a BPF array map.
 *
 * BMC (Ghigoff et al., NSDI '21) answers memcached GET hits in XDP from a cache of fixed-size
 * entries in a BPF map; everything else reaches memcached. This is the same design in ordinary
 * libbpf C (no heap, no kfuncs), so that the KFlex offload (memcached_offload.bpf.c, whose hook
 * reads the server's own store) can be compared with it on the same server.
 *
 * Demonstrates: a direct-mapped cache in a BPF_MAP_TYPE_ARRAY whose value holds a struct
 * bpf_spin_lock, reads and writes of an entry under that lock (no helper call while it is held),
 * a reply copied from a map value into the packet, invalidation at the hook.
 *
 * Map `bmc_cache`: BMC_ENTRIES x struct bmc_entry, index = FNV-1a-64(key) & (BMC_ENTRIES - 1).
 *
 *   struct bmc_entry {
 *       struct bpf_spin_lock lock;   0   guards every other field
 *       __u32 valid;                 4   1: hash, key and reply describe a current item
 *       __u64 hash;                  8   FNV-1a 64 of the key
 *       __u32 gen;                  16   bumped by every invalidation
 *       __u32 key_len;              20
 *       __u32 reply_len;            24   bytes of reply[] in use
 *       __u32 pad;                  28
 *       __u8  key[256];             32
 *       __u8  reply[BMC_REPLY_MAX]; 288 "VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n"
 *   }
 *
 * Only the host fills entries (BMC fills them from the server's replies at TC egress; the host
 * here has no egress hook, so the server fills an entry after it answered a GET). It reads gen
 * under the lock before it reads its store, and writes the entry, under the lock, only if gen is
 * still the same: an invalidation in between (the host's after any write of the key, or this
 * program's) makes it give up, so an entry never holds a value older than the last write.
 *
 * Program `bmc_udp` (SEC("xdp")), for an Ethernet/IPv4/UDP frame whose payload is a memcached
 * UDP frame header (sequence 0, datagram count 1) followed by:
 *   "get <key>\r\n" (one key of 1..250 bytes): the key's entry is valid and holds this key ->
 *     the frame becomes the entry's reply behind the same frame header (request id kept),
 *     addresses and ports swapped                                             -> XDP_TX (3)
 *   "<command> <key>..." for set, add, replace, append, prepend, cas, delete, incr, decr and
 *     touch: the key's entry is invalidated (valid = 0, gen + 1)                -> XDP_PASS (2)
 *   anything else, and every miss                                             -> XDP_PASS (2)
 * The frame is passed unchanged. Values are cached only up to BMC_VALUE_MAX bytes, as in BMC.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "kflex.h" /* only for can_loop, which libbpf's bpf_experimental.h defines the same way */
#include "memcached_udp.h"

char LICENSE[] SEC("license") = "GPL";

#define BMC_ENTRIES 65536
#define BMC_KEY_MAX 250
#define BMC_KEY_BUF 256 /* power of two above BMC_KEY_MAX: offsets are masked with it */
#define BMC_VALUE_MAX 1000
/* "VALUE " key " " flags(<=10) " " bytes(<=4) "\r\n" data "\r\nEND\r\n" = 1281 at most */
#define BMC_REPLY_MAX 1288
#define REPLY_FRAME (BODY + BMC_REPLY_MAX)  /* the frame a reply is copied into */

struct bmc_entry {
	struct bpf_spin_lock lock;
	__u32 valid;
	__u64 hash;
	__u32 gen;
	__u32 key_len;
	__u32 reply_len;
	__u32 pad;
	__u8 key[BMC_KEY_BUF];
	__u8 reply[BMC_REPLY_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BMC_ENTRIES);
	__type(key, __u32);
	__type(value, struct bmc_entry);
} bmc_cache SEC(".maps");

__u32 zero; /* always 0; in .bss so that the verifier does not track loop counters exactly */

static __always_inline __u8 key_at(__u8 *key, __u32 i)
{
	barrier_var(i);
	i &= BMC_KEY_BUF - 1;
	return key[i];
}

/* key[i] = c, with the index masked where the verifier sees it. */
static __always_inline void put_key(__u8 *key, __u32 i, __u8 c)
{
	barrier_var(i);
	i &= BMC_KEY_BUF - 1;
	key[i] = c;
}

/* e->reply[i], with the bound checked where the verifier sees it. */
static __always_inline __u8 reply_at(struct bmc_entry *e, __u32 i)
{
	barrier_var(i);
	if (i >= BMC_REPLY_MAX)
		return 0;
	return e->reply[i];
}


/* The commands that change a key (their key is the second word): 0 if the word is none of them. */
static __always_inline int is_write(__u64 word, __u32 len)
{
	switch (len) {
	case 3:
		return word == 0x746573 /* set */ || word == 0x646461 /* add */ || word == 0x736163 /* cas */;
	case 4:
		return word == 0x72636e69 /* incr */ || word == 0x72636564 /* decr */;
	case 5:
		return word == 0x6863756f74ULL /* touch */;
	case 6:
		return word == 0x6574656c6564ULL /* delete */ || word == 0x646e65707061ULL /* append */;
	case 7:
		return word == 0x6563616c706572ULL /* replace */ || word == 0x646e6570657270ULL /* prepend */;
	}
	return 0;
}

static __always_inline void invalidate(__u64 hash)
{
	__u32 index = hash & (BMC_ENTRIES - 1);
	struct bmc_entry *e = bpf_map_lookup_elem(&bmc_cache, &index);

	if (!e)
		return;
	bpf_spin_lock(&e->lock);
	e->valid = 0;
	e->gen += 1;
	bpf_spin_unlock(&e->lock);
}

SEC("xdp")
int bmc_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bmc_entry *e;
	__u8 key[BMC_KEY_BUF] = {};
	__u64 hash = FNV_OFFSET, word = 0;
	__u32 len = 0, start = 0, index, reply_len = 0;
	int found = 0, hit = 0, is_get, request_len, c;

	if (!is_request(data, data_end, 4))
		return XDP_PASS;

	/* The command word: up to 7 letters, then a space. */
	for (__u32 i = zero; i < 8 && can_loop; i++) {
		c = body_at(data, data_end, i);
		if (c == ' ') {
			start = i + 1;
			break;
		}
		if (c < 'a' || c > 'z' || i == 7)
			return XDP_PASS;
		word |= (__u64)c << (8 * i);
	}
	if (!start)
		return XDP_PASS;
	is_get = start == 4 && word == 0x746567; /* get */
	if (!is_get && !is_write(word, start - 1))
		return XDP_PASS;

	/* The key: copied and hashed up to the byte that ends it. */
	for (__u32 i = zero; i < BMC_KEY_BUF && can_loop; i++) {
		__u32 off = i & (BMC_KEY_BUF - 1);

		c = body_at(data, data_end, start + off);
		if (c < 0)
			return XDP_PASS;
		if (c == ' ' || c == '\r') {
			/* a get's key ends the line (one key); any write's key may be followed by more */
			if (is_get && c != '\r')
				return XDP_PASS;
			len = off;
			found = 1;
			break;
		}
		if (c == '\n')
			return XDP_PASS;
		put_key(key, off, c);
		hash = (hash ^ c) * FNV_PRIME;
	}
	if (!found || len == 0 || len > BMC_KEY_MAX)
		return XDP_PASS;
	if (!is_get) {
		invalidate(hash);
		return XDP_PASS;
	}
	/* "get <key>\r\n" and nothing after it */
	if (body_at(data, data_end, start + len + 1) != '\n' || body_at(data, data_end, start + len + 2) != -1)
		return XDP_PASS;

	index = hash & (BMC_ENTRIES - 1);
	e = bpf_map_lookup_elem(&bmc_cache, &index);
	if (!e)
		return XDP_PASS;

	/* Grow to one fixed reply frame first (no helper call under the lock), checked once. */
	request_len = BODY + start + len + 2;
	if (bpf_xdp_adjust_tail(ctx, REPLY_FRAME - request_len))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + REPLY_FRAME > data_end) {
		if (bpf_xdp_adjust_tail(ctx, request_len - REPLY_FRAME))
			return XDP_DROP;
		return XDP_PASS;
	}

	bpf_spin_lock(&e->lock);
	if (e->valid && e->hash == hash && e->key_len == len && e->reply_len <= BMC_REPLY_MAX) {
		int same = 1;

		for (__u32 i = zero; i < BMC_KEY_BUF && can_loop; i++) {
			if (i >= len)
				break;
			if (key_at(e->key, i) != key_at(key, i)) {
				same = 0;
				break;
			}
		}
		if (same) {
			reply_len = e->reply_len;
			for (__u32 i = zero; i < BMC_REPLY_MAX && can_loop; i++) {
				if (i >= reply_len)
					break;
				put(data, data_end, i, reply_at(e, i));
			}
			hit = 1;
		}
	}
	bpf_spin_unlock(&e->lock);

	if (!hit) {
		/* Back to the request as it came. */
		if (bpf_xdp_adjust_tail(ctx, request_len - REPLY_FRAME))
			return XDP_DROP;
		return XDP_PASS;
	}
	if (bpf_xdp_adjust_tail(ctx, (int)(BODY + reply_len) - REPLY_FRAME))
		return XDP_DROP;
	return turn_around(ctx, reply_len);
}
