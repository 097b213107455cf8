#!/bin/sh
# Regenerates the .hex files (instruction bytes of each program section) from programs.c.
set -e
cd "$(dirname "$0")"
clang-19 -O2 -g0 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c programs.c -o /tmp/kflex-verifier-programs.o
for section in xdp/dns xdp/sum syscall/counted syscall/arg; do
  name=$(echo $section | tr / -)
  llvm-objcopy -O binary --only-section=$section /tmp/kflex-verifier-programs.o /tmp/kflex-$name.bin
  xxd -p /tmp/kflex-$name.bin > $name.hex
done
llvm-objdump -d --no-show-raw-insn /tmp/kflex-verifier-programs.o > programs.dis
