#!/bin/sh
# Rebuilds the test objects from their sources. The objects are committed so tests never need a
# compiler; run this only after changing a source. Paths in debug info are made relative so the
# objects do not depend on where they were built.
set -e
cd "$(dirname "$0")"
for src in *.c; do
	clang-19 -O2 -g -target bpf -mcpu=v4 -fdebug-compilation-dir=. -I/usr/include/x86_64-linux-gnu -c "$src" -o "${src%.c}.o"
done
for src in *.s; do
	llvm-mc-19 -triple bpfel -mattr=+alu32 -filetype=obj "$src" -o "${src%.s}.o"
done
