/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * spin_lock_map.bpf.c — bpf_spin_lock in a map value.
 *
 * Demonstrates: a struct bpf_spin_lock field in a BTF-described map value (the verifier
 * finds it through the value's BTF), bpf_spin_lock/bpf_spin_unlock (helpers 93/94) around
 * a read-modify-write, no helper calls while the lock is held, the lock released on every
 * path before exit.
 *
 * Program `locked_add` (SEC("tc"), i.e. sched_cls; the packet is not inspected): adds the
 * frame length to account.total and increments account.count under the lock; returns
 * TC_ACT_OK (0). After k runs with 64-byte frames: count k, total 64k (see the map).
 *
 * Program `locked_read` (SEC("tc")): returns account.count read under the lock.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct account {
	struct bpf_spin_lock lock;
	__u32 count;
	__u64 total;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct account);
} accounts SEC(".maps");

SEC("tc")
int locked_add(struct __sk_buff *skb)
{
	__u32 key = 0, len = skb->len;
	struct account *a = bpf_map_lookup_elem(&accounts, &key);

	if (!a)
		return 0;
	bpf_spin_lock(&a->lock);
	a->count += 1;
	a->total += len;
	bpf_spin_unlock(&a->lock);
	return 0;
}

SEC("tc")
int locked_read(struct __sk_buff *skb)
{
	__u32 key = 0, count;
	struct account *a = bpf_map_lookup_elem(&accounts, &key);

	if (!a)
		return -1;
	bpf_spin_lock(&a->lock);
	count = a->count;
	bpf_spin_unlock(&a->lock);
	return count;
}
