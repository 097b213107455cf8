/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps_legacy.bpf.c — a map declared the pre-BTF way, in the "maps" section.
 *
 * Demonstrates: struct bpf_map_def (the layout older loaders and samples use: type,
 * key_size, value_size, max_entries, map_flags), relocations against the "maps" section.
 * Compilers accept it as plain data; libbpf >= 1.0 no longer loads it, kflex does.
 *
 * Program `legacy_count` (SEC("syscall"), no ctx needed): increments hits[0] and returns
 * the new value: 1 on the first run of a loaded object, 2 on the second, ...
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

/* The legacy definition (libbpf < 1.0 shipped it in bpf_helpers.h). */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") hits = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 2,
};

SEC("syscall")
int legacy_count(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &key);

	if (!v)
		return -1;
	return __sync_add_and_fetch(v, 1);
}
