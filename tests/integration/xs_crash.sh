#!/usr/bin/env bash
# kill -9 at arbitrary moments (while writing, while snapshotting) leaves a
# consistent tree: after a restart the keys written in order form a prefix
# k0..k(n-1), and every acknowledged write is there.
source "$(dirname "$0")/../lib.sh"
STORED=${STORED:-$B/bin/pvkvm-stored}
dir=$(mktemp -d /tmp/xs_crash.XXXXXX)
sock=$dir/s
pid=
trap '{ kill -9 $pid; wait $pid; } 2>/dev/null; rm -rf "$dir"' EXIT
start() {
	"$STORED" --socket "$sock" --state-dir "$dir/state" --snapshot-every 50 --log-level err &
	pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && "$PVKVM" store --socket "$sock" exists / 2>/dev/null && return; sleep 0.1; done
}
ok=1 why=
start
next=0
for round in 1 2 3 4; do
	# Sequential writes; remember the last one acknowledged.
	( i=$next; while "$PVKVM" store --socket "$sock" write /c/k$i v$i 2>/dev/null; do
		echo $i > "$dir/acked"; i=$((i + 1)); done ) &
	writer=$!
	sleep "0.$((RANDOM % 9 + 1))"
	kill -9 $pid; wait $pid 2>/dev/null
	wait $writer 2>/dev/null
	acked=$(cat "$dir/acked" 2>/dev/null || echo -1)
	start
	n=$(timeout 10 "$PVKVM" store --socket "$sock" ls /c | wc -l)
	max=$(timeout 10 "$PVKVM" store --socket "$sock" ls /c | sed 's/^k//' | sort -n | tail -1)
	if [ "$n" -eq 0 ] || [ "$max" -ne $((n - 1)) ]; then ok=0; why="round $round: $n keys, max k$max (not a prefix)"; break; fi
	if [ "$acked" -ge "$n" ]; then ok=0; why="round $round: k$acked acknowledged but lost ($n keys)"; break; fi
	if ! timeout 10 "$PVKVM" store --socket "$sock" read /c/k$((n - 1)) | grep -qx "v$((n - 1))"; then ok=0; why="round $round: bad value"; break; fi
	next=$n
done
if [ $ok = 1 ]; then pass "xs_crash_kill9_leaves_consistent_prefix ($next keys, 4 kills)"; else fail xs_crash_kill9_leaves_consistent_prefix "$why"; fi
