#!/bin/bash
# run_semantics.sh PROGRAM LIBVADSHIM
# run_semantics.sh LIBVADSHIM
#
# Runs PROGRAM (mman_semantics) natively and with LD_PRELOAD=LIBVADSHIM and
# diffs the two outputs: they must be identical, and both runs must exit 0.
# LIBVADSHIM empty or "none" runs native against native (a self-check).
# With one argument, PROGRAM is $MMAN_SEMANTICS, else tests/preload/
# mman_semantics in the build directory that holds LIBVADSHIM, else in
# build/normal of this source tree.
set -u
if [ $# -ge 2 ]; then
	prog=$1
	shim=$2
else
	shim=${1:-none}
	prog=${MMAN_SEMANTICS:-}
	if [ -z "$prog" ] && [ "$shim" != none ] && [ -n "$shim" ]; then
		prog=$(dirname "$shim")/tests/preload/mman_semantics
	fi
	if [ -z "$prog" ] || [ ! -x "$prog" ]; then
		prog=$(dirname "$0")/../../build/normal/tests/preload/mman_semantics
	fi
fi
if [ ! -x "$prog" ]; then
	echo "FAIL mman_semantics: program not found: $prog"
	echo "usage: run_semantics.sh [PROGRAM] LIBVADSHIM|none"
	exit 1
fi
[ "$shim" = none ] && shim=
if [ -n "$shim" ] && [ ! -e "$shim" ]; then
	echo "FAIL mman_semantics: no such preload library: $shim"
	exit 1
fi
# meson passes targets relative to the build directory: make them absolute.
prog=$(realpath "$prog")
[ -n "$shim" ] && shim=$(realpath "$shim")

work=$(mktemp -d "${TMPDIR:-/tmp}/run_semantics.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TMPDIR=$work

# stdout is the walk; stderr should be empty (the shim's own "==vadshim=="
# diagnostics are shown but not compared).
env -u LD_PRELOAD "$prog" >"$work/native" 2>"$work/native.err"
native_rc=$?
if [ -n "$shim" ]; then
	LD_PRELOAD=$shim "$prog" >"$work/shim" 2>"$work/shim.err"
else
	env -u LD_PRELOAD "$prog" >"$work/shim" 2>"$work/shim.err"
fi
shim_rc=$?
if [ -s "$work/shim.err" ]; then
	echo "note: stderr of the preloaded run:"
	head -20 "$work/shim.err" | sed 's/^/    /'
fi
fail=0
if ! cmp -s <(grep -v '^==vadshim==' "$work/native.err") \
	<(grep -v '^==vadshim==' "$work/shim.err"); then
	echo "FAIL mman_semantics: stderr differs"
	diff -u --label native --label preload "$work/native.err" "$work/shim.err" | head -20
	fail=1
fi
if [ $native_rc -ne 0 ]; then
	echo "FAIL mman_semantics native: exit $native_rc"
	grep -n ': NO$' "$work/native"
	fail=1
fi
if [ $shim_rc -ne 0 ]; then
	if [ -n "$shim" ]; then
		echo "FAIL mman_semantics under $shim: exit $shim_rc"
	else
		echo "FAIL mman_semantics second native run: exit $shim_rc"
	fi
	fail=1
fi
if diff -u --label native --label "${shim:-native}" "$work/native" "$work/shim"; then
	echo "PASS mman_semantics: output identical ($(wc -l <"$work/native") lines)"
else
	echo "FAIL mman_semantics: output differs (- native, + preload)"
	fail=1
fi
if [ $native_rc -eq 0 ] && [ $shim_rc -eq 0 ]; then
	echo "PASS mman_semantics: exit status 0 in both runs"
fi
exit "$fail"
