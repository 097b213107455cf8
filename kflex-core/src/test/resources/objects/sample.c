// A libbpf-style object exercising what the loader handles: BTF-defined maps, a map of maps with
// an inner-map template, a prog array with initial values, global data in .data/.bss/.rodata,
// static and global subprograms, a kfunc extern (strong and weak) and several programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct value { __u64 packets; __u32 bytes; __u32 pad; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct value);
} counters SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps");

int tail(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [2] = (void *)&tail },
};

int hits = 7;
__u64 zeroed;
const volatile __u32 limit = 42;

extern int bpf_kflex_probe(int x) __ksym;
extern int bpf_kflex_maybe(int x) __ksym __weak;

static __attribute__((noinline)) int twice(int x)
{
	return x * 2 + limit;
}

__attribute__((noinline)) int helper_global(int x)
{
	return twice(x) + 1;
}

SEC("xdp")
int count(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct value *v = bpf_map_lookup_elem(&counters, &key);
	if (v)
		v->packets++;
	hits++;
	zeroed += helper_global(ctx->ingress_ifindex);
	return XDP_PASS;
}

SEC("xdp")
int tail(struct xdp_md *ctx)
{
	return twice(ctx->rx_queue_index) + bpf_kflex_probe(1);
}

SEC("syscall")
int probe(void *ctx)
{
	if (bpf_kflex_maybe)
		return bpf_kflex_maybe(3);
	return limit;
}

char LICENSE[] SEC("license") = "GPL";
