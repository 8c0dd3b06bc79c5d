#!/usr/bin/env bash
# Boots the mini-guest's demo program on pvkvm (called by 'make demo').
set -u
B=${B:-build}
pvkvm=$B/bin/pvkvm
if ! "$pvkvm" run --help >/dev/null 2>&1; then
	echo "demo: '$pvkvm run' is not available yet (the VMM part has not landed); cannot boot the mini-guest" >&2
	echo "demo: QEMU can boot it meanwhile: qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M microvm -nodefaults -no-reboot -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel $B/guest/mini.elf" >&2
	exit 1
fi
echo "demo: $pvkvm run --kernel $B/guest/mini.elf --mem 64M"
timeout 60 "$pvkvm" run --kernel "$B/guest/mini.elf" --mem 64M
rc=$?
if [ $rc -ne 0 ]; then
	echo "demo: the mini-guest exited with status $rc" >&2
	exit 1
fi
