/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps_btf.bpf.c — BTF-defined maps in the ".maps" section.
 *
 * Demonstrates: BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_ARRAY and
 * BPF_MAP_TYPE_LRU_HASH declared with __uint/__type, bpf_map_lookup_elem,
 * bpf_map_update_elem (BPF_NOEXIST), atomic adds on map values, bpf_map_delete_elem.
 *
 * Program `account` (SEC("syscall"), ctx = struct account_args): records one packet of
 * ctx.len bytes for flow ctx.key.
 *   - counters[0] (array) counts calls, counters[1] sums lengths.
 *   - flows[key] (hash) holds {packets, bytes}; created on first use.
 *   - recent[key] (LRU hash) holds the last length seen.
 *   - percpu[0] counts calls on the current CPU.
 *   Returns the flow's packet count after the update; ctx.bytes = the flow's byte total.
 *   Maps persist between runs of one loaded object: key 5, len 100 twice -> retval 1,
 *   then retval 2 with ctx.bytes = 200.
 *   key 0 deletes flow ctx.len instead: retval 0, or -2 (-ENOENT) if there is no such flow
 *   (the call is still counted). After the two runs above: key 0, len 5 -> 0; again -> -2;
 *   then key 5, len 100 -> retval 1 (a new flow).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct flow {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u32);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

struct account_args {
	__u32 key;   /* in: flow id; 0 = delete flow `len` */
	__u32 len;   /* in: packet length */
	__u64 bytes; /* out: the flow's byte total */
};

static __always_inline void add_counter(__u32 index, __u64 delta)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &index);

	if (v)
		__sync_fetch_and_add(v, delta);
}

SEC("syscall")
int account(struct account_args *ctx)
{
	__u32 key = ctx->key, len = ctx->len, zero = 0;
	struct flow *f, init = {};
	__u64 *mine;

	add_counter(0, 1);
	add_counter(1, len);
	mine = bpf_map_lookup_elem(&percpu, &zero);
	if (mine)
		*mine += 1;

	if (key == 0)
		return bpf_map_delete_elem(&flows, &len);
	f = bpf_map_lookup_elem(&flows, &key);
	if (!f) {
		bpf_map_update_elem(&flows, &key, &init, BPF_NOEXIST);
		f = bpf_map_lookup_elem(&flows, &key);
		if (!f)
			return -1;
	}
	__sync_fetch_and_add(&f->packets, 1);
	__sync_fetch_and_add(&f->bytes, len);
	bpf_map_update_elem(&recent, &key, &len, BPF_ANY);
	ctx->bytes = f->bytes;
	return f->packets;
}
