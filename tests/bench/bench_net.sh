#!/usr/bin/env bash
# make bench-net: runs bench_net (host-harness path: the pvnet frontend core in
# a host process -> rings -> netback -> TAP, inside a network namespace the
# program creates) and appends a dated section to tests/bench/RESULTS.md.
# The QEMU virtio-net comparison needs the mini-guest's pvnet and virtio-net
# drivers; until they are on main this benchmark says so and runs the harness path.
set -u
bin=$1
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: bench-net: needs root for a network namespace and TAP devices"
	exit 0
fi
tmp=$(mktemp)
{
	echo
	echo "## bench-net (host-harness path), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) CPUs; load average before the run: $(cut -d" " -f1-3 /proc/loadavg)."
	echo "Fake guest (pvnet frontend core in a host thread, memfd RAM, real grant/evtchn code) -> netback -> TAP in a private"
	echo "network namespace -> host UDP sockets; anchor: a plain TAP writer into the same TAP in the same run."
	echo "Not yet the guest path: QEMU microvm virtio-net vs pvkvm with the mini-guest's programs needs the mini-guest drivers."
	echo "${BENCH_NET_SECONDS:-1} s per row; host CPU per packet = process CPU time (guest, backend and host socket threads) / packets."
	echo
} > "$tmp"
timeout 300 "$bin" 3>>"$tmp"
rc=$?
cat "$tmp" >> tests/bench/RESULTS.md
rm -f "$tmp"
exit $rc
