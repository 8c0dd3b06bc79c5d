#!/usr/bin/env bash
# The mini-guest's network programs on pvkvm's PV NIC (pvnet frontend over the
# core's netfront, `pvkvm run --nic tap=...` with the embedded net backend),
# inside a network namespace this script creates and deletes: the same proofs
# as mini_net_qemu.sh -- ping both ways, UDP both ways complete and verified,
# UDP echo, MTU 9000 both ways.  Only 10.77.0.0/24 inside the namespace is used.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
T=${MINI_TIMEOUT:-40}
NS=pvkvm-mnp-$$
TAP=pvmnp0
HOST_IP=10.77.0.1
GUEST_IP=10.77.0.2
GUEST_MAC=52:54:00:77:00:02
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if ! have_kvm || [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ] || ! command -v ping >/dev/null; then
	skip test_net_pv "needs root, /dev/kvm, /dev/net/tun and ping"
	exit 0
fi
if [ ! -x "$PVKVM" ] || [ ! -x "$B/bin/pvkvm-stored" ] || [ ! -f "$ELF" ] || [ ! -x "$TOOL" ]; then
	fail test_net_pv "$PVKVM, pvkvm-stored, $ELF or $TOOL missing (run make)"
	exit 0
fi
if ! "$PVKVM" run --help 2>&1 | grep -q -- '--nic' || ! grep -aq 'pvnet: ' "$ELF"; then
	skip test_net_pv "this build has no PV NIC (pvkvm run --nic and the mini-guest's pvnet driver)"
	exit 0
fi
nsx() { ip netns exec "$NS" "$@"; }
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
if ! ip netns add "$NS" || ! nsx ip link set lo up; then
	fail test_net_pv "cannot create namespace $NS"
	exit 0
fi
# started directly (not through a shell function) so $! is the daemon itself
"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done

# guest NAME NIC-OPTS CMDLINE: pvkvm in the background (output $work/NAME, exit status
# S in $work/NAME.rc); the backend creates the TAP, which then gets the host address.
n=0
guest() {
	n=$((n + 1))
	( timeout "$T" ip netns exec "$NS" "$PVKVM" run --name "mn$n" --kernel "$ELF" --mem 128M --console stdio \
		--append "$3" --nic "tap=$TAP,mac=$GUEST_MAC$2" </dev/null >"$work/$1" 2>&1; echo $? >"$work/$1.rc" ) &
	pids+=($!)
	for _ in $(seq 100); do nsx ip link show "$TAP" >/dev/null 2>&1 && break; sleep 0.05; done
	nsx ip addr add "$HOST_IP/24" dev "$TAP" 2>/dev/null
	nsx ip link set "$TAP" up
	nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent
}
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$work/$1" 2>/dev/null && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.1
	done
	return 1
}
finish() {
	for _ in $(seq $((T * 10))); do [ -f "$work/$1.rc" ] && break; sleep 0.1; done
	# the TAP goes away with the guest; wait so the next guest can create it again
	for _ in $(seq 50); do nsx ip link show "$TAP" >/dev/null 2>&1 || break; sleep 0.1; done
}
why() { tr -d '\r' <"$work/$1" | grep -v '^udp\|^netping: net\|^netping: dev' | tail -n 3 | tr '\n' ' '; tr -d '\r' <"$work/$1" | grep RESULT; }
expect() {
	finish "$2"
	local rc; rc=$(cat "$work/$2.rc" 2>/dev/null || echo none)
	if [ "$rc" != "$3" ]; then
		fail "$1" "exit status $rc, want $3: $(why "$2")"
	elif ! grep -q -- "$4" "$work/$2"; then
		fail "$1" "no '$4': $(why "$2")"
	else
		pass "$1"
	fi
}

guest ping "" "test=netping ip=$GUEST_IP peer=$HOST_IP count=5 interval_ms=20 answer=5 runtime=20"
wait_for ping "answering" && nsx ping -c 5 -i 0.05 -W 2 "$GUEST_IP" >"$work/hostping" 2>&1
grep -q '5 packets transmitted, 5 received' "$work/hostping" 2>/dev/null &&
	pass test_net_pv_host_pings_guest || fail test_net_pv_host_pings_guest "$(tail -n 2 "$work/hostping" 2>/dev/null | tr '\n' ' ')"
expect test_net_pv_guest_pings_host_and_answers_every_ping ping 0 'RESULT prog=netping sent=5 received=5 lost=0 .*answered=5'
grep -q '^pvnet0: ' "$work/ping" && pass test_net_pv_programs_run_on_pvnet || fail test_net_pv_programs_run_on_pvnet "$(head -n 2 "$work/ping" | tr '\n' ' ')"

guest urecv "" "test=udprecv ip=$GUEST_IP size=1000 runtime=20"
wait_for urecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 1000 --count 20000 --rate 10000 >/dev/null 2>&1
expect test_net_pv_udp_host_to_guest_arrives_complete_and_verified urecv 0 \
	'RESULT prog=udprecv .*unique=20000 sent=20000 lost=0 dups=0 reordered=0 corrupt=0 .*fin=1'

nsx timeout "$T" "$TOOL" recv --size 1472 --time 20 >"$work/hrecv" 2>&1 &
rpid=$!
sleep 0.3
guest usend "" "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=1472 count=20000 rate=20000"
wait "$rpid"; rrc=$?
finish usend
[ "$rrc" = 0 ] && grep -q 'RESULT prog=host-recv .*unique=20000 sent=20000 lost=0 .*corrupt=0' "$work/hrecv" &&
	pass test_net_pv_udp_guest_to_host_arrives_complete_and_verified ||
	fail test_net_pv_udp_guest_to_host_arrives_complete_and_verified "rc $rrc: $(grep RESULT "$work/hrecv") $(why usend)"

guest uecho "" "test=udpecho ip=$GUEST_IP count=300 runtime=20"
wait_for uecho "udpecho: ready" && nsx timeout "$T" "$TOOL" rtt --dst "$GUEST_IP" --size 256 --count 300 >"$work/hrtt" 2>&1
grep -q 'RESULT prog=host-rtt size=256 sent=300 received=300 bad=0' "$work/hrtt" &&
	pass test_net_pv_udp_echo_returns_every_datagram_intact ||
	fail test_net_pv_udp_echo_returns_every_datagram_intact "$(cat "$work/hrtt")"
expect test_net_pv_udp_echo_counts_its_echoes uecho 0 'RESULT prog=udpecho echoed=300 .*failed=0'

guest jrecv ",mtu=9000" "test=udprecv ip=$GUEST_IP mtu=9000 size=8972 runtime=20"
wait_for jrecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 8972 --count 3000 --rate 5000 >/dev/null 2>&1
expect test_net_pv_mtu9000_host_to_guest jrecv 0 'RESULT prog=udprecv .*unique=3000 sent=3000 lost=0 .*corrupt=0'

nsx timeout "$T" "$TOOL" recv --size 8972 --time 20 >"$work/jhrecv" 2>&1 &
rpid=$!
sleep 0.3
guest jsend ",mtu=9000" "test=udpsend ip=$GUEST_IP peer=$HOST_IP mtu=9000 size=8972 count=3000 rate=5000"
wait "$rpid"; rrc=$?
finish jsend
[ "$rrc" = 0 ] && grep -q 'unique=3000 sent=3000 lost=0' "$work/jhrecv" &&
	pass test_net_pv_mtu9000_guest_to_host || fail test_net_pv_mtu9000_guest_to_host "rc $rrc: $(grep RESULT "$work/jhrecv") $(why jsend)"

guest jping ",mtu=9000" "test=netping ip=$GUEST_IP mtu=9000 peer=$HOST_IP size=8972 count=3 answer=3 runtime=20"
wait_for jping "answering" && nsx ping -c 3 -s 8972 -M do -i 0.1 -W 2 "$GUEST_IP" >"$work/jhostping" 2>&1
grep -q '3 packets transmitted, 3 received' "$work/jhostping" &&
	pass test_net_pv_mtu9000_host_pings_guest_unfragmented ||
	fail test_net_pv_mtu9000_host_pings_guest_unfragmented "$(tail -n 2 "$work/jhostping" | tr '\n' ' ')"
expect test_net_pv_mtu9000_guest_pings_host jping 0 'RESULT prog=netping sent=3 received=3 lost=0'
