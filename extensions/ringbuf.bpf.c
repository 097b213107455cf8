/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ringbuf.bpf.c — a ring buffer: reserve/submit, reserve/discard and output.
 *
 * Demonstrates: BPF_MAP_TYPE_RINGBUF, bpf_ringbuf_reserve (a referenced record that must
 * be submitted or discarded on every path), bpf_ringbuf_submit, bpf_ringbuf_discard,
 * bpf_ringbuf_output (copying from the stack), bpf_ringbuf_query, a .bss sequence number.
 *
 * Program `emit` (SEC("syscall"), ctx = struct ringbuf_args):
 *   value != 0: writes two 16-byte events {seq, kind, value}: kind 1 through
 *     reserve+submit, kind 2 through output; retval 2.
 *   value == 0: reserves a record and discards it; retval 0.
 *   ctx.avail = bytes waiting in the buffer afterwards (each record takes an 8-byte header
 *   plus 16 bytes): fresh object, value 7 -> retval 2, avail 48; again -> avail 96;
 *   value 0 -> retval 0, avail 120 (a discarded record keeps its place until the consumer
 *   skips it).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096 * 4); /* bytes, a power-of-two number of pages */
} events SEC(".maps");

struct event {
	__u64 seq;
	__u32 kind;
	__u32 value;
};

struct ringbuf_args {
	__u32 value; /* in */
	__u32 pad;
	__u64 avail; /* out */
};

__u64 seq; /* .bss */

SEC("syscall")
int emit(struct ringbuf_args *ctx)
{
	struct event *e, copy;
	int ret = 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return -1;
	if (ctx->value == 0) {
		bpf_ringbuf_discard(e, 0);
	} else {
		e->seq = ++seq;
		e->kind = 1;
		e->value = ctx->value;
		bpf_ringbuf_submit(e, 0);

		copy.seq = ++seq;
		copy.kind = 2;
		copy.value = ctx->value;
		if (bpf_ringbuf_output(&events, &copy, sizeof(copy), 0))
			return -2;
		ret = 2;
	}
	ctx->avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	return ret;
}
