#!/usr/bin/env bash
# The ABI headers are self-contained in every world they are used in:
#  - each header in ring/include/pvkvm/ alone, -std=c99 and -std=c11,
#    -pedantic -Werror -Wall -Wextra, with gcc and clang (userspace and the
#    freestanding mini-guest: also with -ffreestanding -nostdinc + the
#    compiler's own stdint/stddef);
#  - all of them together in one translation unit (C99 and C11);
#  - all of them in a trivial out-of-tree Linux module (tests/kmod/) against
#    Debian's cloud kernel headers.
# New headers are picked up by the glob.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh

inc=ring/include
headers=$(cd "$inc" && ls pvkvm/*.h)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

compile_alone() { # cc std header [extra flags]
	local cc=$1 std=$2 h=$3; shift 3
	printf '#include <%s>\n' "$h" |
		timeout 60 "$cc" -std="$std" -pedantic -Werror -Wall -Wextra "$@" \
			-I"$inc" -x c -c -o /dev/null - 2>&1
}

for cc in gcc clang; do
	if ! command -v "$cc" >/dev/null; then
		skip "abi_headers_$cc" "$cc not installed"
		continue
	fi
	for std in c99 c11; do
		errs=""
		for h in $headers; do
			out=$(compile_alone "$cc" "$std" "$h") || errs+="$h: $(printf '%s' "$out" | grep -m1 error) "
		done
		if [ -z "$errs" ]; then pass "abi_headers_alone_${cc}_${std}"; else fail "abi_headers_alone_${cc}_${std}" "$errs"; fi
	done
	# Freestanding: only the compiler's own headers (stdint.h, stddef.h).
	errs=""
	for h in $headers; do
		out=$(compile_alone "$cc" c11 "$h" -ffreestanding -nostdinc \
			-isystem "$("$cc" -print-file-name=include)") || errs+="$h: $(printf '%s' "$out" | grep -m1 error) "
	done
	if [ -z "$errs" ]; then pass "abi_headers_freestanding_$cc"; else fail "abi_headers_freestanding_$cc" "$errs"; fi
	# Together: catches clashing names (types, macros, static-assert typedefs).
	for h in $headers; do printf '#include <%s>\n' "$h"; done >"$tmp/all.c"
	for std in c99 c11; do
		check "abi_headers_together_${cc}_${std}" timeout 60 "$cc" -std="$std" -pedantic -Werror \
			-Wall -Wextra -I"$inc" -c -o /dev/null "$tmp/all.c"
	done
done

# Kernel module.
kdir=$(ls -d /usr/src/linux-headers-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
if [ -z "$kdir" ]; then
	skip abi_headers_kmod "no /usr/src/linux-headers-*-cloud-amd64 (apt-get install linux-headers-cloud-amd64)"
	exit 0
fi
if ! command -v gcc >/dev/null || ! command -v make >/dev/null; then
	skip abi_headers_kmod "gcc or make missing"
	exit 0
fi
mkdir -p "$tmp/kmod"
cp tests/kmod/Kbuild tests/kmod/pvkvm_abi_check.c "$tmp/kmod/"
for h in $headers; do printf '#include <%s>\n' "$h"; done >"$tmp/kmod/pvkvm_all_headers.h"
# The module is built with the kernel's own compiler and flags: nothing from an
# enclosing make (CC=clang, -j, SANITIZE=1) may leak into Kbuild.
if out=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC timeout 300 make -C "$kdir" M="$tmp/kmod" PVKVM_INCLUDE="$PWD/$inc" modules 2>&1) &&
	[ -f "$tmp/kmod/pvkvm_abi_check.ko" ]; then
	pass "abi_headers_kmod ($(basename "$kdir"))"
else
	fail abi_headers_kmod "$(printf '%s' "$out" | grep -m3 -E 'error|Error' | tr '\n' ' ')"
fi
