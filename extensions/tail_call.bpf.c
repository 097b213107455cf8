/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tail_call.bpf.c — tail calls through a statically initialised program array.
 *
 * Demonstrates: BPF_MAP_TYPE_PROG_ARRAY with __array(values, ...) and a designated
 * initialiser (".rel.maps" relocations against the programs), bpf_tail_call() (helper 12),
 * falling through when the slot is empty or the index is out of range, several XDP
 * programs in one object.
 *
 * Program `dispatch` (SEC("xdp")): reads the first byte b of the frame and tail-calls
 * slot b of `stages` (4 slots: 0 = stage_drop, 1 = stage_tx, 2 = empty, 3 = stage_chain).
 *   b = 0 -> XDP_DROP (1) from stage_drop;   b = 1 -> XDP_TX (3) from stage_tx;
 *   b = 2 -> XDP_PASS (2): empty slot, dispatch continues;
 *   b = 3 -> stage_chain tail-calls slot 0 -> XDP_DROP (1);
 *   b >= 4 -> XDP_PASS (2): out of range;   empty frame -> XDP_ABORTED (0) (Linux's
 *   test-run refuses frames shorter than an Ethernet header, so check that case elsewhere).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int stage_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int stage_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

int stage_chain(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(void *));
} stages SEC(".maps") = {
	.values = {
		[0] = (void *)&stage_drop,
		[1] = (void *)&stage_tx,
		[3] = (void *)&stage_chain,
	},
};

SEC("xdp")
int stage_chain(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &stages, 0);
	return XDP_ABORTED; /* not reached: slot 0 is set */
}

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *first = data;

	if ((void *)(first + 1) > data_end)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &stages, *first);
	return XDP_PASS; /* empty slot or index out of range */
}
