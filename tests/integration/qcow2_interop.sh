#!/usr/bin/env bash
# qcow2 interoperability with qemu-img/qemu-io, both directions: images made
# by QEMU read back identically through pvkvm (v2/v3, several cluster sizes,
# refcount widths, compressed clusters, depth-3 chains); images written by
# pvkvm pass qemu-img check and compare equal to a raw reference.
. tests/lib.sh
command -v qemu-img >/dev/null && command -v qemu-io >/dev/null ||
	{ skip qcow2_interop "qemu-utils not installed"; exit 0; }
T=$(mktemp -d "$B/tmp-qcow2_interop-XXXXXX"); trap 'rm -rf "$T"' EXIT
io() { timeout 60 "$PVKVM" img io "$@"; }
qio() { timeout 60 qemu-io "$@" >/dev/null; }

# The same writes through qemu-io on a raw reference and pvkvm on FILE.
writes=( 'write -P 0xab 0 1M' 'write -P 0x12 1536K 4K' 'write -P 0x34 3M 200K'
	 'write -P 0x56 5000K 68K' 'write -P 0x78 8188K 8K' )

qemu_made_reads_back() { # OPTS VERSION-NAME
	local img=$T/q.qcow2
	rm -f "$img"
	qemu-img create -q -f qcow2 -o "$1" "$img" 16M || return 1
	for w in "${writes[@]}"; do qio -c "$w" "$img" || return 1; done
	qio -c 'discard 3M 64K' "$img" || return 1
	for e in io_uring libaio sync; do
		for c in none writeback; do
			io --engine $e --cache $c -f qcow2 "$img" 'read -P 0xab 0 1M' 'read -P 0x12 1536K 4K' \
				'read -P 0 1540K 4K' 'read -P 0x34 3136K 136K' 'read -P 0x56 5000K 68K' \
				'read -P 0x78 8188K 8K' 'read -P 0 10M 6M' || return 1
		done
	done
	# Every byte, against qemu's own view.
	qemu-img convert -O raw "$img" "$T/q.raw" && io -f qcow2 "$img" 'dump 0 16M' | cmp - "$T/q.raw" || return 1
	# Allocating writes on QEMU's layout (and refcount width) stay valid for QEMU.
	io --engine io_uring -f qcow2 "$img" 'write -P 0x44 12M 100K' 'write -P 0x45 1M 4K' 'flush' &&
	qemu-img check -q "$img" && qio -c 'read -P 0x44 12M 100K' -c 'read -P 0x45 1M 4K' "$img"
}
for o in compat=1.1,cluster_size=65536 compat=0.10,cluster_size=65536 compat=1.1,cluster_size=4096 \
	 compat=1.1,cluster_size=2M compat=0.10,cluster_size=512K compat=1.1,refcount_bits=1 \
	 compat=1.1,refcount_bits=64 compat=1.1,refcount_bits=8; do
	check "qcow2_qemu_made_reads_back[$o]" qemu_made_reads_back "$o"
done

pvkvm_made_passes_qemu_check() { # CREATE-OPTS...
	local img=$T/p.qcow2 ref=$T/ref.raw
	rm -f "$img" "$ref"
	"$PVKVM" img create "$@" "$img" 16M >/dev/null || return 1
	qemu-img create -q -f raw "$ref" 16M
	for w in "${writes[@]}"; do qio -f raw -c "$w" "$ref" || return 1; done
	io --engine io_uring --cache none -f qcow2 "$img" "${writes[@]}" 'zero 5000K 4K' 'flush' || return 1
	qio -f raw -c 'write -z 5000K 4K' "$ref" || return 1
	qemu-img check -q "$img" || { qemu-img check "$img"; return 1; }
	qemu-img compare -q -f qcow2 -F raw "$img" "$ref" || return 1
	# And QEMU can keep writing where we left off.
	qio -c 'write -P 0x9a 2M 256K' "$img" && qio -f raw -c 'write -P 0x9a 2M 256K' "$ref" &&
	qemu-img check -q "$img" && qemu-img compare -q -f qcow2 -F raw "$img" "$ref"
}
check qcow2_pvkvm_made_passes_qemu_check_v3_64k pvkvm_made_passes_qemu_check
check qcow2_pvkvm_made_passes_qemu_check_v2_64k pvkvm_made_passes_qemu_check -o compat=0.10
check qcow2_pvkvm_made_passes_qemu_check_v3_4k pvkvm_made_passes_qemu_check -o cluster_size=4K
check qcow2_pvkvm_made_passes_qemu_check_v3_2m pvkvm_made_passes_qemu_check -o cluster_size=2M

compressed_reads_and_cow() {
	local src=$T/c.raw img=$T/c.qcow2
	rm -f "$src" "$img"
	qemu-img create -q -f raw "$src" 8M
	qio -f raw -c 'write -P 0x61 0 3M' -c 'write -P 0x62 4M 1M' "$src" || return 1
	head -c 1048576 /dev/urandom | dd of="$src" bs=1M seek=6 conv=notrunc status=none
	qemu-img convert -q -c -O qcow2 "$src" "$img" || return 1
	qemu-img check "$img" | grep -q compressed || return 1
	io -f qcow2 "$img" 'dump 0 8M' | cmp - "$src" || return 1
	# Partial writes into compressed clusters copy the rest up.
	io --engine io_uring -f qcow2 "$img" 'write -P 0x63 68K 4K' 'write -P 0x64 6M 512' 'flush' || return 1
	qio -f raw -c 'write -P 0x63 68K 4K' -c 'write -P 0x64 6M 512' "$src" || return 1
	qemu-img check -q "$img" && qemu-img compare -q -f qcow2 -F raw "$img" "$src"
}
check qcow2_compressed_clusters_read_and_cow compressed_reads_and_cow

chain_depth3() {
	local base=$T/base.raw mid=$T/mid.qcow2 top=$T/top.qcow2 ref=$T/chain.raw
	rm -f "$base" "$mid" "$top" "$ref"
	qemu-img create -q -f raw "$base" 8M
	qio -f raw -c 'write -P 0x11 0 8M' "$base"
	qemu-img create -q -f qcow2 -b base.raw -F raw "$mid"
	qio -c 'write -P 0x22 1M 1M' -c 'write -P 0x23 3M 4K' "$mid"
	"$PVKVM" img create -f qcow2 -b mid.qcow2 -F qcow2 "$top" 8M >/dev/null || return 1
	local sb sm; sb=$(md5sum < "$base"); sm=$(md5sum < "$mid")
	io --engine libaio --cache none -f qcow2 "$top" 'read -P 0x11 0 1M' 'read -P 0x22 1M 1M' \
		'read -P 0x23 3M 4K' 'write -P 0x33 1028K 8K' 'write -P 0x34 6M 64K' \
		'write -P 0x35 7M 512' 'zero 5M 64K' 'flush' || return 1
	qemu-img convert -O raw "$mid" "$ref"
	qio -f raw -c 'write -P 0x33 1028K 8K' -c 'write -P 0x34 6M 64K' -c 'write -P 0x35 7M 512' \
		-c 'write -z 5M 64K' "$ref"
	[ "$(md5sum < "$base")" = "$sb" ] && [ "$(md5sum < "$mid")" = "$sm" ] || { echo "backing changed"; return 1; }
	qemu-img check -q "$top" && qemu-img compare -q -f qcow2 -F raw "$top" "$ref" || return 1
	qemu-img info --backing-chain "$top" | grep -c '^image:' | grep -qx 3 &&
	"$PVKVM" img info "$top" | grep -c '^backing file' | grep -qx 2
}
check qcow2_backing_chain_depth3_interop chain_depth3

# Partial writes at both ends and the middle of clusters over a backing file
# of random bytes (raw and qcow2 backing): the copy-on-write merge of old
# head/tail with the new bytes must match what QEMU makes of the same writes.
partial_cow_merge() { # BACKING-FMT ENGINE
	local base=$T/pb.raw mid=$T/pm.qcow2 top=$T/pt.qcow2 ref=$T/pref.raw back=pb.raw
	rm -f "$base" "$mid" "$top" "$ref"
	head -c 4194304 /dev/urandom > "$base"
	if [ "$1" = qcow2 ]; then
		qemu-img create -q -f qcow2 -b pb.raw -F raw "$mid" || return 1
		qio -c 'write -P 0x5c 1M 640K' "$mid" || return 1
		back=pm.qcow2
	fi
	"$PVKVM" img create -f qcow2 -b "$back" -F "$1" "$top" 4M >/dev/null || return 1
	qemu-img convert -O raw "$T/$back" "$ref" || return 1
	local sb; sb=$(md5sum < "$base")
	local w=( 'write -P 0x21 0 4K' 'write -P 0x22 124K 4K' 'write -P 0x23 1M 512' 'write -P 0x24 1535K 1K'
		  'write -P 0x25 2044K 8K' 'write -P 0x26 3100K 12K' 'write -P 0x27 4092K 4K' )
	io --engine "$2" --cache none -f qcow2 "$top" "${w[@]}" 'flush' || return 1
	for c in "${w[@]}"; do qio -f raw -c "$c" "$ref" || return 1; done
	[ "$(md5sum < "$base")" = "$sb" ] || { echo "backing changed"; return 1; }
	qemu-img check -q "$top" && qemu-img compare -q -f qcow2 -F raw "$top" "$ref"
}
check qcow2_partial_writes_over_raw_backing_merge_like_qemu partial_cow_merge raw io_uring
check qcow2_partial_writes_over_qcow2_backing_merge_like_qemu partial_cow_merge qcow2 libaio

# A qemu-img image with 512-byte clusters has a one-cluster refcount table
# (covering 8 MiB of file): filling it makes pvkvm grow the table (more than
# once); QEMU must find the image clean and the data in place, and keep going.
refcount_table_grows() {
	local img=$T/g.qcow2
	rm -f "$img"
	qemu-img create -q -f qcow2 -o cluster_size=512 "$img" 64M || return 1
	io --engine io_uring --cache none -f qcow2 "$img" 'write -P 0x5a 0 20M' 'write -P 0x5b 30M 10M' \
		'write -P 0x5c 63M 4K' 'flush' || return 1
	local rt; rt=$(od -An -tu1 -j56 -N4 "$img" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4 }')
	[ "$rt" -gt 1 ] || { echo "refcount table did not grow ($rt clusters)"; return 1; }
	qemu-img check -q "$img" || { qemu-img check "$img"; return 1; }
	"$PVKVM" img check "$img" >/dev/null || return 1
	qio -c 'read -P 0x5a 0 20M' -c 'read -P 0 20M 10M' -c 'read -P 0x5b 30M 10M' -c 'read -P 0x5c 63M 4K' "$img" &&
	qio -c 'write -P 0x77 45M 10M' "$img" && qemu-img check -q "$img" &&
	io -f qcow2 "$img" 'read -P 0x77 45M 10M' 'read -P 0x5a 0 20M'
}
check qcow2_refcount_table_grows_when_full refcount_table_grows

# pvkvm img info --json / check --json report what qemu-img does, with its
# field names, for the features we support (v2/v3, refcount widths, lazy
# refcounts, backing file and format).
info_json_matches_qemu() { # QEMU-CREATE-OPTS
	command -v python3 >/dev/null || return 0
	local img=$T/i.qcow2 base=$T/ib.raw
	rm -f "$img" "$base"
	qemu-img create -q -f raw "$base" 8M
	qemu-img create -q -f qcow2 -b ib.raw -F raw -o "$1" "$img" 8M || return 1
	qio -c 'write -P 0x42 64K 64K' "$img" || return 1
	qemu-img info --output=json "$img" > "$T/q.json" && "$PVKVM" img info --json "$img" > "$T/p.json" || return 1
	qemu-img check --output=json "$img" > "$T/qc.json"; "$PVKVM" img check --json "$img" > "$T/pc.json" || return 1
	python3 - "$T/q.json" "$T/p.json" "$T/qc.json" "$T/pc.json" <<'PY'
import json, sys
q, p, qc, pc = (json.load(open(f)) for f in sys.argv[1:5])
bad = []
for k in ("format", "virtual-size", "cluster-size", "dirty-flag", "backing-filename", "backing-filename-format"):
    if q.get(k) != p.get(k): bad.append((k, q.get(k), p.get(k)))
qd, pd = q["format-specific"]["data"], p["format-specific"]["data"]
for k in ("compat", "compression-type", "lazy-refcounts", "refcount-bits", "corrupt", "extended-l2"):
    if k in qd and qd[k] != pd.get(k): bad.append((k, qd[k], pd.get(k)))
for k in ("total-clusters", "allocated-clusters"):
    if qc.get(k) != pc.get(k): bad.append(("check " + k, qc.get(k), pc.get(k)))
for k in ("corruptions", "leaks"):
    if qc.get(k, 0) != pc.get(k): bad.append(("check " + k, qc.get(k, 0), pc.get(k)))
if bad: sys.exit("mismatch (field, qemu-img, pvkvm): %s" % bad)
PY
}
for o in compat=1.1 compat=0.10 compat=1.1,refcount_bits=8,cluster_size=4096 compat=1.1,lazy_refcounts=on; do
	check "qcow2_info_json_matches_qemu_img[$o]" info_json_matches_qemu "$o"
done
