/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_count.c — an XDP program built with gcc's BPF backend (bpf-gcc).
 *
 * Demonstrates: an object from the other BPF compiler (different section layout, symbol
 * table and BTF encoder than clang's), a BTF-defined array map, a bounded loop over
 * packet bytes, bounds checks against data_end.
 *
 * Program `xdp_count` (SEC("xdp")): counts frames in counts[0] and bytes in counts[1];
 * returns XDP_DROP (1) when the first 16 bytes of the frame are all zero (or the frame is
 * shorter than 16 bytes), XDP_PASS (2) otherwise.
 *   64 zero bytes -> XDP_DROP;  a frame whose byte 3 is 0x01 -> XDP_PASS;  10 bytes -> DROP.
 */
#include <linux/bpf.h>

/*
 * gcc 12 does not turn libbpf's helper declarations (constant function pointers, as in
 * bpf_helper_defs.h) into helper calls, so declare the helper the gcc way: the
 * kernel_helper attribute gives its number (the same number libbpf uses).
 */
extern void *bpf_map_lookup_elem(void *map, const void *key) __attribute__((kernel_helper(1)));

/* The few bpf_helpers.h macros this file needs. */
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline void add(__u32 index, __u64 delta)
{
	__u64 *v = bpf_map_lookup_elem(&counts, &index);

	if (v)
		__sync_fetch_and_add(v, delta);
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;
	unsigned char *data_end = (unsigned char *)(long)ctx->data_end;
	unsigned char any = 0;
	int i;

	add(0, 1);
	add(1, data_end - data);
	if (data + 16 > data_end)
		return XDP_DROP;
	for (i = 0; i < 16; i++)
		any |= data[i];
	return any ? XDP_PASS : XDP_DROP;
}
