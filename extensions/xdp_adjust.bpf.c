/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * xdp_adjust.bpf.c — growing and shrinking an XDP frame: bpf_xdp_adjust_head/tail/meta.
 *
 * Demonstrates: the three frame-adjusting helpers and their limits (the headroom, the
 * reserved tail of the buffer, an Ethernet header's minimum, metadata of at most 32 bytes in
 * 4-byte steps), packet pointers re-read from the context after each adjustment (the
 * helpers invalidate them), writing at the frame's new start and into the metadata,
 * bpf_csum_diff over packet bytes.
 *
 * Program `adjust` (SEC("xdp")): the frame starts with a request
 *   struct adjust_req { __s16 head; __s16 tail; __s8 meta; __u8 pad[3]; }  (host byte order)
 * and the program calls, in this order, bpf_xdp_adjust_head(ctx, head),
 * bpf_xdp_adjust_tail(ctx, tail), bpf_xdp_adjust_meta(ctx, meta), then
 *   - flips every bit of the frame's (new) first byte,
 *   - writes 0xfeedface into the first 4 bytes of the metadata, if there are 4,
 *   - stores { the three return values, bpf_csum_diff(NULL, 0, data, 16, 0) over the frame's
 *     first 16 bytes (0 if it is shorter) } in results[0] (struct adjust_result),
 *   and returns XDP_PASS (2); a frame shorter than the request: XDP_ABORTED (0).
 *   Examples (64-byte frame): head -14 -> 0 (the frame is 78 bytes, its first 14 bytes new,
 *   zero); head 51 -> -22 (-EINVAL: less than an Ethernet header would be left); tail 100 ->
 *   0 (164 bytes); meta -4 -> 0; meta -3 -> -13 (-EACCES: not a multiple of 4).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct adjust_req {
	__s16 head;
	__s16 tail;
	__s8 meta;
	__u8 pad[3];
};

struct adjust_result {
	__s64 head_ret;
	__s64 tail_ret;
	__s64 meta_ret;
	__s64 csum;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct adjust_result);
} results SEC(".maps");

SEC("xdp")
int adjust(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct adjust_req *req = data;
	struct adjust_result r = {};
	__u8 *first;
	__u32 *meta;
	__u32 zero = 0;
	int head, tail, meta_delta;

	if ((void *)(req + 1) > data_end)
		return XDP_ABORTED;
	head = req->head;
	tail = req->tail;
	meta_delta = req->meta;

	r.head_ret = bpf_xdp_adjust_head(ctx, head);
	r.tail_ret = bpf_xdp_adjust_tail(ctx, tail);
	r.meta_ret = bpf_xdp_adjust_meta(ctx, meta_delta);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	meta = (void *)(long)ctx->data_meta;
	first = data;
	if ((void *)(first + 1) <= data_end)
		*first ^= 0xff;
	if ((void *)(meta + 1) <= data)
		*meta = 0xfeedface;
	if (data + 16 <= data_end)
		r.csum = bpf_csum_diff(0, 0, data, 16, 0);
	bpf_map_update_elem(&results, &zero, &r, BPF_ANY);
	return XDP_PASS;
}
