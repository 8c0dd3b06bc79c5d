#!/usr/bin/env bash
# The mini-guest's polled NVMe driver on QEMU's NVMe controller (-M pc: PCI via
# 0xcf8; SeaBIOS is emulated at CPL0 on a PVM host, so one boot takes ~10-20 s
# and the test does its work in a single boot): a sequential write with the
# pattern, read back and verified in the same boot, and the pattern in the host file.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
lib_workdir
need_qemu_kvm test_mini_nvme
need_mini_elf test_mini_nvme
img=$work/nvme.img
truncate -s 32M "$img"
rc=0
timeout 120 qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M pc -nodefaults -no-reboot \
	-nographic -serial stdio -m 128M -device isa-debug-exit,iobase=0xf4,iosize=4 \
	-drive id=n0,file="$img",format=raw,if=none -device nvme,serial=mini0,drive=n0 -kernel "$ELF" \
	-append "test=blk dev=nvme0 rw=write bs=128k qd=8 offset=4M size=8M loops=1 runtime=0 verify=1 seed=21 readback=1" \
	</dev/null >"$work/out" 2>&1 || rc=$?
out=$(tr -d '\r' <"$work/out")
if grep -q 'nvme0: pci .* 65536 sectors of 512 bytes' <<<"$out"; then
	pass test_nvme_controller_and_namespace_identified
else
	fail test_nvme_controller_and_namespace_identified "exit $rc: $(grep -E 'nvme|mini:' <<<"$out" | tail -n 3 | tr '\n' ' ')"
fi
if [ $rc = 1 ] && [ "$(grep -c '^RESULT dev=nvme0 .* ios=64 .*errors=0 verify=1 verify_errors=0' <<<"$out")" = 2 ]; then
	pass test_nvme_write_then_read_back_verifies
else
	fail test_nvme_write_then_read_back_verifies "exit $rc: $(grep -E '^RESULT|^blk' <<<"$out" | tail -n 3 | tr '\n' ' ')"
fi
ok=1
for s in 8192 12000 24575; do
	got=$(od -A n -t x8 -j $((s * 512)) -N 24 "$img" | tr -s ' \n' '  ' | sed 's/^ //; s/ $//')
	[ "$got" = "$(printf '314b4c42494e494d %016x %016x' "$s" 21)" ] || { ok=0; why="sector $s: '$got'"; }
done
got=$(od -A n -t x8 -j $((8191 * 512)) -N 8 "$img" | tr -d ' \n')
[ "$got" = 0000000000000000 ] || { ok=0; why="sector 8191 (before the region) was written: $got"; }
[ $ok = 1 ] && pass test_nvme_host_file_holds_the_pattern_in_range_only ||
	fail test_nvme_host_file_holds_the_pattern_in_range_only "$why"
