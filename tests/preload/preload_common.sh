# preload_common.sh — sourced by the preload_*.sh real-program tests.
# shellcheck shell=bash
#
# Each test takes the path of libvadshim.so as its only argument, runs a real
# program natively and again with LD_PRELOAD set to it, and compares what a
# user would see.  An empty argument or "none" runs native against native, to
# check the test itself.  Output: PASS/FAIL lines; exit status 1 on any FAIL.
set -u

SHIM=${1:-none}
[ "$SHIM" = none ] && SHIM=
if [ -n "$SHIM" ] && [ ! -e "$SHIM" ]; then
	echo "FAIL $(basename "$0"): no such preload library: $SHIM"
	exit 1
fi
# meson passes build targets relative to the build directory; the programs
# change directories, so make the path absolute.
[ -n "$SHIM" ] && SHIM=$(realpath "$SHIM")
if [ -n "$SHIM" ]; then
	SHIM_LABEL="under $(basename "$SHIM")"
else
	SHIM_LABEL="second native run"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vadshim_preload.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Temporary files of the programs go to the host (never /ramfs): these tests
# are about the mmap family, not the ramfs.
export TMPDIR=$WORK

FAILED=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILED=1; }

# native CMD...: run with no preload at all.
native() { env -u LD_PRELOAD "$@"; }

# preloaded CMD...: run with the shim preloaded (the whole process tree
# inherits LD_PRELOAD).
preloaded() {
	if [ -n "$SHIM" ]; then
		env LD_PRELOAD="$SHIM" "$@"
	else
		env -u LD_PRELOAD "$@"
	fi
}

# The shim's own diagnostics start with "==vadshim==" (in the sanitizers'
# style); they are shown, but not counted as output of the program.
SHIM_DIAG='^==vadshim=='

# same NAME NATIVE_FILE SHIM_FILE: PASS if identical, else FAIL with a diff.
same() {
	if grep -q "$SHIM_DIAG" "$3"; then
		echo "note: $1: shim diagnostics:"
		grep "$SHIM_DIAG" "$3" | head -5 | sed 's/^/    /'
	fi
	if cmp -s <(grep -v "$SHIM_DIAG" "$2") <(grep -v "$SHIM_DIAG" "$3"); then
		pass "$1"
	else
		fail "$1: output differs (- native, + $SHIM_LABEL)"
		diff -u --label native --label preload <(grep -v "$SHIM_DIAG" "$2") \
			<(grep -v "$SHIM_DIAG" "$3") | head -60
	fi
}

# status NAME NATIVE_RC SHIM_RC: both must be EXPECTED (default 0).
status() {
	local want=${4:-0}
	if [ "$2" -eq "$want" ] && [ "$3" -eq "$want" ]; then
		pass "$1: exit status $want in both runs"
	else
		fail "$1: exit status native=$2 $SHIM_LABEL=$3 (expected $want)"
	fi
}

finish() {
	if [ $FAILED -ne 0 ]; then
		echo "FAILED: $(basename "$0") ($SHIM_LABEL)"
		exit 1
	fi
	exit 0
}
