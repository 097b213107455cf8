#!/bin/sh
# Regenerates the .hex files (instruction bytes of each program section), the .relocs files
# ("slot symbol" for every lddw the loader would patch) and the disassembly from programs.c.
set -e
cd "$(dirname "$0")"
clang-19 -O2 -g0 -target bpf -I/usr/include/$(uname -m)-linux-gnu -c programs.c -o /tmp/kflex-verifier-programs.o
for section in xdp/dns xdp/sum syscall/counted syscall/arg xdp/count syscall/walk; do
  name=$(echo $section | tr / -)
  llvm-objcopy -O binary --only-section=$section /tmp/kflex-verifier-programs.o /tmp/kflex-$name.bin
  xxd -p /tmp/kflex-$name.bin > $name.hex
  llvm-readelf -r /tmp/kflex-verifier-programs.o | awk -v sec="$section" '/Relocation section/ {on = index($0, ".rel" sec "'"'"'") > 0; next} on && /R_BPF_64_64/ {print $1, $5}' \
    | while read offset symbol; do echo "$(( 0x$offset / 8 )) $symbol"; done > $name.relocs
  [ -s $name.relocs ] || rm $name.relocs
done
llvm-objdump -d -r --no-show-raw-insn /tmp/kflex-verifier-programs.o > programs.dis
