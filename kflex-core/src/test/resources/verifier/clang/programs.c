// Programs compiled with clang -O2 -target bpf; the verifier tests run on their machine code
// (build.sh regenerates the .hex files). They use no maps, so no relocations are needed.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp/dns")
int drop_dns(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > end)
        return XDP_ABORTED;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_ABORTED;
    if (ip->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if ((void *)(udp + 1) > end)
        return XDP_ABORTED;
    return udp->dest == bpf_htons(53) ? XDP_DROP : XDP_PASS;
}

SEC("xdp/sum")
int checksum_prefix(struct xdp_md *ctx)
{
    unsigned char *data = (void *)(long)ctx->data;
    unsigned char *end = (void *)(long)ctx->data_end;
    unsigned int sum = 0;
    for (int i = 0; i < 64; i++) {
        if (data + i + 1 > end)
            break;
        sum += data[i];
    }
    return sum & 1 ? XDP_PASS : XDP_DROP;
}

SEC("syscall/counted")
int counted(void *ctx)
{
    unsigned long s = 1;
#pragma nounroll
    for (unsigned int i = 0; i < 100000; i++)
        s = (s << 3) ^ (s >> 7) ^ i;
    return s;
}

SEC("syscall/arg")
int up_to_argument(unsigned long *ctx)
{
    unsigned long n = ctx[0], s = 0;
#pragma nounroll
    for (unsigned long i = 0; i < n; i++)
        s = s * 31 + i;
    return s;
}

struct counter {
    struct bpf_spin_lock lock;
    __u32 pad;
    __u64 packets;
    __u64 bytes;
    __u64 history[8];
};

struct event {
    __u32 saddr;
    __u32 len;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct counter);
} counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp/count")
int count_sources(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end)
        return XDP_PASS;
    __u32 key = ip->saddr;
    struct counter *c = bpf_map_lookup_elem(&counters, &key);
    if (!c) {
        struct counter fresh = {};
        bpf_map_update_elem(&counters, &key, &fresh, BPF_NOEXIST);
        return XDP_PASS;
    }
    __u32 len = (__u32)(end - data);
    bpf_spin_lock(&c->lock);
    c->packets++;
    c->bytes += len;
    c->history[c->packets & 7] = len;
    bpf_spin_unlock(&c->lock);
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) {
        e->saddr = key;
        e->len = len;
        bpf_ringbuf_submit(e, 0);
    }
    return XDP_PASS;
}

// The KFlex heap as a Linux arena: a list walked with pointers that live in the heap.
#define __arena __attribute__((address_space(1)))

struct {
    __uint(type, 33 /* BPF_MAP_TYPE_ARENA */);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 16);
} heap SEC(".maps");

struct node {
    struct node __arena *next;
    long value;
};

struct node __arena *list_head;

SEC("syscall/walk")
int walk(void *ctx)
{
    long sum = 0;
    for (struct node __arena *n = list_head; n; n = n->next)
        sum += n->value;
    return sum;
}
