// A program in a section whose type the loader does not know (kprobes have no meaning in a host).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/do_sys_open")
int probe_open(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
