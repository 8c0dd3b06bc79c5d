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

# Second boot: the PV store self-test against the store `pvkvm run` embeds
# (a fresh run directory, so no pvkvm-stored is there); the host reads and
# writes the guest's keys with `pvkvm store` while the guest runs.
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
export PVKVM_RUN_DIR=$run
echo
echo "demo: PVKVM_RUN_DIR=$run $pvkvm run --name store-demo --kernel $B/guest/mini.elf --mem 64M --append 'test=pv:store host=1'"
timeout 60 "$pvkvm" -v run --name store-demo --kernel "$B/guest/mini.elf" --mem 64M \
	--append "test=pv:store host=1" </dev/null >"$run/guest.out" 2>&1 &
guest=$!
st() { timeout 5 "$pvkvm" store --socket "$run/store.sock" "$@"; }
dom=""
for _ in $(seq 100); do
	dom=$(sed -n 's/^domid=//p' "$run/store-demo.info" 2>/dev/null)
	[ -n "$dom" ] && [ "$(st read "/local/domain/$dom/data/mini" 2>/dev/null)" = hello-store ] && break
	sleep 0.1
done
home=/local/domain/${dom:-1}
echo "demo: host: pvkvm store read $home/data/mini -> '$(st read "$home/data/mini" 2>&1)'"
st write "$home/data/host" ping-from-host && echo "demo: host: pvkvm store write $home/data/host ping-from-host"
for _ in $(seq 100); do [ -n "$(st read "$home/data/echo" 2>/dev/null)" ] && break; sleep 0.1; done
echo "demo: host: pvkvm store read $home/data/echo -> '$(st read "$home/data/echo" 2>&1)' (the guest's watch echoed it)"
st write "$home/data/done" 1
wait "$guest"
rc=$?
grep -E '^(pv|mini):' "$run/guest.out" | tr -d '\r' | sed 's/^/guest: /'
grep -E 'embedded store on|: domain [0-9]+$' "$run/guest.out" | sed 's/^/vmm: /'
if [ $rc -ne 0 ] || ! grep -q 'store host round trip ok' "$run/guest.out"; then
	echo "demo: the store boot failed (status $rc):" >&2
	tail -n 5 "$run/guest.out" >&2
	exit 1
fi

# A PV disk: the guest writes 8 MiB through pvblk and reads it back verified;
# pvkvm serves it from an embedded backend thread (--disk), in the store it
# embeds (a fresh run directory again).
disk_run=$(mktemp -d)
img=$(mktemp /var/tmp/pvkvm-demo-disk.XXXXXX)
trap 'rm -rf "$run" "$disk_run" "$img"' EXIT
export PVKVM_RUN_DIR=$disk_run
truncate -s 64M "$img"
echo
echo "demo: $pvkvm run --kernel $B/guest/mini.elf --mem 128M --disk $img,io=io_uring,cache=none --append 'test=blk dev=pvblk0 rw=write ... readback=1'"
timeout 60 "$pvkvm" run --name demo-pv --kernel "$B/guest/mini.elf" --mem 128M --disk "$img,io=io_uring,cache=none" \
	--append "test=blk dev=pvblk0 rw=write bs=64k qd=8 size=8M loops=1 runtime=0 verify=1 readback=1 pvblk_wait_ms=5000" </dev/null
rc=$?
if [ $rc -ne 0 ]; then
	echo "demo: the PV disk run exited with status $rc" >&2
	exit 1
fi
echo "demo OK"
