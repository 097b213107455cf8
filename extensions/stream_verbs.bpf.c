/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * stream_verbs.bpf.c — an sk_skb stream-verdict program over framed text requests.
 *
 * Demonstrates: BPF_PROG_TYPE_SK_SKB with direct packet access to one framed message,
 * rewriting the message in place, SK_PASS / SK_DROP verdicts, a per-CPU counter next to a
 * plain array indexed by bpf_get_smp_processor_id(), reading skb->len.
 *
 * Program `verbs` (SEC("sk_skb/stream_verdict")), one request per invocation, e.g.
 * "get user:42\r\n":
 *   - a request whose verb is "flush" (the first five bytes) -> SK_DROP (0), stats[1] += 1;
 *   - otherwise the verb (the bytes before the first space, at most 16) is upper-cased in
 *     place -> SK_PASS (1), stats[0] += 1; "get user:42\r\n" passes as "GET user:42\r\n".
 *   - every request: seen[0] (per-CPU array) += 1, by_cpu[bpf_get_smp_processor_id()] += 1
 *     (array of 64), stats[2] += skb->len.
 *   An empty message passes unchanged.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

#define SK_DROP 0
#define SK_PASS 1
#define MAX_VERB 16

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} by_cpu SEC(".maps");

static __always_inline void add(void *map, __u32 key, __u64 delta)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, delta);
}

SEC("sk_skb/stream_verdict")
int verbs(struct __sk_buff *skb)
{
	char *data = (void *)(long)skb->data;
	char *data_end = (void *)(long)skb->data_end;
	__u32 zero = 0;
	__u64 *mine = bpf_map_lookup_elem(&seen, &zero);
	int i;

	if (mine)
		*mine += 1;
	add(&by_cpu, bpf_get_smp_processor_id(), 1);
	add(&stats, 2, skb->len);
	if (data + 5 <= data_end && data[0] == 'f' && data[1] == 'l' && data[2] == 'u'
	    && data[3] == 's' && data[4] == 'h') {
		add(&stats, 1, 1);
		return SK_DROP;
	}
	for (i = 0; i < MAX_VERB; i++) {
		char *c = data + i;

		if (c + 1 > data_end || *c == ' ')
			break;
		if (*c >= 'a' && *c <= 'z')
			*c -= 'a' - 'A';
	}
	add(&stats, 0, 1);
	return SK_PASS;
}
