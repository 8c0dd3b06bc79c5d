#!/usr/bin/env bash
# Crash safety: kill -9 a process doing random writes with flushes into a
# qcow2 image, repeatedly; afterwards qemu-img check finds no corruption and
# every write acknowledged as flushed is readable with its data.
. tests/lib.sh
LOAD=$B/tests/blk_crashload
command -v qemu-img >/dev/null || { skip qcow2_crash "qemu-img not installed"; exit 0; }
[ -x "$LOAD" ] || { fail qcow2_crash "$LOAD not built"; exit 0; }
T=$(mktemp -d "$B/tmp-qcow2_crash-XXXXXX"); trap 'rm -rf "$T"' EXIT

crash_runs() { # NAME CACHE RUNS CREATE-ARGS...
	local name=$1 cache=$2 runs=$3; shift 3
	local img=$T/$name.qcow2 log=$T/$name.log
	if [ "${1:-}" = qemu ]; then # qemu-img's layout: its small refcount table must grow
		qemu-img create -q -f qcow2 -o "$2" "$img" 64M || { fail "$name" "create"; return; }
	else
		"$PVKVM" img create "$@" "$img" 64M >/dev/null || { fail "$name" "create"; return; }
	fi
	: > "$log"
	for run in $(seq 1 "$runs"); do
		"$LOAD" stress "$img" "$log" "$run" "$cache" & local pid=$!
		sleep "0.$((RANDOM % 8 + 2))"
		kill -9 "$pid"; wait "$pid" 2>/dev/null
		out=$(timeout 60 qemu-img check "$img" 2>&1); rc=$?
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then
			fail "$name" "run $run: qemu-img check exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"; return
		fi
		if ! out=$(timeout 60 "$LOAD" verify "$img" "$log" 2>&1); then
			fail "$name" "run $run: $(echo "$out" | tail -4 | tr '\n' ' ')"; return
		fi
	done
	[ "$(wc -l < "$log")" -gt 0 ] || { fail "$name" "no flushed writes logged"; return; }
	pass "$name ($runs kills, $(wc -l < "$log") flushed writes verified; $(echo "$out" | tail -1))"
}

crash_runs qcow2_crash_kill9_cache_none none 8
crash_runs qcow2_crash_kill9_cache_writeback writeback 6 -o cluster_size=4K
crash_runs qcow2_crash_kill9_v2 none 4 -o compat=0.10
# cache=none here also covers sub-page clusters, whose data shares pages with
# metadata (O_DIRECT on them made the next fsync fail with EIO).
crash_runs qcow2_crash_kill9_refcount_table_growth_512b_clusters none 4 qemu cluster_size=512
