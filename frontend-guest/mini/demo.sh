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

# A PV disk: the guest writes 8 MiB through pvblk and reads it back verified;
# pvkvm serves it from a backend thread (--disk), pvkvm-stored holds the store.
work=$(mktemp -d)
img=$(mktemp /var/tmp/pvkvm-demo-disk.XXXXXX)
trap 'kill $stored 2>/dev/null; wait $stored 2>/dev/null; rm -rf "$work" "$img"' EXIT
export PVKVM_RUN_DIR=$work
truncate -s 64M "$img"
"$B/bin/pvkvm-stored" --socket "$work/store.sock" >"$work/stored.log" 2>&1 &
stored=$!
for _ in $(seq 50); do [ -S "$work/store.sock" ] && break; sleep 0.1; done
echo "demo: $pvkvm run --kernel $B/guest/mini.elf --mem 128M --disk $img,io=io_uring,cache=none --append 'test=blk dev=pvblk0 rw=write ... readback=1'"
timeout 60 "$pvkvm" run --name demo-pv --kernel "$B/guest/mini.elf" --mem 128M --disk "$img,io=io_uring,cache=none" \
	--append "test=blk dev=pvblk0 rw=write bs=64k qd=8 size=8M loops=1 runtime=0 verify=1 readback=1 pvblk_wait_ms=5000" </dev/null
rc=$?
if [ $rc -ne 0 ]; then
	echo "demo: the PV disk run exited with status $rc" >&2
	exit 1
fi
"$pvkvm" img info "$img" 2>/dev/null | head -n 3
