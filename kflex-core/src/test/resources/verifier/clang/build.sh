#!/bin/sh
# Regenerates the .hex files (instruction bytes of each program section) from programs.c.
set -e
cd "$(dirname "$0")"
clang-19 -O2 -g0 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c programs.c -o /tmp/kflex-verifier-programs.o
for section in xdp/dns xdp/sum syscall/counted syscall/arg xdp/count; do
  name=$(echo $section | tr / -)
  llvm-objcopy -O binary --only-section=$section /tmp/kflex-verifier-programs.o /tmp/kflex-$name.bin
  xxd -p /tmp/kflex-$name.bin > $name.hex
done
llvm-objdump -d -r --no-show-raw-insn /tmp/kflex-verifier-programs.o > programs.dis
# Map relocations of xdp/count: "slot map-name" per lddw the loader would patch.
llvm-readelf -r /tmp/kflex-verifier-programs.o | awk '/Relocation section .*xdp\/count/ {on=1; next} /Relocation section/ {on=0} on && /R_BPF_64_64/ {print $1, $5}' \
  | while read offset name; do echo "$(( 0x$offset / 8 )) $name"; done > xdp-count.relocs
