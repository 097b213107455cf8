/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps_queue_stack.bpf.c — queue and stack maps (no keys).
 *
 * Demonstrates: BPF_MAP_TYPE_QUEUE (FIFO) and BPF_MAP_TYPE_STACK (LIFO) declared without a
 * key, bpf_map_push_elem, bpf_map_pop_elem, bpf_map_peek_elem, a full map refusing a push
 * (BPF_EXIST would overwrite the oldest; flags 0 fails with -E2BIG).
 *
 * Program `fifo_lifo` (SEC("syscall"), ctx = struct qs_args): pushes 10, 20, 30 into both
 * maps, then pops once from each and peeks at the next.
 *   ctx.queue_pop = 10, ctx.queue_peek = 20, ctx.stack_pop = 30, ctx.stack_peek = 20.
 *   retval = number of failed pushes: 0 on a fresh object. The maps hold 4 elements, so each
 *   run leaves 2 more behind: the second run's pushes of 30 fail (retval 2: one per map),
 *   then it pops 20 / peeks 30 from the queue (20 30 10 20) and pops 20 / peeks 10 from the
 *   stack (10 20 10 20, top last).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 4);
	__type(value, __u64);
} fifo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 4);
	__type(value, __u64);
} lifo SEC(".maps");

struct qs_args {
	__u64 queue_pop;
	__u64 queue_peek;
	__u64 stack_pop;
	__u64 stack_peek;
};

SEC("syscall")
int fifo_lifo(struct qs_args *ctx)
{
	__u64 values[3] = { 10, 20, 30 }, v;
	int failed = 0;

	for (int i = 0; i < 3; i++) {
		if (bpf_map_push_elem(&fifo, &values[i], 0))
			failed++;
		if (bpf_map_push_elem(&lifo, &values[i], 0))
			failed++;
	}
	if (bpf_map_pop_elem(&fifo, &v) == 0)
		ctx->queue_pop = v;
	if (bpf_map_peek_elem(&fifo, &v) == 0)
		ctx->queue_peek = v;
	if (bpf_map_pop_elem(&lifo, &v) == 0)
		ctx->stack_pop = v;
	if (bpf_map_peek_elem(&lifo, &v) == 0)
		ctx->stack_peek = v;
	return failed;
}
