/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * memcached_offload.bpf.c — memcached UDP GETs and SETs served at the packet hook from and
 * into the server's own store, a hash table in the extension heap.  KFlex only.
 *
 * Demonstrates: a data structure shared by an extension and its Java host (the host creates
 * it; both read and write it under the same per-bucket locks), kflex_malloc/kflex_free for
 * items, atomic counters in the heap shared with the host, parsing memcached text requests
 * behind the 8-byte UDP frame header, and turning the frame into the reply in place:
 * bpf_xdp_adjust_tail to grow or shrink it, the response written at variable offsets behind
 * bounds checks, addresses and ports swapped, IPv4 total length and header checksum recomputed.
 *
 * Store layout (no syscall program: the Java server creates the table and publishes it):
 *
 *   mc_table (a user-view heap pointer in .bss) -> MC_BUCKETS x struct mc_bucket,
 *                                                  then struct mc_counters
 *   struct mc_bucket { u32 lock; u32 pad; struct mc_item *head; }                16 bytes
 *   struct mc_item {                                                    48-byte header
 *       struct mc_item *next;   0   chain, newest first
 *       u64 hash;               8   FNV-1a 64 of the key bytes
 *       u32 key_len;           16
 *       u32 flags;             20   the client's opaque flags
 *       u32 value_len;         24
 *       u32 exptime;           28   absolute Unix time in seconds, 0 = never expires
 *       u64 cas;               32   the item's CAS unique
 *       u32 used;              40   CLOCK's use count: 1 when stored, 2 when read, lowered by the hand
 *       u32 pad;               44
 *       u8  data[];            48   key bytes, then value bytes
 *   }
 *   struct mc_counters {
 *       u64 cas;          0   the last CAS unique handed out                  atomic adds only
 *       u64 items;        8   items linked now                                atomic adds only
 *       u64 bytes;       16   key + value bytes of those items                atomic adds only
 *       u64 total_items; 24   items ever stored                               atomic adds only
 *       u64 memory;      32   header + key + value bytes of the items allocated, charged
 *                             before kflex_malloc and given back after kflex_free
 *       u64 limit;       40   the memory limit (set by the host before it publishes mc_table)
 *       u64 evictions;   48   items the host's CLOCK hand evicted
 *   }
 *   bucket of a key = hash & (MC_BUCKETS - 1); items are allocated with kflex_malloc. Chains
 *   and the items on them are read and written only under the bucket lock: a writer builds a
 *   new item outside it, links it and unlinks the old one under it (touch rewrites exptime in
 *   place under it), and frees the old item after unlocking, when no reader can still hold it.
 *
 * Memory limit and eviction: a writer charges an item's size to `memory` (an atomic add)
 * before allocating it and takes the charge back if that would pass `limit`. The extension
 * then leaves the SET to the host, which evicts: its CLOCK hand visits the buckets in turn,
 * under each bucket's lock lowering the `used` count of items above 0 and unlinking those at
 * 0. A GET that finds an item sets its `used` count to 2 (under the lock), as the host's reads
 * do, so an item read since the hand last passed it survives two more passes; a new item, one.
 *
 * Program `memcached_udp` (SEC("xdp")), for an Ethernet/IPv4/UDP frame whose payload is a
 * memcached UDP frame header (sequence 0, datagram count 1) followed by exactly one of:
 *   "get <key>\r\n" (one key of 1..250 bytes, no space or "\n" in it):
 *   - the key is in the table, never expires, and its value is at most
 *     MC_OFFLOAD_VALUE_MAX bytes -> the frame becomes the reply
 *     "VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n" behind the same frame header
 *     (request id kept), sent back to the client                        -> XDP_TX (3)
 *   "set <key> <flags> 0 <bytes>\r\n<data>\r\n" (key bytes printable, flags a u32, no expiry,
 *   no noreply, at most MC_OFFLOAD_VALUE_MAX data bytes, nothing after them):
 *   - the item is stored (replacing the key's), the frame becomes "STORED\r\n"  -> XDP_TX (3)
 *   Anything else (a miss, an item that may expire, a large value, another command, several
 *   keys, no table yet, a SET past the memory limit or without heap memory) -> XDP_PASS (2),
 *   frame unchanged, for the Java server.
 *   Example: with "k" -> "hello" (flags 7) stored, the payload
 *   "\0\1\0\0\0\1\0\0get k\r\n" becomes "\0\1\0\0\0\1\0\0VALUE k 7 5\r\nhello\r\nEND\r\n";
 *   "\0\2\0\0\0\1\0\0set k 1 0 2\r\nhi\r\n" becomes "\0\2\0\0\0\1\0\0STORED\r\n".
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

kflex_heap(1ULL << 30); /* 1 GiB of address space; pages are only used when allocated */

#define MC_BUCKET_BITS 16
#define MC_BUCKETS (1 << MC_BUCKET_BITS)
#define MC_KEY_MAX 250
#define MC_KEY_BUF 256 /* power of two above MC_KEY_MAX: offsets are masked with it */
#define MC_OFFLOAD_VALUE_MAX 1024
#define REPLY_FRAME (BODY + RESPONSE_MASK + 1) /* the frame a GET reply is written into */
/* "VALUE " key " " flags(<=10) " " bytes(<=4) "\r\n" data "\r\nEND\r\n" minus "get " key "\r\n" */
#define GROWTH (6 + 1 + 10 + 1 + 4 + 2 + 7 - 4 - 2 + MC_OFFLOAD_VALUE_MAX)

struct mc_item {
	struct mc_item __arena *next;
	__u64 hash;
	__u32 key_len;
	__u32 flags;
	__u32 value_len;
	__u32 exptime;
	__u64 cas;
	__u32 used;
	__u32 pad;
	__u8 data[];
};

struct mc_bucket {
	kflex_spinlock_t lock;
	__u32 pad;
	struct mc_item __arena *head;
};

/* Right after the bucket array: counters both sides update atomically. */
struct mc_counters {
	__u64 cas;         /* the last CAS unique handed out */
	__u64 items;       /* items linked now */
	__u64 bytes;       /* key + value bytes of those items */
	__u64 total_items; /* items ever stored */
	__u64 memory;      /* item bytes allocated (header, key, value), charged before kflex_malloc */
	__u64 limit;       /* the most `memory` may reach; set by the host */
	__u64 evictions;   /* counted by the host, which evicts */
};

struct mc_bucket __arena *mc_table; /* .bss: published by the host */

__u32 zero; /* always 0; in .bss so that the verifier does not track loop counters exactly */

/* key[i], with the index masked where the verifier sees it. */
static __always_inline __u8 key_at(__u8 *key, __u32 i)
{
	barrier_var(i);
	i &= MC_KEY_BUF - 1;
	return key[i];
}


/*
 * "set <key> <flags> 0 <bytes>\r\n<data>\r\n" with key bytes all printable, flags a u32, no
 * expiry, no noreply, bytes <= MC_OFFLOAD_VALUE_MAX and nothing after the data: the item is
 * built outside the lock, linked (replacing the key's item) under it, and the frame becomes
 * "STORED\r\n". pos is the body offset just past "set <key> ". Anything else -> XDP_PASS.
 */
static __always_inline int handle_set(struct xdp_md *ctx, __u8 *key, __u32 len, __u64 hash, __u32 pos)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct mc_bucket __arena *table = mc_table, *b;
	struct mc_counters __arena *counters;
	struct mc_item __arena *item, *it, *prev = NULL;
	__u64 old_size = 0;
	__u64 flags = 0, value_len = 0, old_bytes = 0, size;
	__u32 digits = 0, start;
	int c;

	if (!table)
		return XDP_PASS;
	for (__u32 i = zero; i < 11 && can_loop; i++) {
		c = body_at(data, data_end, pos++);
		if (c == ' ')
			break;
		if (c < '0' || c > '9')
			return XDP_PASS;
		flags = flags * 10 + (c - '0');
		digits++;
	}
	if (digits == 0 || digits > 10 || flags > 0xffffffffULL)
		return XDP_PASS;
	if (body_at(data, data_end, pos) != '0' || body_at(data, data_end, pos + 1) != ' ')
		return XDP_PASS;
	pos += 2;
	digits = 0;
	for (__u32 i = zero; i < 6 && can_loop; i++) {
		c = body_at(data, data_end, pos++);
		if (c == '\r')
			break;
		if (c < '0' || c > '9')
			return XDP_PASS; /* also "noreply": the Java server handles it */
		value_len = value_len * 10 + (c - '0');
		digits++;
	}
	if (digits == 0 || digits > 4 || value_len > MC_OFFLOAD_VALUE_MAX)
		return XDP_PASS;
	if (body_at(data, data_end, pos) != '\n')
		return XDP_PASS;
	start = pos + 1;
	if (body_at(data, data_end, start + value_len) != '\r' || body_at(data, data_end, start + value_len + 1) != '\n' ||
	    body_at(data, data_end, start + value_len + 2) != -1)
		return XDP_PASS;

	/*
	 * Charge the item to the memory limit first. Past the limit the host, which evicts,
	 * stores it; so does it when the heap has no room.
	 */
	counters = (struct mc_counters __arena *)&table[MC_BUCKETS];
	size = sizeof(*item) + len + value_len;
	if (__sync_fetch_and_add(&counters->memory, size) + size > counters->limit) {
		__sync_fetch_and_add(&counters->memory, -size);
		return XDP_PASS;
	}
	item = kflex_malloc(size);
	if (!item) {
		__sync_fetch_and_add(&counters->memory, -size);
		return XDP_PASS;
	}
	item->hash = hash;
	item->key_len = len;
	item->flags = flags;
	item->value_len = value_len;
	item->exptime = 0;
	item->used = 1; /* a new item survives one pass of the hand */
	item->cas = __sync_fetch_and_add(&counters->cas, 1) + 1;
	for (__u32 i = zero; i < MC_KEY_BUF && can_loop; i++) {
		if (i >= len)
			break;
		item->data[i] = key_at(key, i);
	}
	for (__u32 i = zero; i < MC_OFFLOAD_VALUE_MAX && can_loop; i++) {
		if (i >= value_len)
			break;
		item->data[len + i] = body_at(data, data_end, start + i);
	}

	b = &table[hash & (MC_BUCKETS - 1)];
	kflex_spin_lock(&b->lock);
	for (it = b->head; it; prev = it, it = it->next) {
		int same = it->hash == hash && it->key_len == len;

		for (__u32 i = zero; same && i < MC_KEY_BUF && can_loop; i++) {
			if (i >= len)
				break;
			if (it->data[i] != key_at(key, i))
				same = 0;
		}
		if (same)
			break;
	}
	if (it) {
		item->next = it->next;
		old_bytes = it->key_len + it->value_len;
		old_size = sizeof(*it) + old_bytes;
	} else {
		item->next = b->head;
		prev = NULL;
	}
	if (prev)
		prev->next = item;
	else
		b->head = item;
	kflex_spin_unlock(&b->lock);

	if (it) {
		kflex_free(it); /* unlinked: nobody else can reach it */
		__sync_fetch_and_add(&counters->memory, -old_size);
	} else {
		__sync_fetch_and_add(&counters->items, 1);
	}
	__sync_fetch_and_add(&counters->bytes, len + value_len - old_bytes);
	__sync_fetch_and_add(&counters->total_items, 1);

	/*
	 * The request frame is longer than the reply (a set line alone has more than 8 bytes):
	 * one check for all eight bytes keeps put()'s own checks from splitting the verifier's paths.
	 */
	if ((void *)((__u8 *)data + BODY + 8) > data_end)
		return XDP_DROP;
	put(data, data_end, 0, 'S');
	put(data, data_end, 1, 'T');
	put(data, data_end, 2, 'O');
	put(data, data_end, 3, 'R');
	put(data, data_end, 4, 'E');
	put(data, data_end, 5, 'D');
	put(data, data_end, 6, '\r');
	put(data, data_end, 7, '\n');
	if (bpf_xdp_adjust_tail(ctx, 8 - (int)(start + value_len + 2)))
		return XDP_DROP;
	return turn_around(ctx, 8);
}

/* Writes v in decimal at *pos (most significant digit first, no stack buffer). */
static __always_inline void put_decimal(void *data, void *data_end, __u32 *pos, __u32 v)
{
	__u32 divisor = 1000000000;
	int started = 0;

	for (int k = 0; k < 10; k++) {
		__u32 digit = v / divisor;

		v %= divisor;
		divisor /= 10;
		if (digit || started || k == 9) {
			started = 1;
			put(data, data_end, (*pos)++, '0' + digit);
		}
	}
}

SEC("xdp")
int memcached_udp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct mc_bucket __arena *table, *b;
	struct mc_item __arena *it;
	__u8 key[MC_KEY_BUF] = {};
	__u64 hash = FNV_OFFSET;
	__u32 len = 0, pos = 0, value_len = 0;
	int found = 0, hit = 0, is_set = 0, control = 0, request_len;
	__u8 *f, *q;

	if (!is_request(data, data_end, 4))
		return XDP_PASS;
	f = (__u8 *)data + FRAME_AT;
	if (f[9] != 'e' || f[10] != 't' || f[11] != ' ')
		return XDP_PASS;
	if (f[8] == 's')
		is_set = 1;
	else if (f[8] != 'g')
		return XDP_PASS;

	/* Copy and hash the key up to "\r". */
	for (__u32 i = zero; i < MC_KEY_BUF && can_loop; i++) {
		__u32 off = i;
		__u8 c;

		barrier_var(off);
		off &= MC_KEY_BUF - 1;
		q = f + FRAME_HEADER + 4 + off;
		if ((void *)(q + 1) > data_end)
			return XDP_PASS;
		c = *q;
		/* A get's key ends at "\r" (a space: several keys, left to Java); a set's at a space. */
		if (c == (is_set ? ' ' : '\r')) {
			len = off;
			found = 1;
			break;
		}
		/*
		 * A get looks any other bytes up as they are: a key the server refused to store
		 * cannot be found. A set stores only keys any server mode accepts (no control bytes).
		 */
		if (c == ' ' || c == '\n' || c == '\r')
			return XDP_PASS;
		if (c < 0x21 || c == 0x7f)
			control = 1;
		key[off] = c;
		hash = (hash ^ c) * FNV_PRIME;
	}
	if (!found || len == 0 || len > MC_KEY_MAX)
		return XDP_PASS;
	if (is_set)
		return control ? XDP_PASS : handle_set(ctx, key, len, hash, 4 + len + 1);
	q = f + FRAME_HEADER + 4 + (len & (MC_KEY_BUF - 1));
	if ((void *)(q + 2) > data_end || q[1] != '\n')
		return XDP_PASS;
	/* Nothing after "\r\n": one request, one key. */
	if ((void *)(q + 2) < data_end)
		return XDP_PASS;

	table = mc_table;
	if (!table)
		return XDP_PASS;
	b = &table[hash & (MC_BUCKETS - 1)];

	/*
	 * Grow to one fixed reply frame first (no helper is called under the bucket lock), large
	 * enough for the largest reply, and check its size once. The per-byte checks of put() then
	 * all hold on the one path the verifier keeps: without this check each of them would widen
	 * the known packet range a little and split the verifier's exploration in two.
	 */
	request_len = BODY + 4 + len + 2; /* "get <key>\r\n" ends the frame (checked above) */
	if (bpf_xdp_adjust_tail(ctx, REPLY_FRAME - request_len))
		return XDP_PASS;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + REPLY_FRAME > data_end) {
		if (bpf_xdp_adjust_tail(ctx, request_len - REPLY_FRAME))
			return XDP_DROP;
		return XDP_PASS;
	}

	kflex_spin_lock(&b->lock);
	for (it = b->head; it; it = it->next) {
		int same = it->hash == hash && it->key_len == len;

		for (__u32 i = zero; same && i < MC_KEY_BUF && can_loop; i++) {
			if (i >= len)
				break;
			if (it->data[i] != key_at(key, i))
				same = 0;
		}
		if (same)
			break;
	}
	if (it)
		it->used = 2; /* read now: the CLOCK hand passes it over twice more */
	if (it && it->exptime == 0 && it->value_len <= MC_OFFLOAD_VALUE_MAX) {
		__u32 key_len = len;

		value_len = it->value_len;
		hit = 1;
		/* The request body is overwritten from offset 0. */
		put(data, data_end, pos++, 'V');
		put(data, data_end, pos++, 'A');
		put(data, data_end, pos++, 'L');
		put(data, data_end, pos++, 'U');
		put(data, data_end, pos++, 'E');
		put(data, data_end, pos++, ' ');
		for (__u32 i = zero; i < MC_KEY_BUF && can_loop; i++) {
			if (i >= key_len)
				break;
			put(data, data_end, pos++, key_at(key, i));
		}
		put(data, data_end, pos++, ' ');
		put_decimal(data, data_end, &pos, it->flags);
		put(data, data_end, pos++, ' ');
		put_decimal(data, data_end, &pos, value_len);
		put(data, data_end, pos++, '\r');
		put(data, data_end, pos++, '\n');
		for (__u32 i = zero; i < MC_OFFLOAD_VALUE_MAX && can_loop; i++) {
			if (i >= value_len)
				break;
			put(data, data_end, pos++, it->data[key_len + i]);
		}
		put(data, data_end, pos++, '\r');
		put(data, data_end, pos++, '\n');
		put(data, data_end, pos++, 'E');
		put(data, data_end, pos++, 'N');
		put(data, data_end, pos++, 'D');
		put(data, data_end, pos++, '\r');
		put(data, data_end, pos++, '\n');
	}
	kflex_spin_unlock(&b->lock);

	if (!hit) {
		/* Back to the request as it came. */
		if (bpf_xdp_adjust_tail(ctx, request_len - REPLY_FRAME))
			return XDP_DROP;
		return XDP_PASS;
	}
	if (bpf_xdp_adjust_tail(ctx, (int)(BODY + pos) - REPLY_FRAME))
		return XDP_DROP;

	return turn_around(ctx, pos);
}
