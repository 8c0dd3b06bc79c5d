#!/usr/bin/env bash
# Seed corpus for fuzz_qcow2: small valid images (v2/v3, small clusters,
# backing names, compressed clusters) so the fuzzer starts past the magic check.
set -e
dir=$1 pvkvm=$2
mkdir -p "$dir"
[ -n "$(ls -A "$dir")" ] && exit 0
"$pvkvm" img create -o cluster_size=4K "$dir/v3-4k" 1M >/dev/null
"$pvkvm" img create -o cluster_size=4K,compat=0.10 "$dir/v2-4k" 1M >/dev/null
"$pvkvm" img create -o cluster_size=4K -b base.raw -F raw "$dir/backing" 1M >/dev/null
"$pvkvm" img io "$dir/v3-4k" 'write -P 1 0 8K' 'write -P 2 512K 4K' >/dev/null
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 -o cluster_size=512 "$dir/q512" 256K
	qemu-io -c 'write -P 3 0 2K' -c 'write -P 4 100K 1K' "$dir/q512" >/dev/null
	qemu-img create -q -f qcow2 -o cluster_size=512,refcount_bits=1 "$dir/q512-rc1" 64K
	head -c 8192 /dev/urandom > "$dir/.raw"; head -c 8192 /dev/zero >> "$dir/.raw"
	qemu-img convert -q -c -O qcow2 -o cluster_size=1024 "$dir/.raw" "$dir/compressed"
	rm -f "$dir/.raw"
fi
