#!/usr/bin/env python3
"""Loads every committed object into the running Linux kernel and test-runs its programs.

    extensions/tools/linux-check.py [--markdown]

For each objects/*.o: `bpftool prog loadall` (objects with a heap get a pre-mapped arena,
see linux.py), then the BPF_PROG_TEST_RUN cases below, each compared with the result the
source's header comment promises. Prints one line per object and case (or markdown tables
for extensions/README.md with --markdown). Needs root, bpftool, a bpffs at /sys/fs/bpf and
Linux >= 6.9. Exit status 1 if a case gives an unexpected result. Standard library only.
"""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OBJECTS = os.path.join(HERE, "..", "objects")
sys.path.insert(0, HERE)
import linux  # noqa: E402  (the bpf() helpers beside this script)

# Where programs and maps are pinned: a directory on a bpffs (KFLEX_BPFFS overrides the default).
BPFFS = os.environ.get("KFLEX_BPFFS", "/sys/fs/bpf/kflex-check")

# Arena pages per object with a kflex_heap() (its size / 4096).
ARENA_PAGES = {"heap_list.bpf.o": 256, "unbounded_walk.bpf.o": 256,
               "bench_list_walk.bpf.o": 1024, "kflex_alloc.bpf.o": 4096,
               "kflex_locks.bpf.o": 16, "count_sketch.bpf.o": 256, "rb_tree.bpf.o": 1024}


def pack(fmt, *values):
    return struct.pack(fmt, *values).hex()


def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(proto=17, dport=53, sport=4242, ethertype=0x0800, ihl=5, payload=b"hello",
          saddr="10.0.0.1", daddr="10.0.0.2", cut=None):
    """Ethernet/IPv4/UDP (or other protocol) frame, padded to 64 bytes unless cut."""
    eth = bytes.fromhex("020000000002" "020000000001") + struct.pack("!H", ethertype)
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    options = bytes(4 * (ihl - 5)) if ihl >= 5 else b""
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(options) + len(udp), 1, 0, 64,
                     proto, 0, socket.inet_aton(saddr), socket.inet_aton(daddr))
    ip = ip[:10] + struct.pack("!H", csum(ip + options)) + ip[12:] + options
    f = eth + ip + udp
    f = f + bytes(max(0, 64 - len(f)))
    return f[:cut] if cut is not None else f


def xdp_run(pin, data):
    """bpftool prog run with data_in; returns (retval or error text, data_out)."""
    with tempfile.TemporaryDirectory() as d:
        din, dout = os.path.join(d, "in"), os.path.join(d, "out")
        with open(din, "wb") as f:
            f.write(data)
        r = subprocess.run(["bpftool", "prog", "run", "pinned", pin, "data_in", din,
                            "data_out", dout], capture_output=True, text=True)
        m = re.search(r"Return value: (-?\d+)", r.stdout)
        if not m:
            return "error: " + (r.stderr.strip().splitlines() or ["?"])[-1], b""
        out = open(dout, "rb").read() if os.path.exists(dout) else b""
        return int(m.group(1)), out


def syscall_run(pin, ctx_hex):
    try:
        linux_out = subprocess.run([sys.executable, os.path.join(HERE, "linux.py"), "run", pin,
                                    ctx_hex], capture_output=True, text=True, check=True).stdout
    except subprocess.CalledProcessError as e:
        return "error: " + e.stderr.strip().splitlines()[-1], ""
    m = re.match(r"retval=(-?\d+) ctx=([0-9a-f]*)", linux_out)
    return int(m.group(1)), m.group(2)


def echo_swapped(out):
    f = frame(dport=7)
    return (out[0:6] == f[6:12] and out[6:12] == f[0:6] and out[26:30] == f[30:34]
            and out[30:34] == f[26:30] and out[34:36] == f[36:38] and out[36:38] == f[34:36])


# (program, kind, input, expected retval, expected ctx-out hex or None, what)
# kind: "xdp" (input = frame bytes) / "tc" (input = frame bytes) / "sys" (input = ctx hex)
CASES = {
    "xdp_parse.bpf.o": [
        ("xdp_udp", "xdp", frame(dport=7), 3, echo_swapped, "UDP to port 7 -> TX, swapped"),
        ("xdp_udp", "xdp", frame(dport=9), 1, None, "UDP to port 9 -> DROP"),
        ("xdp_udp", "xdp", frame(dport=53), 2, None, "UDP to port 53 -> PASS"),
        ("xdp_udp", "xdp", frame(proto=6), 2, None, "TCP -> PASS"),
        ("xdp_udp", "xdp", frame(ethertype=0x0806), 2, None, "ARP -> PASS"),
        ("xdp_udp", "xdp", frame(ihl=4), 1, None, "IHL 4 -> DROP"),
        ("xdp_udp", "xdp", frame(ihl=6, dport=7), 3, None, "IHL 6 (options), port 7 -> TX"),
        ("xdp_udp", "xdp", frame(cut=38), 1, None, "38-byte frame, UDP cut -> DROP"),
        ("xdp_udp", "xdp", frame(cut=20), 1, None, "20-byte frame, IPv4 cut -> DROP"),
    ],
    "maps_btf.bpf.o": [
        ("account", "sys", pack("<IIQ", 5, 100, 0), 1, pack("<IIQ", 5, 100, 100), "key 5 len 100"),
        ("account", "sys", pack("<IIQ", 5, 100, 0), 2, pack("<IIQ", 5, 100, 200), "again"),
        ("account", "sys", pack("<IIQ", 0, 5, 0), 0, None, "key 0: delete flow 5"),
        ("account", "sys", pack("<IIQ", 0, 5, 0), -2, None, "delete flow 5 again"),
        ("account", "sys", pack("<IIQ", 5, 100, 0), 1, pack("<IIQ", 5, 100, 100), "key 5 anew"),
    ],
    "maps_of_maps.bpf.o": [
        ("bump_inner", "sys", pack("<IIQ", slot, add, 0), r, pack("<IIQ", slot, add, h), what)
        for slot, add, r, h, what in ((0, 5, 5, 0, "slot 0 add 5"), (0, 5, 10, 0, "again"),
                                      (1, 3, 3, 3, "slot 1 add 3"), (2, 1, -2, 0, "empty slot"),
                                      (9, 1, -2, 0, "slot out of range"))
    ],
    "maps_queue_stack.bpf.o": [
        ("fifo_lifo", "sys", pack("<QQQQ", 0, 0, 0, 0), 0, pack("<QQQQ", 10, 20, 30, 20), "first run"),
        ("fifo_lifo", "sys", pack("<QQQQ", 0, 0, 0, 0), 2, pack("<QQQQ", 20, 30, 20, 10), "second run"),
    ],
    "globals.bpf.o": [
        ("globals", "sys", pack("<II", 0, 0), 1233, pack("<II", 0, 1), "first run, index 0"),
        ("globals", "sys", pack("<II", 1, 0), 2234, pack("<II", 1, 2), "second run, index 1"),
    ],
    "subprogs.bpf.o": [
        ("subprogs", "sys", pack("<ii", 5, 0), 23, pack("<ii", 5, 5), "x = 5"),
        ("subprogs", "sys", pack("<ii", -3, 0), -1, pack("<ii", -3, -3), "x = -3"),
        ("subprogs", "sys", pack("<ii", 1000, 0), 1000993, pack("<ii", 1000, 100), "x = 1000"),
    ],
    "loop_bounded.bpf.o": [
        ("collatz", "sys", pack("<QQ", x, 0), r, pack("<QQ", x, r), f"x = {x}")
        for x, r in ((27, 111), (1, 0), (6, 8), (0, 1000))
    ],
    "loop_can_loop.bpf.o": [
        ("collatz_can_loop", "sys", pack("<QQQ", x, 0, 0), r, pack("<QQQ", x, 0, r), f"x = {x}")
        for x, r in ((27, 111), (837799, 524), (1, 0))
    ] + [
        ("gcd_cond_break", "sys", pack("<QQQ", a, b, 0), s, pack("<QQQ", a, b, g), f"gcd({a}, {b})")
        for a, b, g, s in ((48, 18, 6, 3), (1071, 462, 21, 3), (9, 0, 9, 0))
    ],
    "loop_bpf_loop.bpf.o": [
        ("sum_squares", "sys", pack("<IIQ", n, lim, 0), r, pack("<IIQ", n, lim, s), f"n = {n}, limit {lim}")
        for n, lim, s, r in ((10, 0, 285, 10), (100, 0, 328350, 100), (100, 1000, 1015, 15))
    ],
    "loop_bpf_for.bpf.o": [
        ("triangle", "sys", pack("<iiqQ", a, b, 0, 0), r, pack("<iiqQ", a, b, s, p), f"[{a}, {b})")
        for a, b, s, p, r in ((0, 100, 4950, 4950, 100), (5, 3, 0, 0, 0), (-3, 3, -3, 15, 6))
    ],
    "tail_call.bpf.o": [
        ("dispatch", "xdp", bytes([b]) + bytes(63), r, None, f"first byte {b}")
        for b, r in ((0, 1), (1, 3), (2, 2), (3, 1), (4, 2), (255, 2))
    ],
    "heap_list.bpf.o": [
        ("build_and_walk", "sys", pack("<IIQ", n, 0, 0), c, pack("<IIQ", n, c, s), f"n = {n}")
        for n, c, s in ((10, 10, 55), (64, 64, 2080), (0, 0, 0))
    ],
    "count_sketch.bpf.o": [
        ("cs_add", "sys", pack("<Qq", k, c), 0, pack("<Qq", k, c), f"add({k}, {c})")
        for k, c in ((7, 5), (7, 2), (9, 1), (11, -3), (42, 2**31 - 1), (42, 2**31 - 1), (2**40, 2**32 + 6))
    ] + [
        # 42: two adds of 2^31 - 1 wrap the 32-bit counters to -2; 2^40: the count is cut to 32 bits
        ("cs_estimate", "sys", pack("<Qq", k, 0), 0, pack("<Qq", k, e), f"estimate({k})")
        for k, e in ((7, 7), (9, 1), (11, -3), (13, 0), (42, -2), (2**40, 6))
    ],
    "spin_lock_map.bpf.o": [
        ("locked_add", "tc", bytes(64), 0, None, "64-byte frame"),
        ("locked_add", "tc", bytes(64), 0, None, "again"),
        ("locked_read", "tc", bytes(64), 2, None, "count after two adds"),
    ],
    "sk_lookup.bpf.o": [
        ("udp_owner", "xdp", frame(saddr="127.0.0.1", daddr="127.0.0.1", dport=9), 1, None,
         "nothing bound at 127.0.0.1:9 -> DROP"),
        ("udp_owner", "xdp", "BOUND", 2, None, "UDP socket bound at 127.0.0.1:PORT -> PASS"),
        ("udp_owner", "xdp", frame(proto=6), 2, None, "TCP -> PASS"),
    ],
    "ringbuf.bpf.o": [
        ("emit", "sys", pack("<IIQ", 7, 0, 0), 2, pack("<IIQ", 7, 0, 48), "value 7"),
        ("emit", "sys", pack("<IIQ", 7, 0, 0), 2, pack("<IIQ", 7, 0, 96), "again"),
        ("emit", "sys", pack("<IIQ", 0, 0, 0), 0, pack("<IIQ", 0, 0, 120), "value 0 (discard)"),
    ],
    "syscall_ctx.bpf.o": [
        ("calc", "sys", pack("<IIqqq", op, 0, a, b, 0), 0, pack("<IIqqq", op, 0, a, b, r), what)
        for op, a, b, r, what in (
            (3, -7, 2, -3, "sdiv -7 / 2"), (4, -7, 2, -1, "smod -7 % 2"),
            (3, 5, 0, 0, "sdiv by 0"), (4, -7, 0, -7, "smod by 0"),
            (5, -1, 2, 0x7FFFFFFFFFFFFFFF, "udiv -1 / 2"),
            (6, 0x0102030405060708, 0, 0x0807060504030201, "bswap64"),
            (7, 0x80, 0, -128, "movsx s8"), (9, -256, 4, -16, "arsh"))
    ] + [("calc", "sys", pack("<IIqqq", 42, 0, 1, 2, 0), -22, None, "unknown op")],
    "bench_hashmix.bpf.o": [
        (p, "sys", pack("<QIIQ", 0, n, 0, 0), n, pack("<QIIQ", 0, n, 0, r), f"seed 0, {n} iterations")
        for p in ("hashmix_bounded", "hashmix_can_loop", "hashmix_bpf_loop", "hashmix_bpf_for")
        for n, r in ((1, 0xE220A8397B1DCDAF), (1000, 0xA17AC4D60A6B3F89))
    ],
    "bench_list_walk.bpf.o": [
        ("list_walk", "sys", pack("<IIIIQQ", 0, 0, 0, 0, 0, 0), 0, None, "walk before build"),
        ("list_build", "sys", pack("<IIIIQQ", 65536, 42, 0, 0, 0, 0), 65536, None, "build 65536, seed 42"),
        ("list_walk", "sys", pack("<IIIIQQ", 0, 0, 0, 0, 0, 0), 65536,
         pack("<IIIIQQ", 0, 0, 0, 0, 65536, 2147450880), "walk 65536"),
        ("list_build", "sys", pack("<IIIIQQ", 1000, 0, 0, 0, 0, 0), 1000, None, "build 1000, seed 0"),
        ("list_walk", "sys", pack("<IIIIQQ", 0, 0, 0, 0, 0, 0), 1000,
         pack("<IIIIQQ", 0, 0, 0, 0, 1000, 499500), "walk 1000"),
        ("list_build", "sys", pack("<IIIIQQ", 0, 0, 0, 0, 0, 0), -22, None, "n = 0 rejected"),
    ],
    "multi_prog.bpf.o": [
        ("mp_xdp", "xdp", bytes(64), 2, None, "XDP_PASS"),
        ("mp_tc", "tc", bytes(64), 0, None, "TC_ACT_OK"),
        ("mp_socket", "tc", bytes(64), 50, None, "64-byte frame, Ethernet header pulled"),
        ("mp_report", "sys", pack("<QQQ", 0, 0, 0), 3, pack("<QQQ", 1, 1, 1), "counters"),
    ],
    "xdp_pong.bpf.o": [
        ("xdp_pong", "xdp", frame(dport=7000, sport=40000, payload=b"ping 42"), 3, None, "ping 42 -> TX pong"),
        ("xdp_pong", "xdp", frame(), 2, None, "hello -> PASS"),
        ("xdp_pong", "xdp", frame(cut=36), 1, None, "truncated UDP -> DROP"),
    ],
    "xdp_steer.bpf.o": [
        ("steer_v1", "xdp", frame(payload=b"xx 17"), 3, None, "xx 17 -> TX, stamped v1"),
        ("steer_v2", "xdp", frame(payload=b"xx 17"), 3, None, "xx 17 -> TX, stamped v2"),
        ("steer_v1", "xdp", frame(payload=b"drop it"), 1, None, "drop -> DROP"),
        ("steer_v1", "xdp", frame(payload=b"redirect me"), 4, None, "redirect -> REDIRECT"),
        ("steer_v1", "xdp", frame(proto=6), 2, None, "TCP -> PASS"),
        ("steer_v1", "xdp", frame(cut=40), 0, None, "truncated -> ABORTED"),
    ],
    "xdp_adjust.bpf.o": [
        ("adjust", "xdp", struct.pack("<hhb3x", h, t, m) + bytes(56), 2, None, what)
        for h, t, m, what in ((-14, 0, 0, "head -14 (grow the front)"), (51, 0, 0, "head 51: -EINVAL, still PASS"),
                              (0, 100, 0, "tail 100"), (0, 0, -36, "meta -36 (more than 32 bytes)"))
    ],
    "bench_memcached_get.bpf.o": [
        # The cache is empty here (kflex bench fills it and times a hit): every GET misses.
        ("memcached_get", "xdp", frame(dport=11211, payload=bytes(8) + b"get key-0042\r\n"), 2, None,
         "GET key-0042, empty cache -> PASS (miss)"),
        ("memcached_get", "xdp", frame(dport=11211, payload=bytes(8) + b"set k 0 0 1\r\n"), 2, None,
         "not a GET -> PASS"),
        ("memcached_get", "xdp", frame(dport=53), 2, None, "UDP to port 53 -> PASS"),
    ],
    "bmc_cache.bpf.o": [
        # The cache is empty here (the memcached server fills it after answering a GET): every GET misses.
        ("bmc_udp", "xdp", frame(dport=11211, payload=b"\0\1\0\0\0\1\0\0get k\r\n"), 2, None,
         "GET k, empty cache -> PASS (miss)"),
        ("bmc_udp", "xdp", frame(dport=11211, payload=b"\0\1\0\0\0\1\0\0set k 0 0 1\r\nx\r\n"), 2, None,
         "SET k: entry invalidated -> PASS"),
        ("bmc_udp", "xdp", frame(dport=11211, payload=b"\0\1\0\0\0\1\0\0version\r\n"), 2, None,
         "another command -> PASS"),
    ],
    "xdp_count.gcc.o": [
        ("xdp_count", "xdp", bytes(64), 1, None, "64 zero bytes -> DROP"),
        ("xdp_count", "xdp", bytes(3) + b"\x01" + bytes(60), 2, None, "byte 3 set -> PASS"),
    ],
}


def load(obj, path, maps):
    args = ["bpftool", "prog", "loadall", os.path.join(OBJECTS, obj), path]
    if obj not in ARENA_PAGES:
        # Pinned maps keep prog arrays populated after bpftool exits. (An object whose arena
        # is reused from a pin cannot also pin its maps; its programs hold them instead.)
        args += ["pinmaps", maps]
    else:
        arena = path + "_arena"
        linux.arena(arena, ARENA_PAGES[obj])
        args += ["map", "name", "kflex_heap_map", "pinned", arena]
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode == 0:
        return None
    lines = [l for l in r.stderr.splitlines()
             if l and not l.startswith(("Warning", "If it used", "libbpf: failed to load object",
                                        "Error: failed", "-- END", "processed", "verification time",
                                        "stack depth"))]
    for pattern in (r"too large|infinite loop|back-edge", r"not found|not supported",
                    r"invalid|unbounded|R\d+ "):
        interesting = [l for l in lines if re.search(pattern, l) and "failed to load:" not in l]
        if interesting:
            return interesting[-1].replace("libbpf: ", "")
    return (lines or ["load failed"])[-1].replace("libbpf: ", "")


def run_case(pin, kind, data):
    if kind == "sys":
        return syscall_run(pin, data)
    if data == "BOUND":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        try:
            port = s.getsockname()[1]
            return xdp_run(pin, frame(saddr="127.0.0.1", daddr="127.0.0.1", dport=port))
        finally:
            s.close()
    return xdp_run(pin, data)


def main():
    markdown = "--markdown" in sys.argv
    shutil.rmtree(BPFFS, ignore_errors=True)
    os.makedirs(BPFFS)
    failures = 0
    verdicts, results = [], []
    try:
        for obj in sorted(os.listdir(OBJECTS)):
            if not obj.endswith(".o"):
                continue
            # bpffs refuses names with dots
            path = os.path.join(BPFFS, obj.replace(".", "_"))
            maps = path + "_maps"
            error = load(obj, path, maps)
            verdicts.append((obj, error))
            if error:
                continue
            for prog, kind, data, want, want_ctx, what in CASES.get(obj, []):
                got, out = run_case(os.path.join(path, prog), kind, data)
                ok = got == want
                if ok and want_ctx is not None:
                    ok = want_ctx(out) if callable(want_ctx) else out == want_ctx
                failures += not ok
                shown = out if isinstance(out, str) else ""
                results.append((obj, prog, what, got, shown, ok))
    finally:
        shutil.rmtree(BPFFS, ignore_errors=True)

    if markdown:
        print("| object | loads in Linux | rejection |\n|---|---|---|")
        for obj, error in verdicts:
            print(f"| `{obj}` | {'no' if error else 'yes'} | {error or ''} |")
        print("\n| object | program | input | retval | ctx out (hex) |\n|---|---|---|---|---|")
        for obj, prog, what, got, out, ok in results:
            print(f"| `{obj}` | `{prog}` | {what} | {got}{'' if ok else ' (UNEXPECTED)'} | "
                  f"{'`' + out + '`' if out else ''} |")
    else:
        for obj, error in verdicts:
            print(f"{obj}: {'REJECTED: ' + error if error else 'loaded'}")
        for obj, prog, what, got, out, ok in results:
            print(f"  {'ok  ' if ok else 'FAIL'} {obj} {prog} [{what}] retval={got} {out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
