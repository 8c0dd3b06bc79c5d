#!/usr/bin/env bash
# The event-channel round trip from the mini-guest on pvkvm (test=pv:pvtest)
# against the host test backend (pvkvm-testback --spin-us 500 --stats): the
# whole stack — VMM, control socket, store, backend library, guest core.
# Exits to the VMM during the ping-pong come from the VMM's log: the guest
# marks its start and end with a console hypercall (one exit each), logged
# with the vCPU's exit count.
#   bench_evtchn_mini.sh B ROUND_TRIPS RUNS
# prints per run and, last, "best: p50 p99 rate exits" (the lowest p50).
set -u
B=$1 n=$2 runs=$3
pvkvm=$B/bin/pvkvm
export PVKVM_RUN_DIR=$(mktemp -d)
trap 'rm -rf "$PVKVM_RUN_DIR"' EXIT
best=""
for i in $(seq "$runs"); do
	name=evb$i
	timeout 120 "$pvkvm" -v run --name "$name" --kernel "$B/guest/mini.elf" --mem 64M \
		--append "test=pv:pvtest rounds=$n" </dev/null >"$PVKVM_RUN_DIR/$name.out" 2>&1 &
	guest=$!
	for _ in $(seq 100); do [ -S "$PVKVM_RUN_DIR/$name.ctl" ] && break; sleep 0.05; done
	dom=$(sed -n 's/^domid=//p' "$PVKVM_RUN_DIR/$name.info")
	st=$(timeout 120 "$B/bin/pvkvm-testback" --create --ctl "$PVKVM_RUN_DIR/$name.ctl" --domid "${dom:-1}" \
		--store "$PVKVM_RUN_DIR/store.sock" --spin-us 500 --stats 2>&1)
	wait "$guest"
	line=$(grep -o 'p50 [0-9.]* us p99 [0-9.]* us [0-9]* round trips/s' <<<"$st")
	a=$(sed -n 's/.*(vcpu0, \([0-9]*\) exits): pvtest: ping-pong start.*/\1/p' "$PVKVM_RUN_DIR/$name.out")
	b=$(sed -n 's/.*(vcpu0, \([0-9]*\) exits): pvtest: ping-pong end.*/\1/p' "$PVKVM_RUN_DIR/$name.out")
	if [ -z "$line" ] || [ -z "$a" ] || [ -z "$b" ]; then
		echo "mini-guest run $i failed: $st $(tail -n 3 "$PVKVM_RUN_DIR/$name.out")" >&2
		exit 2
	fi
	read -r _ p50 _ _ p99 _ rate _ <<<"$line"
	exits=$((b - a - 1)) # the end mark's own exit
	echo "  mini-guest on pvkvm, run $i: p50 $p50 us  p99 $p99 us  $rate rt/s  VMM exits in the ping-pong $exits"
	if [ -z "$best" ] || awk "BEGIN{exit !($p50 < ${best%% *})}"; then best="$p50 $p99 $rate $exits"; fi
done
echo "best: $best"
