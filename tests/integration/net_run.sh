#!/usr/bin/env bash
# `pvkvm run --nic` and <interface type='ethernet'><model type='pv'/>: the
# embedded net backend creates the TAPs (MTU set), publishes the vif devices in
# the store (mac, mtu, features), and removes them when the guest ends.  Runs
# inside a network namespace of its own (re-executes itself under unshare -n):
# no host interface is touched.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
if [ -z "${PVKVM_NET_NS:-}" ]; then
	if ! unshare -n true 2>/dev/null; then
		skip test_net_run "cannot create a network namespace (needs root)"
		exit 0
	fi
	PVKVM_NET_NS=1 exec unshare -n bash "$0" "$@"
fi
ELF=$B/guest/mini.elf
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
if ! have_kvm; then
	skip test_net_run "/dev/kvm not usable"
	exit 0
fi
[ -f "$ELF" ] || { fail test_net_run "$ELF missing (run make)"; exit 0; }
ip link set lo up
export PVKVM_RUN_DIR=$work/run
mkdir -p "$PVKVM_RUN_DIR"
# /sys still shows the host's interfaces in a new namespace: ask ip.
link_mtu() { ip -o link show "$1" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
st() { timeout 5 "$PVKVM" store --socket "$PVKVM_RUN_DIR/store.sock" "$@" 2>/dev/null; }

# With no store daemon, --nic is served through the store embedded in the
# VMM (the default, --store auto); --store daemon refuses with a reason.
rc=0
timeout 20 "$PVKVM" run --name nostore --kernel "$ELF" --mem 64M --console none --append test=exit:0 \
	--nic tap=pvn0 >"$work/nostore.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
	pass test_net_run_nic_uses_embedded_store_when_no_daemon
else
	fail test_net_run_nic_uses_embedded_store_when_no_daemon "rc $rc: $(tail -n 2 "$work/nostore.out" | tr '\n' ' ')"
fi
rc=0
timeout 20 "$PVKVM" run --name nostore --kernel "$ELF" --mem 64M --console none --append test=exit:0 \
	--store daemon --nic tap=pvn0 >"$work/nostore.out" 2>&1 || rc=$?
if [ "$rc" = 2 ] && grep -q "pvkvm-stored" "$work/nostore.out"; then
	pass test_net_run_nic_without_store_is_refused_with_reason
else
	fail test_net_run_nic_without_store_is_refused_with_reason "rc $rc: $(tail -n 2 "$work/nostore.out" | tr '\n' ' ')"
fi
rc=0
timeout 20 "$PVKVM" run --name badnic --kernel "$ELF" --mem 64M --console none --append test=exit:0 \
	--nic tap=pvn0,mtu=12 >"$work/badnic.out" 2>&1 || rc=$?
if [ "$rc" = 1 ] && grep -q "bad mtu" "$work/badnic.out"; then
	pass test_net_run_bad_nic_spec_is_a_usage_error
else
	fail test_net_run_bad_nic_spec_is_a_usage_error "rc $rc: $(tail -n 2 "$work/badnic.out" | tr '\n' ' ')"
fi

"$B/bin/pvkvm-stored" --socket "$PVKVM_RUN_DIR/store.sock" >"$work/stored.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$PVKVM_RUN_DIR/store.sock" ] && break; sleep 0.1; done

# The guest waits for data/done in the store (test=pv:store host=1), so the
# devices can be looked at while it runs.
timeout 30 "$PVKVM" run --name nettest --kernel "$ELF" --mem 64M --console none \
	--append "test=pv:store host=1" --nic tap=pvn0,mtu=9000,mac=52:54:00:aa:bb:01,rate=1m \
	--nic tap=pvn1 >"$work/run.out" 2>&1 &
guest=$!
for _ in $(seq 100); do ip link show pvn1 >/dev/null 2>&1 && break; sleep 0.1; done
mtu=$(link_mtu pvn0)
mac=$(st read /local/domain/0/backend/vif/1/0/mac)
bmtu=$(st read /local/domain/0/backend/vif/1/0/mtu)
fe=$(st read /local/domain/1/device/vif/1/backend)
state=$(st read /local/domain/0/backend/vif/1/1/state)
if [ "$mtu" = 9000 ] && [ "$mac" = 52:54:00:aa:bb:01 ] && [ "$bmtu" = 9000 ] &&
   [ "$fe" = /local/domain/0/backend/vif/1/1 ] && [ "$state" = 2 ]; then
	pass test_net_run_nic_creates_tap_and_store_devices
else
	fail test_net_run_nic_creates_tap_and_store_devices "tap mtu '$mtu', mac '$mac', mtu key '$bmtu', fe->be '$fe', state '$state'"
fi
# Hot-plug a third interface into the running guest, then take it out again.
out=$(timeout 10 "$PVKVM" attach-interface nettest tap=pvh2,mtu=2000 2>&1)
hmac=$(st read /local/domain/0/backend/vif/1/2/mac)
if [ "$out" = "nettest: vif/2 on pvh2" ] && [ "$(link_mtu pvh2)" = 2000 ] &&
   [ "$hmac" = 52:54:00:00:01:02 ] && [ -f "$PVKVM_RUN_DIR/nettest.vif2.pid" ]; then
	pass test_net_attach_interface_hot_plugs_vif
else
	fail test_net_attach_interface_hot_plugs_vif "'$out', mtu '$(link_mtu pvh2)', mac '$hmac'"
fi
out=$(timeout 10 "$PVKVM" detach-interface nettest --dev 2 2>&1)
if [ "$out" = "nettest: vif/2 detached" ] && ! ip link show pvh2 >/dev/null 2>&1 &&
   [ -z "$(st read /local/domain/1/device/vif/2/backend)" ] && [ ! -f "$PVKVM_RUN_DIR/nettest.vif2.pid" ]; then
	pass test_net_detach_interface_removes_vif
else
	fail test_net_detach_interface_removes_vif "'$out'"
fi
rc=0
timeout 10 "$PVKVM" detach-interface nettest --dev 2 >/dev/null 2>&1 || rc=$?
rc2=0
timeout 10 "$PVKVM" attach-interface nosuchguest tap=pvh3 >/dev/null 2>&1 || rc2=$?
if [ "$rc" = 1 ] && [ "$rc2" = 1 ]; then
	pass test_net_detach_unknown_and_attach_to_missing_guest_are_user_errors
else
	fail test_net_detach_unknown_and_attach_to_missing_guest_are_user_errors "detach rc $rc, attach rc $rc2"
fi
st write /local/domain/1/data/host ping >/dev/null
st write /local/domain/1/data/done 1 >/dev/null
rc=0; wait "$guest" || rc=$?
left=$(st ls /local/domain/0/backend/vif/1 | wc -l)
if [ "$rc" = 0 ] && ! ip link show pvn0 >/dev/null 2>&1 && [ "$left" = 0 ]; then
	pass test_net_run_guest_end_removes_taps_and_devices
else
	fail test_net_run_guest_end_removes_taps_and_devices "rc $rc, devices left $left: $(tail -n 2 "$work/run.out" | tr '\n' ' ')"
fi

# The domain XML route: <interface type='ethernet'> with model pv.
cat >"$work/dom.xml" <<XML
<domain type='pvkvm'>
  <name>netxml</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type>hvm</type><kernel>$PWD/$ELF</kernel><cmdline>test=pv:store host=1</cmdline></os>
  <devices>
    <interface type='ethernet'>
      <target dev='pvx0'/>
      <mac address='52:54:00:aa:bb:07'/>
      <model type='pv'/>
      <mtu size='4000'/>
      <bandwidth><outbound average='1000'/></bandwidth>
    </interface>
    <console type='file'><source path='$work/xml.console'/></console>
  </devices>
</domain>
XML
timeout 30 "$PVKVM" run "$work/dom.xml" >"$work/xml.out" 2>&1 &
guest=$!
for _ in $(seq 100); do ip link show pvx0 >/dev/null 2>&1 && break; sleep 0.1; done
mac=$(st read /local/domain/0/backend/vif/1/0/mac)
mtu=$(link_mtu pvx0)
st write /local/domain/1/data/host ping >/dev/null
st write /local/domain/1/data/done 1 >/dev/null
rc=0; wait "$guest" || rc=$?
if [ "$mac" = 52:54:00:aa:bb:07 ] && [ "$mtu" = 4000 ] && [ "$rc" = 0 ]; then
	pass test_net_run_xml_interface_model_pv_served
else
	fail test_net_run_xml_interface_model_pv_served "mac '$mac' mtu '$mtu' rc $rc: $(tail -n 2 "$work/xml.out" | tr '\n' ' ')"
fi

# Hot-plug into a guest that is not domain 1: two guests run, the second gets
# domid 2, and attach-interface must publish its vif under domain 2.
timeout 30 "$PVKVM" run --name domone --kernel "$ELF" --mem 64M --console none \
	--append "test=pv:store host=1" >"$work/one.out" 2>&1 &
g1=$!
for _ in $(seq 100); do [ -n "$(st read /local/domain/1/name)" ] && break; sleep 0.1; done
timeout 30 "$PVKVM" run --name domtwo --kernel "$ELF" --mem 64M --console none \
	--append "test=pv:store host=1" >"$work/two.out" 2>&1 &
g2=$!
for _ in $(seq 100); do [ -n "$(st read /local/domain/2/name)" ] && break; sleep 0.1; done
out=$(timeout 10 "$PVKVM" attach-interface domtwo tap=pvd2 2>&1)
fe=$(st read /local/domain/2/device/vif/0/backend)
wrong=$(st read /local/domain/1/device/vif/0/backend)
timeout 10 "$PVKVM" detach-interface domtwo --dev 0 >/dev/null 2>&1
gone=$(st read /local/domain/2/device/vif/0/backend)
for d in 1 2; do
	st write /local/domain/$d/data/host ping >/dev/null
	st write /local/domain/$d/data/done 1 >/dev/null
done
wait "$g1" "$g2" 2>/dev/null
if [ "$fe" = /local/domain/0/backend/vif/2/0 ] && [ -z "$wrong" ] && [ -z "$gone" ]; then
	pass test_net_attach_interface_uses_the_guests_domid
else
	fail test_net_attach_interface_uses_the_guests_domid "'$out', dom2 fe '$fe', dom1 fe '$wrong', after detach '$gone'"
fi
