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

Needs root. Standard library only (ctypes).
"""
import ctypes
import mmap
import os
import struct
import sys

BPF_MAP_CREATE, BPF_OBJ_PIN, BPF_OBJ_GET, BPF_PROG_TEST_RUN = 0, 6, 7, 10
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


def main(argv) -> int:
    if len(argv) == 4 and argv[1] == "arena":
        arena(argv[2], int(argv[3]))
    elif len(argv) in (3, 4) and argv[1] == "run":
        run(argv[2], argv[3] if len(argv) == 4 else "")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
