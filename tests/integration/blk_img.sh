#!/usr/bin/env bash
# `pvkvm img create|info|check|io`: the command-line contract (formats,
# options, JSON, exit codes as qemu-img check, clear errors on bad input).
. tests/lib.sh
T=$(mktemp -d "$B/tmp-blk_img-XXXXXX"); trap 'rm -rf "$T"' EXIT
have_qemu() { command -v qemu-img >/dev/null; }

check img_help_documents_subcommands bash -c "'$PVKVM' img --help | grep -q 'img check \[--json\] FILE'"

create_raw() {
	"$PVKVM" img create -f raw "$T/r.raw" 3G && [ "$(stat -c %s "$T/r.raw")" = 3221225472 ] &&
	"$PVKVM" img info --json "$T/r.raw" | grep -q '"format": "raw", "virtual-size": 3221225472'
}
check img_create_raw_sparse_with_size_suffix create_raw

create_qcow2_info() {
	"$PVKVM" img create -o cluster_size=128K "$T/a.qcow2" 1G &&
	"$PVKVM" img info --json "$T/a.qcow2" | grep -q '"virtual-size": 1073741824, "actual-size": [0-9]*, "cluster-size": 131072, "version": 3' &&
	"$PVKVM" img create -o compat=0.10 "$T/v2.qcow2" 1M &&
	"$PVKVM" img info "$T/v2.qcow2" | grep -q '^version: 2' || return 1
	have_qemu || return 0
	qemu-img info "$T/a.qcow2" | grep -q 'cluster_size: 131072' && qemu-img check -q "$T/a.qcow2" &&
	qemu-img info "$T/v2.qcow2" | grep -q 'compat: 0.10'
}
check img_create_qcow2_options_and_info create_qcow2_info

create_backing() {
	"$PVKVM" img create -f raw "$T/b.raw" 64M &&
	"$PVKVM" img create -b b.raw -F raw "$T/o.qcow2" 64M &&
	"$PVKVM" img info --json "$T/o.qcow2" | grep -q '"backing-chain": \[{"filename": ".*b.raw", "format": "raw"}\]' || return 1
	have_qemu || return 0
	qemu-img info "$T/o.qcow2" | grep -q 'backing file format: raw'
}
check img_create_with_backing_file create_backing

refuse() { ! "$@" 2>"$T/err" && [ -s "$T/err" ] && [ "$(wc -l < "$T/err")" -le 2 ]; }
check img_create_refuses_existing_file refuse "$PVKVM" img create "$T/a.qcow2" 1M
check img_create_refuses_bad_size refuse "$PVKVM" img create "$T/x.qcow2" 12Q
check img_create_refuses_bad_cluster_size refuse "$PVKVM" img create -o cluster_size=3000 "$T/y.qcow2" 1M
check img_info_refuses_garbage bash -c "head -c 100 /dev/zero > '$T/g.qcow2'; printf 'QFI\xfb' | dd of='$T/g.qcow2' conv=notrunc status=none; ! '$PVKVM' img info '$T/g.qcow2' 2>&1 | grep -q . && exit 1; ! '$PVKVM' img info '$T/g.qcow2' 2>/dev/null"

# check: 0 clean, 3 leaks, 2 corruption -- and qemu-img agrees on the same file.
poke16() { printf "\\x$(printf %02x $(($2 >> 8)))\\x$(printf %02x $(($2 & 255)))" |
	dd of="$T/c.qcow2" bs=1 seek="$1" conv=notrunc status=none; }
check_codes() {
	rm -f "$T/c.qcow2"
	"$PVKVM" img create "$T/c.qcow2" 16M >/dev/null
	"$PVKVM" img io "$T/c.qcow2" 'write -P 1 0 256K' 'flush' || return 1
	"$PVKVM" img check "$T/c.qcow2" >/dev/null; [ $? = 0 ] || return 1
	local rb=131072  # layout of a 16M image: header, refcount table, block, L1
	poke16 $((rb + 2 * 2)) 2                      # cluster 2 (refcount block) refcount 2: a leak
	"$PVKVM" img check "$T/c.qcow2" >/dev/null 2>&1; [ $? = 3 ] || return 1
	if have_qemu; then qemu-img check "$T/c.qcow2" >/dev/null 2>&1; [ $? = 3 ] || return 1; fi
	poke16 $((rb + 2 * 3)) 0                      # cluster 3 (L1 table) refcount 0
	"$PVKVM" img check "$T/c.qcow2" >/dev/null 2>&1; [ $? = 2 ] || return 1
	if have_qemu; then qemu-img check "$T/c.qcow2" >/dev/null 2>&1; [ $? = 2 ] || return 1; fi
	"$PVKVM" img check "$T/nonexistent.qcow2" >/dev/null 2>&1; [ $? = 1 ]
}
check img_check_exit_codes_match_qemu_img check_codes

io_sector4k() {
	"$PVKVM" img create -f raw "$T/s.raw" 1M >/dev/null
	"$PVKVM" img io --sector-size 4096 --cache none --engine libaio "$T/s.raw" 'write -P 7 4096 8192' 'read -P 7 4096 8192' &&
	! "$PVKVM" img io --sector-size 4096 "$T/s.raw" 'write -P 7 512 4096' 2>/dev/null
}
check img_io_4k_logical_sectors io_sector4k

# Block devices: size and logical sector from the device (a 4096-byte-sector loop device).
blockdev_4k() {
	local dev
	"$PVKVM" img create -f raw "$T/loop.raw" 8M >/dev/null
	dev=$(losetup --find --show --sector-size 4096 --direct-io=on "$T/loop.raw" 2>/dev/null) || return 77
	local rc=0
	"$PVKVM" img io --cache none --engine io_uring "$dev" 'write -P 9 4096 8192' 'read -P 9 4096 8192' 'zero 0 4096' 'read -P 0 0 4096' || rc=1
	"$PVKVM" img io --sector-size 512 "$dev" 'read 0 4096' 2>/dev/null && rc=1   # smaller than the device's: refused
	"$PVKVM" img io "$dev" 'read 512 4096' 2>/dev/null && rc=1                    # not 4K-aligned: request fails
	losetup -d "$dev"
	return $rc
}
if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null; then
	blockdev_4k; case $? in 0) pass img_io_block_device_4k_sectors;; 77) skip img_io_block_device_4k_sectors "no loop device";;
		*) fail img_io_block_device_4k_sectors "I/O or alignment check failed";; esac
else
	skip img_io_block_device_4k_sectors "needs root and losetup"
fi
