/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps_of_maps.bpf.c — maps of maps with statically initialised inner maps.
 *
 * Demonstrates: BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS whose inner-map
 * template comes from BTF (`__array(values, struct inner)`), slots initialised with
 * designated initialisers (".rel.maps" relocations against the inner maps), and a two-step
 * lookup (outer map -> inner map -> value).
 *
 * Program `bump_inner` (SEC("syscall"), ctx = struct mom_args): in the array of maps,
 * looks up slot ctx.slot (0 -> inner_a, 1 -> inner_b, 2 -> empty), then key 0 of that inner
 * map, adds ctx.add and returns the new value; in the hash of maps, key 7 -> inner_b.
 *   Fresh object: slot 0, add 5 -> 5; slot 0, add 5 -> 10; slot 1, add 3 -> 3;
 *   slot 2 -> -2 (empty slot); slot 9 -> -2 (out of range).
 *   ctx.via_hash = value of key 0 in the inner map at hash key 7 (inner_b) after the update:
 *   3 after the third run above.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner inner_a SEC(".maps");
struct inner inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner);
} outer_array SEC(".maps") = {
	.values = { [0] = &inner_a, [1] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner);
} outer_hash SEC(".maps") = {
	.values = { [7] = &inner_b },
};

struct mom_args {
	__u32 slot;     /* in */
	__u32 add;      /* in */
	__u64 via_hash; /* out */
};

SEC("syscall")
int bump_inner(struct mom_args *ctx)
{
	__u32 slot = ctx->slot, zero = 0, seven = 7;
	void *inner = bpf_map_lookup_elem(&outer_array, &slot);
	__u64 *v, *w;

	if (!inner)
		return -2;
	v = bpf_map_lookup_elem(inner, &zero);
	if (!v)
		return -1;
	*v += ctx->add;

	inner = bpf_map_lookup_elem(&outer_hash, &seven);
	if (inner) {
		w = bpf_map_lookup_elem(inner, &zero);
		if (w)
			ctx->via_hash = *w;
	}
	return *v;
}
