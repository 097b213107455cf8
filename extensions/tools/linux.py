#!/usr/bin/env python3
"""Small bpf() helpers for checking extension objects against the running Linux kernel.

    linux.py arena PIN_PATH PAGES
        Create an arena map of PAGES pages (the attributes kflex_heap() declares), give it
        its user address with a first mmap(), and pin it. Linux refuses a program that uses
        an arena until the arena's user address is known; libbpf >= 1.4 mmaps arenas itself,
        older loaders (bpftool 7.1 / libbpf 1.1) do not. Then:
            bpftool prog loadall OBJ DIR map name kflex_heap_map pinned PIN_PATH

    linux.py run PROG_PIN CTX_HEX
        BPF_PROG_TEST_RUN of a pinned SEC("syscall") program with ctx_in = CTX_HEX (bytes in
        hex). Prints `retval=N ctx=HEX` (the kernel writes the context back in place). bpftool
        cannot run syscall programs: it always passes repeat/ctx_out, which they reject.

    linux.py bench OBJ PROG [--ctx HEX | --data HEX] [--repeat N] [--rounds R]
                   [--arena PAGES] [--setup PROG=CTX_HEX]... [--fill MAP=FILE]...
        Loads OBJ (bpftool prog loadall into a private bpffs directory; an arena of PAGES
        pages pre-mapped as above), runs each --setup program once (syscall context in hex),
        fills hash maps from FILE (one "KEY_HEX VALUE_HEX" per line), then times PROG
        for R rounds of N runs and prints one JSON object: the kernel-measured median
        nanoseconds per run over the rounds, every round's value, the last retval and how it
        was measured. Programs that take a packet (--data) are timed by BPF_PROG_TEST_RUN
        itself (repeat = N, the kernel's `duration`). SEC("syscall") programs take no repeat
        and report no duration, so they run N times and the kernel's own run-time statistics
        (BPF_ENABLE_STATS: run_time_ns / run_cnt of the program, sched_clock around every
        run) give the time per run. Mounts bpffs at /sys/fs/bpf if it is not mounted.

Needs root. Standard library only (ctypes).
"""
import ctypes
import json
import mmap
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile

BPF_MAP_CREATE, BPF_OBJ_PIN, BPF_OBJ_GET, BPF_PROG_TEST_RUN = 0, 6, 7, 10
BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET_INFO_BY_FD, BPF_ENABLE_STATS = 2, 15, 32
BPF_STATS_RUN_TIME = 0
# struct bpf_prog_info (linux/bpf.h): size and the offsets of run_time_ns / run_cnt.
PROG_INFO_SIZE, RUN_TIME_NS_OFF, RUN_CNT_OFF = 232, 192, 200
BPF_MAP_TYPE_ARENA = 33
BPF_F_MMAPABLE = 1 << 10
PAGE_SIZE = 4096
SYS_BPF = {"x86_64": 321, "aarch64": 280}[os.uname().machine]

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd: int, attr) -> int:
    ret = libc.syscall(SYS_BPF, cmd, attr, ctypes.sizeof(attr))
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"bpf({cmd}): {os.strerror(err)}")
    return ret


def attr_of(payload: bytes):
    return ctypes.create_string_buffer(payload, 128)


def arena(path: str, pages: int) -> None:
    # BPF_MAP_CREATE: map_type, key_size, value_size, max_entries, map_flags
    fd = bpf(BPF_MAP_CREATE, attr_of(struct.pack("<5I", BPF_MAP_TYPE_ARENA, 0, 0, pages,
                                                 BPF_F_MMAPABLE)))
    # The first mmap() fixes the arena's user address; it stays after unmapping.
    mmap.mmap(fd, pages * PAGE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE).close()
    name = ctypes.create_string_buffer(path.encode())
    bpf(BPF_OBJ_PIN, attr_of(struct.pack("<QI", ctypes.addressof(name), fd)))
    os.close(fd)


def run(path: str, ctx_hex: str) -> None:
    name = ctypes.create_string_buffer(path.encode())
    fd = bpf(BPF_OBJ_GET, attr_of(struct.pack("<QII", ctypes.addressof(name), 0, 0)))
    ctx = ctypes.create_string_buffer(bytes.fromhex(ctx_hex), len(ctx_hex) // 2)
    attr = attr_of(struct.pack("<IIIIQQIIIIQQ", fd, 0, 0, 0, 0, 0, 0, 0,
                               len(ctx), 0, ctypes.addressof(ctx) if len(ctx) else 0, 0))
    bpf(BPF_PROG_TEST_RUN, attr)
    retval = struct.unpack_from("<i", attr.raw, 4)[0]
    print(f"retval={retval} ctx={ctx.raw.hex()}")
    os.close(fd)


def obj_get(path: str) -> int:
    name = ctypes.create_string_buffer(path.encode())
    return bpf(BPF_OBJ_GET, attr_of(struct.pack("<QII", ctypes.addressof(name), 0, 0)))


def test_run(fd: int, repeat: int = 0, data: bytes = b"", ctx=None):
    """One BPF_PROG_TEST_RUN; returns (retval, duration ns as the kernel reports it)."""
    data_buf = ctypes.create_string_buffer(data, max(len(data), 1))
    ctx_len = len(ctx) if ctx is not None else 0
    attr = attr_of(struct.pack("<IIIIQQIIIIQQ", fd, 0, len(data), 0,
                               ctypes.addressof(data_buf) if data else 0, 0, repeat, 0,
                               ctx_len, 0, ctypes.addressof(ctx) if ctx_len else 0, 0))
    bpf(BPF_PROG_TEST_RUN, attr)
    retval, = struct.unpack_from("<i", attr.raw, 4)
    duration, = struct.unpack_from("<I", attr.raw, 36)
    return retval, duration


def run_stats(fd: int):
    """(run_time_ns, run_cnt) of a program: the kernel's statistics while BPF_ENABLE_STATS is on."""
    info = ctypes.create_string_buffer(PROG_INFO_SIZE)
    bpf(BPF_OBJ_GET_INFO_BY_FD, attr_of(struct.pack("<IIQ", fd, PROG_INFO_SIZE, ctypes.addressof(info))))
    return struct.unpack_from("<QQ", info.raw, RUN_TIME_NS_OFF)


def map_update(fd: int, key: bytes, value: bytes) -> None:
    k = ctypes.create_string_buffer(key, len(key))
    v = ctypes.create_string_buffer(value, len(value))
    bpf(BPF_MAP_UPDATE_ELEM, attr_of(struct.pack("<IIQQQ", fd, 0, ctypes.addressof(k),
                                                 ctypes.addressof(v), 0)))


def ensure_bpffs() -> None:
    with open("/proc/mounts") as f:
        if any(line.split()[1:3] == ["/sys/fs/bpf", "bpf"] for line in f):
            return
    subprocess.run(["mount", "-t", "bpf", "bpf", "/sys/fs/bpf"], check=True, capture_output=True)


def bench(argv) -> int:
    import argparse
    ap = argparse.ArgumentParser(prog="linux.py bench")
    ap.add_argument("obj")
    ap.add_argument("prog")
    ap.add_argument("--ctx", default=None)
    ap.add_argument("--data", default=None)
    ap.add_argument("--repeat", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--arena", type=int, default=0)
    ap.add_argument("--setup", action="append", default=[])
    ap.add_argument("--fill", action="append", default=[])
    a = ap.parse_args(argv)
    if (a.ctx is None) == (a.data is None):
        ap.error("give exactly one of --ctx and --data")
    ensure_bpffs()
    pin_dir = tempfile.mkdtemp(prefix="kflex-bench-", dir="/sys/fs/bpf")
    fds = []
    try:
        progs = os.path.join(pin_dir, "progs")
        args = ["bpftool", "prog", "loadall", a.obj, progs]
        if a.arena:
            arena(os.path.join(pin_dir, "arena"), a.arena)
            args += ["map", "name", "kflex_heap_map", "pinned", os.path.join(pin_dir, "arena")]
        else:
            args += ["pinmaps", os.path.join(pin_dir, "maps")]
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            lines = [l for l in r.stderr.splitlines() if l.strip()]
            raise OSError(0, "bpftool prog loadall failed: " + (lines[-1] if lines else "?"))
        for spec in a.fill:
            name, path = spec.split("=", 1)
            fd = obj_get(os.path.join(pin_dir, "maps", name))
            fds.append(fd)
            with open(path) as f:
                for line in f:
                    if line.strip():
                        key, value = line.split()
                        map_update(fd, bytes.fromhex(key), bytes.fromhex(value))
        for spec in a.setup:
            name, ctx_hex = spec.split("=", 1)
            fd = obj_get(os.path.join(progs, name))
            fds.append(fd)
            ctx = ctypes.create_string_buffer(bytes.fromhex(ctx_hex), len(ctx_hex) // 2)
            test_run(fd, ctx=ctx)
        fd = obj_get(os.path.join(progs, a.prog))
        fds.append(fd)
        rounds, retval = [], None
        if a.data is not None:
            method = "BPF_PROG_TEST_RUN repeat (kernel duration)"
            data = bytes.fromhex(a.data)
            test_run(fd, repeat=a.repeat, data=data)  # warm-up round
            for _ in range(a.rounds):
                retval, duration = test_run(fd, repeat=a.repeat, data=data)
                rounds.append(duration)
        else:
            method = "BPF_ENABLE_STATS run_time_ns / run_cnt"
            ctx = ctypes.create_string_buffer(bytes.fromhex(a.ctx), len(a.ctx) // 2)
            stats_fd = bpf(BPF_ENABLE_STATS, attr_of(struct.pack("<I", BPF_STATS_RUN_TIME)))
            fds.append(stats_fd)
            for _ in range(min(a.repeat, 100)):  # warm-up
                test_run(fd, ctx=ctx)
            for _ in range(a.rounds):
                time0, count0 = run_stats(fd)
                for _ in range(a.repeat):
                    # The context is written back in place: run every time on the same input.
                    ctypes.memmove(ctx, bytes.fromhex(a.ctx), len(ctx.raw))
                    retval, _ = test_run(fd, ctx=ctx)
                time1, count1 = run_stats(fd)
                rounds.append((time1 - time0) / max(count1 - count0, 1))
        print(json.dumps({"median_ns": statistics.median(rounds), "rounds_ns": rounds,
                          "retval": retval, "repeat": a.repeat, "method": method,
                          "kernel": os.uname().release}))
    finally:
        for fd in fds:
            os.close(fd)
        shutil.rmtree(pin_dir, ignore_errors=True)
    return 0


def main(argv) -> int:
    if len(argv) == 4 and argv[1] == "arena":
        arena(argv[2], int(argv[3]))
    elif len(argv) in (3, 4) and argv[1] == "run":
        run(argv[2], argv[3] if len(argv) == 4 else "")
    elif len(argv) >= 2 and argv[1] == "bench":
        try:
            return bench(argv[2:])
        except OSError as e:
            print(f"linux.py bench: {e.strerror or e}", file=sys.stderr)
            return 1
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
