/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * cancel_demo.bpf.c — a runaway extension that holds host resources, and a well-behaved one
 * that needs the same resources.  KFlex only.
 *
 * Demonstrates cancellation end to end: the runaway program acquires one resource of every
 * kind the host tracks — a socket reference (bpf_sk_lookup_udp), a ring-buffer record
 * (bpf_ringbuf_reserve), two heap spin locks (kflex_spin_lock) and a bpf_spin_lock in a map
 * value — and then loops on a map word nobody sets. The loop has no bound the verifier can
 * prove, so KFlex accepts it and makes its back-edge a cancellation point (Linux rejects the
 * object: kflex_* kfuncs, and the loop). When the watchdog cancels it, the object table of
 * that point is executed: the socket reference is dropped, the record discarded, the locks
 * freed; `take_locks` then takes the same locks as if the runaway had never run.
 *
 * The two heap locks live in one heap object (struct demo) that the first run of either
 * program allocates (run take_locks once before running programs concurrently); its heap
 * address is kept in .bss (`state`) and reported in ctx.state. The program only hands that
 * address to kflex_spin_lock()/kflex_spin_unlock() (which take a heap address as a number
 * as well as a pointer), it never dereferences the heap itself.
 *
 * Program `hold_and_spin` (SEC("xdp")): for an Ethernet/IPv4/UDP frame, looks up the
 * host's UDP socket the frame is addressed to (none found is fine), reserves a 16-byte
 * record in `events`, takes demo.a, demo.b and the bpf_spin_lock of stats[0], then spins
 * until stats[0].stop != 0 (nobody sets it unless a test does: a cancellation ends the
 * run). With stop set by the host: adds its iterations to stats[0].spins, releases
 * everything, submits the record {spins, 0}, XDP_PASS (2). XDP_ABORTED (0): truncated
 * frame or out of heap memory; XDP_DROP (1): the ring buffer is full.
 *
 * Program `take_locks` (SEC("syscall"), ctx = struct demo_args): takes demo.a, demo.b and
 * the lock of stats[0], counts the run in stats[0].runs, releases them; retval = runs after
 * this run (1, 2, 3, ... on a fresh object; -1 out of heap memory).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "kflex.h"

char LICENSE[] SEC("license") = "GPL";

#ifndef BPF_F_CURRENT_NETNS
#define BPF_F_CURRENT_NETNS (-1L)
#endif

kflex_heap(1 << 16);

struct demo { /* in the heap */
	kflex_spinlock_t a;
	kflex_spinlock_t b;
};

#define LOCK_A(st) ((kflex_spinlock_t __arena *)(st))
#define LOCK_B(st) ((kflex_spinlock_t __arena *)((st) + sizeof(kflex_spinlock_t)))

struct stat {
	struct bpf_spin_lock lock;
	__u32 stop;  /* set by the host to let hold_and_spin return */
	__u64 runs;  /* runs of take_locks */
	__u64 spins; /* iterations of hold_and_spin's loop, of runs that returned */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stat);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct demo_args {
	__u64 state; /* out: heap address of struct demo */
};

__u64 state; /* .bss */

static __always_inline __u64 demo_state(void)
{
	__u64 st = state;

	if (!st) {
		st = (__u64)kflex_malloc(sizeof(struct demo));
		if (st)
			state = st;
	}
	return st;
}

static __always_inline int hold_and_spin_on(void *ctx, struct bpf_sock_tuple *tuple, __u64 st)
{
	struct bpf_sock *sk;
	struct stat *s;
	__u64 *record;
	__u64 spins = 0;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&stats, &zero);
	if (!s)
		return -1;
	sk = bpf_sk_lookup_udp(ctx, tuple, sizeof(tuple->ipv4), BPF_F_CURRENT_NETNS, 0);
	record = bpf_ringbuf_reserve(&events, 16, 0);
	if (!record) {
		if (sk)
			bpf_sk_release(sk);
		return -2;
	}
	kflex_spin_lock(LOCK_A(st));
	kflex_spin_lock(LOCK_B(st));
	bpf_spin_lock(&s->lock);
	/* No bound, no can_loop: the back-edge is a cancellation point. */
	while (!*(volatile __u32 *)&s->stop)
		spins++;
	s->spins += spins;
	bpf_spin_unlock(&s->lock);
	kflex_spin_unlock(LOCK_B(st));
	kflex_spin_unlock(LOCK_A(st));
	record[0] = spins;
	record[1] = 0;
	bpf_ringbuf_submit(record, 0);
	if (sk)
		bpf_sk_release(sk);
	return 0;
}

SEC("xdp")
int hold_and_spin(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct bpf_sock_tuple tuple = {};
	__u64 st;
	int err;

	if ((void *)(udp + 1) > data_end)
		return XDP_ABORTED;
	st = demo_state();
	if (!st)
		return XDP_ABORTED;
	tuple.ipv4.saddr = ip->saddr;
	tuple.ipv4.daddr = ip->daddr;
	tuple.ipv4.sport = udp->source;
	tuple.ipv4.dport = udp->dest;
	err = hold_and_spin_on(ctx, &tuple, st);
	if (err == -2)
		return XDP_DROP;
	return err ? XDP_ABORTED : XDP_PASS;
}

SEC("syscall")
int take_locks(struct demo_args *ctx)
{
	__u64 st = demo_state();
	struct stat *s;
	__u32 zero = 0;
	__u64 runs;

	if (!st)
		return -1;
	ctx->state = st;
	s = bpf_map_lookup_elem(&stats, &zero);
	if (!s)
		return -1;
	kflex_spin_lock(LOCK_A(st));
	kflex_spin_lock(LOCK_B(st));
	bpf_spin_lock(&s->lock);
	runs = ++s->runs;
	bpf_spin_unlock(&s->lock);
	kflex_spin_unlock(LOCK_B(st));
	kflex_spin_unlock(LOCK_A(st));
	return runs;
}
