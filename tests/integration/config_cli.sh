#!/usr/bin/env bash
# CLI tests of `pvkvm validate` and `pvkvm check`: exit codes, messages, the
# schema with xmllint, and the examples with their file paths pointed at
# temporary fixtures (the examples name /var/lib/pvkvm/... paths).
set -u
. tests/lib.sh
T=$(mktemp -d /tmp/pvkvm-cfgcli.XXXXXX)
trap 'rm -rf "$T"' EXIT
V() { timeout 20 "$PVKVM" validate "$@"; }

# Fixtures: a bzImage-shaped kernel (0x55aa at 510, "HdrS" at 0x202), raw and qcow2 images.
head -c 8192 /dev/zero > "$T/kernel"
printf '\125\252HdrS' | dd of="$T/kernel" bs=1 seek=510 conv=notrunc status=none
printf 'HdrS' | dd of="$T/kernel" bs=1 seek=514 conv=notrunc status=none
head -c 65536 /dev/zero > "$T/raw"
{ printf 'QFI\373\0\0\0\3'; head -c 65528 /dev/zero; } > "$T/qcow2"
blockdev=
for b in /sys/block/*; do
	n=${b##*/}; case $n in loop*|ram*) continue;; esac
	[ -b "/dev/$n" ] && [ -w "/dev/$n" ] && dd if="/dev/$n" of=/dev/null bs=512 count=1 status=none 2>/dev/null \
		&& { blockdev=/dev/$n; break; }
done

for x in config/examples/*.xml; do
	name=$(basename "$x" .xml)
	check "xmllint_relaxng_accepts_$name" xmllint --noout --relaxng config/domain.rng "$x"
	check "validate_no_file_checks_accepts_$name" V --quiet --no-file-checks "$x"
	if grep -q pvkvm-test-block "$x" && [ -z "$blockdev" ]; then
		skip "validate_accepts_$name" "no writable block device on this host"; continue
	fi
	sed -e "s#/var/lib/pvkvm/[^<']*\.qcow2#$T/qcow2#g" -e "s#/var/lib/pvkvm/[^<']*\.\(img\|raw\)#$T/raw#g" \
	    -e "s#/var/lib/pvkvm/[^<']*#$T/kernel#g" -e "s#/var/log/pvkvm/#$T/#g" \
	    -e "s#/dev/pvkvm-test-block#$blockdev#g" "$x" > "$T/$name.xml"
	check "validate_accepts_$name" V "$T/$name.xml"
done

# --print writes a description that validates and prints identically again.
V --print --no-file-checks config/examples/pv-disk-nic.xml > "$T/p1.xml" &&
V --print --no-file-checks "$T/p1.xml" > "$T/p2.xml" &&
xmllint --noout --relaxng config/domain.rng "$T/p1.xml" 2>/dev/null && cmp -s "$T/p1.xml" "$T/p2.xml" \
	&& pass validate_print_round_trips || fail validate_print_round_trips "printed XML differs or is invalid"

expect_exit() { # NAME WANT_RC STDERR_SUBSTRING CMD...
	local name=$1 want=$2 sub=$3 rc; shift 3
	"$@" > "$T/out" 2> "$T/err"; rc=$?
	if [ "$rc" -ne "$want" ]; then fail "$name" "exit $rc, expected $want: $(head -c 300 "$T/err")"
	elif [ -n "$sub" ] && ! grep -qF -- "$sub" "$T/err" "$T/out"; then fail "$name" "no '$sub' in: $(head -c 300 "$T/err")"
	else pass "$name"; fi
}
printf "<domain type='pvkvm'>\n  <name>x</name>\n  <memory>64</memory>\n  <os><kernel>$T/kernel</kernel></os>\n  <vcpu>300</vcpu>\n</domain>\n" > "$T/vcpu.xml"
printf "<domain type='pvkvm'>\n  <name>x</name>\n  <memory>64</memory>\n  <os><kernel>$T/kernel</kernel></os>\n  <floppy/>\n</domain>\n" > "$T/schema.xml"
printf "<domain type='pvkvm'>\n  <name>x</name>\n" > "$T/broken.xml"
sed "s#file='$T/raw'#file='$T/qcow2'#" "$T/pv-disk-nic.xml" > "$T/qcow-as-raw.xml"
expect_exit validate_semantic_error_exits_1_with_line 1 "$T/vcpu.xml:5: vcpu: 300 is out of range" V "$T/vcpu.xml"
expect_exit validate_schema_error_exits_1_with_line 1 "$T/schema.xml:5: unexpected element <floppy>" V "$T/schema.xml"
expect_exit validate_malformed_xml_exits_1_with_line 1 "$T/broken.xml:3:" V "$T/broken.xml"
expect_exit validate_qcow2_declared_raw_exits_1 1 "declared raw but the file is a qcow2 image" V "$T/qcow-as-raw.xml"
expect_exit validate_missing_file_exits_1 1 "cannot read: No such file or directory" V "$T/none.xml"
expect_exit validate_without_file_exits_1 1 "expected a domain XML FILE" V
expect_exit validate_unknown_option_exits_1 1 "unknown option" V --bogus x.xml
expect_exit validate_quiet_prints_nothing 0 "" V --quiet --no-file-checks config/examples/minimal.xml
[ -s "$T/out" ] && fail validate_quiet_is_silent "printed: $(cat "$T/out")" || pass validate_quiet_is_silent
expect_exit validate_help_exits_0 0 "usage: pvkvm validate" V --help
expect_exit check_help_exits_0 0 "usage: pvkvm check" timeout 20 "$PVKVM" check --help
expect_exit check_unknown_option_exits_1 1 "unknown argument" timeout 20 "$PVKVM" check --bogus

# pvkvm check on this host: 0 when /dev/kvm works, 2 when it does not.
if have_kvm; then want=0; else want=2; fi
expect_exit "check_exits_$want" $want "" timeout 30 "$PVKVM" check
if [ -d /sys/module/kvm_pvm ] && have_kvm; then
	grep -q "PVM (kvm_pvm)" "$T/out" && pass check_reports_pvm || fail check_reports_pvm "$(cat "$T/out")"
fi
timeout 30 "$PVKVM" check --json > "$T/json" 2>/dev/null
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "kvm_kind" in d and d["checks"]' "$T/json" \
		&& pass check_json_is_valid || fail check_json_is_valid "$(head -c 300 "$T/json")"
else
	grep -q '"kvm_kind"' "$T/json" && pass check_json_is_valid || fail check_json_is_valid "no kvm_kind"
fi
