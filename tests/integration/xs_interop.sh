#!/usr/bin/env bash
# Interoperability: Xen's own xenstore-utils (libxenstore) run unmodified
# against pvkvm-stored through XENSTORED_PATH and agree with `pvkvm store`.
source "$(dirname "$0")/../lib.sh"
STORED=${STORED:-$B/bin/pvkvm-stored}
if ! command -v xenstore-write >/dev/null; then
	skip xs_interop "xenstore-utils not installed (make deps)"
	exit 0
fi
dir=$(mktemp -d /tmp/xs_interop.XXXXXX)
sock=$dir/store.sock
"$STORED" --socket "$sock" --state-dir "$dir/state" --log-level err &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
export XENSTORED_PATH=$sock
T="timeout 10"
ours() { $T "$PVKVM" store --socket "$sock" "$@"; }

# expect NAME EXPECTED ACTUAL: PASS when both strings are equal.
expect() {
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected '$2' got '$3'"; fi
}

$T xenstore-write /i/a 1 /i/b two /i/c/d deep
expect xs_interop_xen_write_our_read "1 two deep" "$(ours read /i/a /i/b /i/c/d | tr '\n' ' ' | sed 's/ $//')"
ours write /j/x hello /j/y "with space"
expect xs_interop_our_write_xen_read "hello|with space" "$($T xenstore-read /j/x)|$($T xenstore-read /j/y)"
expect xs_interop_list_same "$($T xenstore-list /i)" "$(ours ls /i)"
expect xs_interop_ls_tree_same "$($T xenstore-ls /i)" "$(ours ls -r /i)"
$T xenstore-exists /i/a; a=$?; ours exists /i/a; b=$?
$T xenstore-exists /i/none; c=$?; ours exists /i/none; d=$?
expect xs_interop_exists_same "0 0 1 1" "$a $b $c $d"
$T xenstore-chmod /i/a r1 w2
expect xs_interop_xen_chmod_our_perms "a = \"1\"  (r1,w2)" "$(ours ls -p /i | grep '^a ')"
ours chmod /i/b n3 r4
expect xs_interop_our_chmod_xen_perms "(n3,r4)" "$($T xenstore-ls -p /i | grep '^b ' | grep -o '(.*)')"
$T xenstore-rm /i/c
ours exists /i/c/d; e=$?
ours rm /j
$T xenstore-exists /j; g=$?
expect xs_interop_rm_both_ways "1 1" "$e $g"
ours mkdir /m/n
expect xs_interop_mkdir_reads_empty "[]" "[$($T xenstore-read /m/n)]"
for i in $(seq 300); do printf '/big/child-with-a-long-name-%03d x ' "$i"; done | xargs $T xenstore-write
expect xs_interop_large_directory_parts "300 300" "$($T xenstore-list /big | wc -l) $(ours ls /big | wc -l)"
# Transactions: xenstore-write wraps every write in one (xenstore-utils' default).
$T xenstore-write /tx/1 a /tx/2 b
expect xs_interop_transaction_write "a b" "$(ours read /tx/1 /tx/2 | tr '\n' ' ' | sed 's/ $//')"

# Watches: both tools print the registration event, then each change.
ours mkdir /w
$T xenstore-watch -n 3 /w > "$dir/xen.watch" &
xw=$!
ours watch -n 3 /w > "$dir/our.watch" &
ow=$!
sleep 0.5
ours write /w/x 1
sleep 0.2
$T xenstore-write /w/y 2
wait $xw $ow
expect xs_interop_watch_same "$(cat "$dir/xen.watch" | tr '\n' ' ')" "$(cat "$dir/our.watch" | tr '\n' ' ')"
expect xs_interop_watch_events "/w /w/x /w/y" "$(tr '\n' ' ' < "$dir/our.watch" | sed 's/ $//')"

# Errors come back as Xen's strings, which libxenstore maps to errno.
out=$($T xenstore-read /no/such/node 2>&1); rc=$?
if [ $rc -ne 0 ] && [[ $out == *"No such file"* || $out == *"couldn't read"* ]]; then
	pass xs_interop_enoent_maps_to_errno
else
	fail xs_interop_enoent_maps_to_errno "rc=$rc out=$out"
fi

# Restart: the tree survives, both tools see it.
kill $pid; wait $pid 2>/dev/null
"$STORED" --socket "$sock" --state-dir "$dir/state" --log-level err &
pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && ours exists / 2>/dev/null && break; sleep 0.1; done
expect xs_interop_survives_restart "two|two" "$($T xenstore-read /i/b)|$(ours read /i/b)"

# The daemon binary: --help, a bad option, SIGTERM stops it cleanly.
check xs_stored_help "$STORED" --help
"$STORED" --no-such-option 2>/dev/null; rc=$?
expect xs_stored_bad_option_exit_1 1 "$rc"
kill -TERM $pid; wait $pid; rc=$?
if [ $rc -eq 0 ] && [ ! -e "$sock" ]; then pass xs_stored_sigterm_clean_stop; else fail xs_stored_sigterm_clean_stop "exit $rc, socket left: $(ls "$sock" 2>&1)"; fi
pid=
check xs_store_cli_help "$PVKVM" store --help
"$PVKVM" store --socket "$dir/none.sock" read /a 2>/dev/null; rc=$?
expect xs_store_cli_no_daemon_exit_2 2 "$rc"
