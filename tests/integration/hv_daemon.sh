#!/usr/bin/env bash
# --daemonize, then pvkvm list / console / destroy on the background guest.
set -u
. tests/lib.sh
G=$B/tests/hv_guest.elf
export PVKVM_RUN_DIR=$(mktemp -d)
W=$(mktemp -d)
cleanup() {
	[ -s "$PVKVM_RUN_DIR/dtest.pid" ] && kill -KILL "$(cat "$PVKVM_RUN_DIR/dtest.pid")" 2>/dev/null
	rm -rf "$W" "$PVKVM_RUN_DIR"
}
trap cleanup EXIT
need_kvm hv_daemon "no usable /dev/kvm"

# The echo guest: prints "ready", then echoes what arrives on COM1.
out=$(timeout 20 "$PVKVM" run --daemonize --name dtest --kernel "$G" --append e --mem 32M 2>&1); rc=$?
pid=$(cat "$PVKVM_RUN_DIR/dtest.pid" 2>/dev/null)
if [ $rc -eq 0 ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q "running as pid $pid" <<<"$out"; then
	pass test_daemonize_returns_with_guest_running
else fail test_daemonize_returns_with_guest_running "exit $rc: $out"; exit 0; fi

l=$("$PVKVM" list)
if grep -Eq "^dtest +[0-9]+ +$pid +running +32 +1 +/dev/pts/" <<<"$l"; then pass test_list_shows_daemonized_guest
else fail test_list_shows_daemonized_guest "$l"; fi
j=$("$PVKVM" list --json)
if python3 -c 'import json,sys; d=json.loads(sys.argv[1]); g=[x for x in d if x["name"]=="dtest"][0]; assert g["pid"]=='"$pid"' and g["state"]=="running" and g["mem_mib"]==32 and g["domid"]>=1' "$j" 2>/dev/null; then
	pass test_list_json_parses
else fail test_list_json_parses "$j"; fi

# Console: our input reaches the guest (which echoes it), Ctrl-] x detaches.
(sleep 0.5; printf 'ping-123'; sleep 1.5; printf '\035x') | timeout 15 "$PVKVM" console dtest >"$W/con" 2>&1; rc=$?
if [ $rc -eq 0 ] && grep -q ready "$W/con" && grep -q ping-123 "$W/con"; then pass test_console_attach_echo_and_detach
else fail test_console_attach_echo_and_detach "exit $rc: $(tr -d '\r' <"$W/con" | head -c 200)"; fi
if kill -0 "$pid" 2>/dev/null; then pass test_console_detach_leaves_guest_running
else fail test_console_detach_leaves_guest_running "guest gone"; fi

out=$(timeout 20 "$PVKVM" destroy dtest 2>&1); rc=$?
gone() { ! kill -0 "$1" 2>/dev/null || ps -o stat= -p "$1" | grep -q Z; }
if [ $rc -eq 0 ] && gone "$pid" && [ ! -e "$PVKVM_RUN_DIR/dtest.pid" ]; then
	pass test_destroy_stops_guest_and_cleans_run_dir
else fail test_destroy_stops_guest_and_cleans_run_dir "exit $rc: $out; $(ls "$PVKVM_RUN_DIR")"; fi
if [ -e "$PVKVM_RUN_DIR/dtest.log" ]; then
	pass test_daemon_log_kept_in_run_dir
else fail test_daemon_log_kept_in_run_dir "no dtest.log"; fi

out=$("$PVKVM" destroy dtest 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "no running guest named 'dtest'" <<<"$out"; then pass test_destroy_unknown_guest_fails
else fail test_destroy_unknown_guest_fails "exit $rc: $out"; fi
out=$("$PVKVM" console nosuch 2>&1); rc=$?
if [ $rc -eq 1 ]; then pass test_console_unknown_guest_fails; else fail test_console_unknown_guest_fails "exit $rc: $out"; fi

# The interactive console: raw terminal, escape key, terminal restored.
timeout 60 python3 tests/integration/hv_tty.py "$PVKVM" "$G"

# A daemonized guest whose image is bad fails in the foreground.
out=$("$PVKVM" run --daemonize --name bad --kernel /etc/hostname 2>&1); rc=$?
if [ $rc -eq 1 ] && grep -q "unknown image format" <<<"$out"; then pass test_daemonize_reports_load_error
else fail test_daemonize_reports_load_error "exit $rc: $out"; fi
exit 0
