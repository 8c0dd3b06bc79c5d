#!/usr/bin/env bash
# The mini-guest's network layer and virtio-net driver on QEMU microvm (TAP,
# vhost=off), inside a network namespace this script creates and deletes: the
# host pings the guest and the guest pings the host; UDP streams both ways
# arrive complete with every payload verified; UDP echo round trips; MTU 9000
# both ways (mergeable rx buffers and big buffers); modern virtio-mmio; a
# corrupted UDP checksum is caught.  Only 10.77.0.0/24 inside the namespace
# is ever used.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
ELF=$B/guest/mini.elf
TOOL=$B/bin/pvkvm-udptool
T=${MINI_TIMEOUT:-40}
NS=pvkvm-mn-$$
TAP=pvmn0
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

if ! have_kvm || ! command -v qemu-system-x86_64 >/dev/null || ! command -v ip >/dev/null ||
	! command -v ping >/dev/null || [ "$(id -u)" != 0 ] || [ ! -c /dev/net/tun ]; then
	skip test_net_qemu "needs root, /dev/kvm, /dev/net/tun, qemu-system-x86_64, ip and ping"
	exit 0
fi
if [ ! -f "$ELF" ] || [ ! -x "$TOOL" ]; then
	fail test_net_qemu "$ELF or $TOOL missing (run make)"
	exit 0
fi
nsx() { ip netns exec "$NS" "$@"; }
if ! ip netns add "$NS" || ! nsx ip link set lo up || ! nsx ip tuntap add dev "$TAP" mode tap ||
	! nsx ip addr add "$HOST_IP/24" dev "$TAP" || ! nsx ip link set "$TAP" txqueuelen 10000 ||
	! nsx ip link set "$TAP" up; then
	fail test_net_qemu "cannot create namespace $NS with a TAP device"
	exit 0
fi
# The guest's address is known: no ARP round before the first datagram (an
# unresolved neighbour queues only ~200 KiB on the host and drops the rest).
nsx ip neigh replace "$GUEST_IP" lladdr "$GUEST_MAC" dev "$TAP" nud permanent

# guest NAME "EXTRA QEMU ARGS" "GUEST CMDLINE": QEMU in the background, output in $work/NAME
guest() {
	# shellcheck disable=SC2086
	( timeout "$T" ip netns exec "$NS" qemu-system-x86_64 -enable-kvm -cpu host,-arch-capabilities -M microvm \
		-nodefaults -no-reboot -nographic -serial stdio -m 128M \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-netdev tap,id=n0,ifname="$TAP",script=no,downscript=no,vhost=off $2 \
		-kernel "$ELF" -append "$3" </dev/null >"$work/$1" 2>&1; echo $? >"$work/$1.rc" ) &
	pids+=($!)
}
dev="-device virtio-net-device,netdev=n0,mac=$GUEST_MAC"
# wait_for NAME PATTERN: until the guest printed PATTERN (10 s at most)
wait_for() {
	for _ in $(seq 100); do
		grep -q -- "$2" "$work/$1" 2>/dev/null && return 0
		[ -f "$work/$1.rc" ] && return 1
		sleep 0.1
	done
	return 1
}
# finish NAME: waits for the guest; its QEMU exit status (S<<1)|1 is in $work/NAME.rc
finish() {
	for _ in $(seq $((T * 10))); do [ -f "$work/$1.rc" ] && return 0; sleep 0.1; done
}
why() { tr -d '\r' <"$work/$1" | grep -v '^udp\|^netping: net\|^netping: dev' | tail -n 3 | tr '\n' ' '; tr -d '\r' <"$work/$1" | grep RESULT; }
# expect TEST NAME STATUS GREP
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

# --- the layer alone: checksums, parsing, slicing, pattern, loopback UDP/ICMP ---
guest self "" "test=netselftest"
expect test_net_layer_selftest_on_loopback_device self 1 'netselftest OK'

# --- ping both ways (one boot: the guest pings the host, then answers 5 pings) ---
guest ping "$dev" "test=netping ip=$GUEST_IP peer=$HOST_IP count=5 interval_ms=20 answer=5 runtime=20"
if wait_for ping "answering"; then
	nsx ping -c 5 -i 0.05 -W 2 "$GUEST_IP" >"$work/hostping" 2>&1
fi
grep -q '5 packets transmitted, 5 received' "$work/hostping" 2>/dev/null &&
	pass test_net_host_pings_guest || fail test_net_host_pings_guest "$(tail -n 2 "$work/hostping" 2>/dev/null | tr '\n' ' ')"
expect test_net_guest_pings_host_and_answers_every_ping ping 1 'RESULT prog=netping sent=5 received=5 lost=0 .*answered=5'

# --- UDP host -> guest: 20000 datagrams of 1000 bytes at 10k/s, all verified (the TAP
# queue holds 10000 frames: one second of this stream, should QEMU's thread be descheduled) ---
guest urecv "$dev" "test=udprecv ip=$GUEST_IP size=1000 runtime=20"
wait_for urecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 1000 --count 20000 --rate 10000 >"$work/hsend" 2>&1
expect test_net_udp_host_to_guest_arrives_complete_and_verified urecv 1 \
	'RESULT prog=udprecv .*unique=20000 sent=20000 lost=0 dups=0 reordered=0 corrupt=0 .*fin=1'

# --- UDP guest -> host: 20000 datagrams of 1472 bytes at 20k/s, verified by the host tool ---
nsx timeout "$T" "$TOOL" recv --size 1472 --time 20 >"$work/hrecv" 2>&1 &
rpid=$!
sleep 0.3
guest usend "$dev" "test=udpsend ip=$GUEST_IP peer=$HOST_IP size=1472 count=20000 rate=20000"
wait "$rpid"; rrc=$?
finish usend
if [ "$rrc" = 0 ] && grep -q 'RESULT prog=host-recv .*unique=20000 sent=20000 lost=0 .*corrupt=0' "$work/hrecv"; then
	pass test_net_udp_guest_to_host_arrives_complete_and_verified
else
	fail test_net_udp_guest_to_host_arrives_complete_and_verified "rc $rrc: $(grep RESULT "$work/hrecv") $(why usend)"
fi

# --- UDP echo: 300 round trips, each echo byte-identical ---
guest uecho "$dev" "test=udpecho ip=$GUEST_IP count=300 runtime=20"
wait_for uecho "udpecho: ready" && nsx timeout "$T" "$TOOL" rtt --dst "$GUEST_IP" --size 256 --count 300 >"$work/hrtt" 2>&1
grep -q 'RESULT prog=host-rtt size=256 sent=300 received=300 bad=0' "$work/hrtt" &&
	pass test_net_udp_echo_returns_every_datagram_intact || fail test_net_udp_echo_returns_every_datagram_intact "$(cat "$work/hrtt")"
expect test_net_udp_echo_counts_its_echoes uecho 1 'RESULT prog=udpecho echoed=300 .*failed=0'

# --- MTU 9000 both ways ---
nsx ip link set "$TAP" mtu 9000
jdev="$dev,host_mtu=9000"
guest jrecv "$jdev" "test=udprecv ip=$GUEST_IP mtu=9000 size=8972 runtime=20"
wait_for jrecv "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 8972 --count 3000 --rate 5000 >/dev/null 2>&1
expect test_net_mtu9000_host_to_guest_mergeable_buffers jrecv 1 'RESULT prog=udprecv .*unique=3000 sent=3000 lost=0 .*corrupt=0'
grep -q 'mtu 9000 (device)' "$work/jrecv" && pass test_net_mtu_from_the_device_is_used ||
	fail test_net_mtu_from_the_device_is_used "$(head -n 1 "$work/jrecv")"

nsx timeout "$T" "$TOOL" recv --size 8972 --time 20 >"$work/jhrecv" 2>&1 &
rpid=$!
sleep 0.3
guest jsend "$jdev" "test=udpsend ip=$GUEST_IP peer=$HOST_IP mtu=9000 size=8972 count=3000 rate=5000"
wait "$rpid"; rrc=$?
finish jsend      # QEMU holds the TAP until it exits
[ "$rrc" = 0 ] && grep -q 'unique=3000 sent=3000 lost=0' "$work/jhrecv" &&
	pass test_net_mtu9000_guest_to_host || fail test_net_mtu9000_guest_to_host "rc $rrc: $(grep RESULT "$work/jhrecv") $(why jsend)"

guest jping "$jdev" "test=netping ip=$GUEST_IP mtu=9000 peer=$HOST_IP size=8972 count=3 answer=3 runtime=20"
wait_for jping "answering" && nsx ping -c 3 -s 8972 -M do -i 0.1 -W 2 "$GUEST_IP" >"$work/jhostping" 2>&1
grep -q '3 packets transmitted, 3 received' "$work/jhostping" &&
	pass test_net_mtu9000_host_pings_guest_unfragmented ||
	fail test_net_mtu9000_host_pings_guest_unfragmented "$(tail -n 2 "$work/jhostping" | tr '\n' ' ')"
expect test_net_mtu9000_guest_pings_host jping 1 'RESULT prog=netping sent=3 received=3 lost=0'

# Without mergeable rx buffers the driver posts whole-frame ("big") buffers.
guest jbig "$dev,host_mtu=9000,mrg_rxbuf=off" "test=udprecv ip=$GUEST_IP mtu=9000 size=8972 runtime=20"
wait_for jbig "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 8972 --count 2000 --rate 5000 >/dev/null 2>&1
expect test_net_mtu9000_host_to_guest_big_buffers jbig 1 'RESULT prog=udprecv .*unique=2000 sent=2000 lost=0 .*corrupt=0'
nsx ip link set "$TAP" mtu 1500

# --- modern virtio-mmio (version 2) ---
guest modern "-global virtio-mmio.force-legacy=false $dev" "test=udprecv ip=$GUEST_IP size=512 runtime=20"
wait_for modern "udprecv: ready" && nsx "$TOOL" send --dst "$GUEST_IP" --size 512 --count 5000 --rate 20000 >/dev/null 2>&1
expect test_net_modern_virtio_mmio_receives_verified modern 1 'RESULT prog=udprecv .*unique=5000 sent=5000 lost=0 .*corrupt=0'
grep -q 'virtio-mmio v2' "$work/modern" && pass test_net_modern_virtio_mmio_negotiated ||
	fail test_net_modern_virtio_mmio_negotiated "$(head -n 1 "$work/modern")"

# --- a datagram with a wrong UDP checksum is counted and not delivered ---
if command -v python3 >/dev/null; then
	guest badsum "$dev" "test=udprecv ip=$GUEST_IP count=10 runtime=20 idle_ms=3000 loss_ok=1"
	if wait_for badsum "udprecv: ready"; then
		nsx python3 - "$HOST_IP" "$GUEST_IP" <<'EOF'
import socket, struct, sys
src, dst = (socket.inet_aton(a) for a in sys.argv[1:3])
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
payload = b'x' * 64
udp = struct.pack('!HHHH', 7777, 7777, 8 + len(payload), 0x1234) + payload   # checksum deliberately wrong
s.sendto(udp, (socket.inet_ntoa(dst), 0))
EOF
		nsx "$TOOL" send --dst "$GUEST_IP" --size 100 --count 10 >/dev/null 2>&1
	fi
	expect test_net_bad_udp_checksum_is_counted_and_dropped badsum 3 'bad_udp_csum=1 '
else
	skip test_net_bad_udp_checksum_is_counted_and_dropped "needs python3"
fi

# --- usage and missing device ---
guest nodev "" "test=udprecv ip=$GUEST_IP"
expect test_net_without_device_says_so nodev 7 'no network device'
guest badip "$dev" "test=netping ip=10.77.0.256"
expect test_net_bad_address_is_a_usage_error badip 5 'ip=10.77.0.256: want a dotted-quad'
