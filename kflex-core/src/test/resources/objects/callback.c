// bpf_loop with a static callback (lddw of a function pointer), a legacy "maps" section with
// struct bpf_map_def records, custom global-data sections and an arena heap declaration.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef __ulong
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name
#endif

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 16,
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 8,
	.value_size = 16,
	.max_entries = 128,
	.map_flags = 1,
};

struct {
	__uint(type, 33);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 16);
	__ulong(map_extra, 0x1ull << 44);
} heap SEC(".maps");

int table[4] SEC(".data.table") = { 1, 2, 3, 4 };
const char greeting[] SEC(".rodata.greeting") = "hello";

static long step(__u64 index, void *ctx)
{
	__u64 *sum = ctx;
	*sum += table[index & 3];
	return 0;
}

SEC("syscall")
int loop(void *ctx)
{
	__u64 sum = 0;
	__u32 key = 1;
	__u64 *slot;
	bpf_loop(4, step, &sum, 0);
	slot = bpf_map_lookup_elem(&legacy_array, &key);
	if (slot)
		*slot = sum;
	return sum + greeting[1];
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
