#!/usr/bin/env bash
# The mini-guest on pvnet (`pvkvm run --nic`, embedded netback, TAP), inside a
# network namespace this script creates and deletes (10.77.0.0/24 only):
# host pings the guest and the guest pings the host; UDP both ways complete
# and verified at a moderate rate; MTU 9000 both ways; link down/up; a rate
# limit within 10 %.  The guest programs and host tool are the mini-guest's
# (netping, udpsend, udprecv; pvkvm-udptool), the same ones
# tests/integration/mini_net_qemu.sh runs on QEMU's virtio-net.  Says SKIP
# while the mini-guest has no pvnet driver.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
T=${MINI_TIMEOUT:-40}
NS=pvkvm-npg-$$
TAP=pvnpg0
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

if ! have_kvm || ! command -v ip >/dev/null || ! command -v ping >/dev/null || [ "$(id -u)" != 0 ] ||
	[ ! -c /dev/net/tun ]; then
	skip test_net_pv_guest "needs root, /dev/kvm, /dev/net/tun, ip and ping"
	exit 0
fi
if [ ! -f "$ELF" ] || [ ! -x "$PVKVM" ] || [ ! -x "$B/bin/pvkvm-stored" ]; then
	fail test_net_pv_guest "$ELF or pvkvm missing (run make)"
	exit 0
fi
if [ ! -x "$TOOL" ]; then
	skip test_net_pv_guest "no $TOOL (the mini-guest network programs are not on this branch yet)"
	exit 0
fi
nsx() { ip netns exec "$NS" "$@"; }
if ! ip netns add "$NS" || ! nsx ip link set lo up || ! nsx ip tuntap add dev "$TAP" mode tap ||
	! nsx ip addr add "$HOST_IP/24" dev "$TAP" || ! nsx ip link set "$TAP" txqueuelen 10000 ||
	! nsx ip link set "$TAP" up; then
	fail test_net_pv_guest "cannot create namespace $NS with a TAP device"
	exit 0
fi
nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done
n_guest=0

# guest NAME NIC-OPTIONS "GUEST CMDLINE": pvkvm in the background; console in
# $work/NAME, exit status (the guest's S) in $work/NAME.rc
guest() {
	n_guest=$((n_guest + 1))
	echo "npg$n_guest" >"$work/$1.name"
	( timeout "$T" ip netns exec "$NS" "$PVKVM" run --name "npg$n_guest" --kernel "$ELF" --mem 128M \
		--console "file:$work/$1" --append "$3" --nic "tap=$TAP,mac=$GUEST_MAC$2" </dev/null \
		>"$work/$1.vmm" 2>&1; echo $? >"$work/$1.rc" ) &
	pids+=($!)
}
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$work/$1" 2>/dev/null && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.1
	done
	return 1
}
finish() { for _ in $(seq $((T * 10))); do [ -f "$work/$1.rc" ] && return 0; sleep 0.1; done; }
why() { tr -d '\r' <"$work/$1" 2>/dev/null | tail -n 3 | tr '\n' ' '; tail -n 2 "$work/$1.vmm" 2>/dev/null | tr '\n' ' '; }
# expect TEST NAME STATUS GREP (pvkvm exits with the guest's status itself)
expect() {
	finish "$2"
	local rc; rc=$(cat "$work/$2.rc" 2>/dev/null || echo none)
	if [ "$rc" != "$3" ]; then
		fail "$1" "exit status $rc, want $3: $(why "$2")"
	elif ! tr -d '\r' <"$work/$2" | grep -q -- "$4"; then
		fail "$1" "no '$4': $(why "$2")"
	else
		pass "$1"
	fi
}

# Does the mini-guest drive pvnet?  (One ping to the host.)
guest probe "" "test=netping ip=$GUEST_IP peer=$HOST_IP count=1 runtime=10"
finish probe
if ! tr -d '\r' <"$work/probe" 2>/dev/null | grep -q 'RESULT prog=netping sent=1 received=1'; then
	if tr -d '\r' <"$work/probe" 2>/dev/null | grep -q 'no network device'; then
		skip test_net_pv_guest "the mini-guest has no pvnet driver yet"
	else
		fail test_net_pv_guest_probe "one ping over pvnet: $(why probe)"
	fi
	exit 0
fi
pass test_net_pv_guest_pings_host_once

# --- ping both ways, then link down/up while the guest keeps answering ---
guest ping "" "test=netping ip=$GUEST_IP peer=$HOST_IP count=5 interval_ms=20 answer=10 runtime=30"
if wait_for ping "answering"; then
	nsx ping -c 5 -i 0.05 -W 2 "$GUEST_IP" >"$work/hostping" 2>&1
	nsx ip link set "$TAP" down
	nsx ping -c 2 -i 0.2 -W 1 "$GUEST_IP" >"$work/downping" 2>&1
	nsx ip link set "$TAP" up
	nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent
	nsx ip route replace 10.77.0.0/24 dev "$TAP" 2>/dev/null
	nsx ping -c 5 -i 0.05 -W 2 "$GUEST_IP" >"$work/upping" 2>&1
fi
grep -q '5 packets transmitted, 5 received' "$work/hostping" 2>/dev/null &&
	pass test_net_pv_host_pings_guest || fail test_net_pv_host_pings_guest "$(tail -n 2 "$work/hostping" 2>/dev/null | tr '\n' ' ')"
if ! grep -q ' 0% packet loss' "$work/downping" 2>/dev/null &&
	grep -q '5 packets transmitted, 5 received' "$work/upping" 2>/dev/null; then
	pass test_net_pv_link_down_stops_and_up_resumes_traffic
else
	fail test_net_pv_link_down_stops_and_up_resumes_traffic "down: $(tail -n 1 "$work/downping" 2>/dev/null) up: $(tail -n 2 "$work/upping" 2>/dev/null | tr '\n' ' ')"
fi
expect test_net_pv_guest_pings_host ping 0 'RESULT prog=netping sent=5 received=5 lost=0'

# --- UDP host -> guest: 20000 datagrams of 1000 bytes at 10k/s, all verified ---
guest urecv "" "test=udprecv ip=$GUEST_IP size=1000 runtime=20"
wait_for urecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 1000 --count 20000 --rate 10000 >"$work/hsend" 2>&1
expect test_net_pv_udp_host_to_guest_complete_and_verified urecv 0 \
	'RESULT prog=udprecv .*unique=20000 sent=20000 lost=0 dups=0 reordered=0 corrupt=0'

# --- UDP guest -> host: 20000 datagrams of 1472 bytes at 20k/s, verified by the host ---
nsx timeout "$T" "$TOOL" recv --size 1472 --time 20 >"$work/hrecv" 2>&1 &
rpid=$!
sleep 0.3
guest usend "" "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=1472 count=20000 rate=20000"
wait "$rpid"; rrc=$?
finish usend
if [ "$rrc" = 0 ] && grep -q 'RESULT prog=host-recv .*unique=20000 sent=20000 lost=0 .*corrupt=0' "$work/hrecv"; then
	pass test_net_pv_udp_guest_to_host_complete_and_verified
else
	fail test_net_pv_udp_guest_to_host_complete_and_verified "rc $rrc: $(grep RESULT "$work/hrecv") $(why usend)"
fi

# --- MTU 9000 both ways (the MTU comes from the store) ---
nsx ip link set "$TAP" mtu 9000
guest jrecv ",mtu=9000" "test=udprecv ip=$GUEST_IP mtu=9000 size=8972 runtime=20"
wait_for jrecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 8972 --count 3000 --rate 5000 >/dev/null 2>&1
expect test_net_pv_mtu9000_host_to_guest jrecv 0 'RESULT prog=udprecv .*unique=3000 sent=3000 lost=0 .*corrupt=0'
nsx timeout "$T" "$TOOL" recv --size 8972 --time 20 >"$work/jhrecv" 2>&1 &
rpid=$!
sleep 0.3
guest jsend ",mtu=9000" "test=udpsend ip=$GUEST_IP peer=$HOST_IP mtu=9000 size=8972 count=3000 rate=5000"
wait "$rpid"; rrc=$?
[ "$rrc" = 0 ] && grep -q 'unique=3000 sent=3000 lost=0' "$work/jhrecv" &&
	pass test_net_pv_mtu9000_guest_to_host || fail test_net_pv_mtu9000_guest_to_host "rc $rrc: $(grep RESULT "$work/jhrecv") $(why jsend)"
nsx ip link set "$TAP" mtu 1500

# --- rate limit: 2 MB/s of frames guest -> host, within 10 % ---
rate=2000000
nsx timeout "$T" "$TOOL" recv --size 1472 --time 8 --idle-ms 1500 --loss-ok >"$work/rrecv" 2>&1 &
rpid=$!
sleep 0.3
guest rsend ",rate=$rate" "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=1472 runtime=4"
wait "$rpid"
finish rsend
pps=$(sed -n 's/.*[ ]pps=\([0-9.]*\).*/\1/p' "$work/rrecv" | tail -n 1)
if awk -v p="${pps:-0}" -v r="$rate" 'BEGIN { b = p * 1514; exit !(b > 0.9 * r && b < 1.1 * r) }'; then
	pass "test_net_pv_rate_limit_within_ten_percent ($(awk -v p="$pps" 'BEGIN { printf "%.0f", p * 1514 }') B/s of $rate)"
else
	fail test_net_pv_rate_limit_within_ten_percent "host saw ${pps:-?} pps of 1514-byte frames, want $rate B/s +-10 %: $(grep RESULT "$work/rrecv")"
fi
