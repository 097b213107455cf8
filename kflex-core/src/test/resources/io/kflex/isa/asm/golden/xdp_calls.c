#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64);} m SEC(".maps");
extern int bpf_kfunc_call_test(int x) __ksym;
static __attribute__((noinline)) int sub(int a, int b) { return a * b + (a >> 3); }
static __attribute__((noinline)) int sub2(int a) { return a ^ 77; }
int g;
SEC("xdp") int prog(struct xdp_md *ctx) {
  __u32 k = 1; __u64 *v = bpf_map_lookup_elem(&m, &k);
  if (!v) return 0;
  __sync_fetch_and_add(v, 3);
  g = sub(ctx->data, ctx->data_end) + sub2(g);
  return bpf_kfunc_call_test(g) + (long)&sub2;
}
char LICENSE[] SEC("license") = "GPL";
