#!/bin/bash
# preload_python_ramfs.sh LIBVADSHIM — CPython's own file tests with their
# temporary files in /ramfs.
#
# Runs `python3 -m test -v --tempdir DIR test_os test_shutil test_tempfile
# test_pathlib test_glob test_fileio test_io test_mmap test_posix` with
# TMPDIR=DIR, natively with DIR on tmpfs (/dev/shm) and under the shim
# with DIR under /ramfs (a private segment), and compares the outcome of
# every single test.  The tests listed in python_ramfs_known.txt (each
# with its reason, also in the README) may differ; any other difference
# fails.  $PYTHON overrides the interpreter.
. "$(dirname "$0")/preload_common.sh"

TESTS="test_os test_shutil test_tempfile test_pathlib test_glob test_fileio test_io test_mmap test_posix"
KNOWN="$(dirname "$0")/python_ramfs_known.txt"
SEG="pyramfs$$"
export VADSHIM_OPTIONS="ramfs=$SEG:ramfs_size=4G"

py=${PYTHON:-python3}
real=$(native "$py" -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$real" ] || ! native "$real" -c 'import test.test_os' 2>/dev/null; then
	fail "python3 with its test package not found ($py)"
	finish
fi

NDIR=$(mktemp -d /dev/shm/vadshim_py.XXXXXX)
RDIR=/ramfs/py.$$
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

run() { # run native|preloaded DIR OUT
	(cd "$WORK" && TMPDIR=$2 "$1" "$real" -m test -v --tempdir "$2" $TESTS) >"$3" 2>&1
}

run native "$NDIR" "$WORK/native.log"
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded mkdir -p "$RDIR"
	run preloaded "$RDIR" "$WORK/shim.log"
	src=$?
	preloaded rm -rf "$RDIR"
else
	N2=$(mktemp -d /dev/shm/vadshim_py.XXXXXX)
	run native "$N2" "$WORK/shim.log"
	src=$?
	rm -rf "$N2"
fi

# One line per test: "name (module.Class.name) ... outcome", sorted.  A
# test with a docstring prints the docstring on the outcome line instead
# of its name; the two such tests here (os.TermsizeTests) depend on the
# terminal and are left out.
outcomes() {
	grep -E ' \.\.\. (ok|skipped.*|FAIL|ERROR|expected failure|unexpected success)$' "$1" |
		grep -E '\(test\.' |
		sed -E 's/ \.\.\. skipped.*/ ... skipped/' | sort -u
}
outcomes "$WORK/native.log" >"$WORK/native.sum"
outcomes "$WORK/shim.log" >"$WORK/shim.sum"
known() { grep -v '^#' "$KNOWN" 2>/dev/null | awk 'NF {print $1}'; }

echo "native:  $(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/native.log" | tr '\n' ' ')"
echo "preload: $(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/shim.log" | tr '\n' ' ')"
if ! grep -qE '^(Total tests:|Result:|Tests result:)' "$WORK/shim.log"; then
	fail "python tests: no final result line $SHIM_LABEL (crashed or hung?)"
	tail -40 "$WORK/shim.log"
	finish
fi
# Tests whose outcome differs, minus the known ones.
diff <(sed 's/ \.\.\. .*//' "$WORK/native.sum" | sort -u) \
	<(sed 's/ \.\.\. .*//' "$WORK/shim.sum" | sort -u) >/dev/null ||
	echo "note: the sets of test names differ"
join -t '|' <(sed 's/ \.\.\. /|/' "$WORK/native.sum" | sort -t '|' -k1,1) \
	<(sed 's/ \.\.\. /|/' "$WORK/shim.sum" | sort -t '|' -k1,1) |
	awk -F'|' '$2 != $3' >"$WORK/differ"
grep -v -F -f <(known | sed 's/^/(/; s/$/)/') "$WORK/differ" >"$WORK/unexpected" || true
n_all=$(wc -l <"$WORK/native.sum")
n_diff=$(wc -l <"$WORK/differ")
n_unexp=$(wc -l <"$WORK/unexpected")
echo "tests compared: $n_all; differing: $n_diff (known: $((n_diff - n_unexp)))"
if [ "$n_unexp" -eq 0 ]; then
	pass "python tests in /ramfs: every outcome as native, except the $((n_diff - n_unexp)) known"
else
	fail "python tests in /ramfs: $n_unexp outcomes differ from native (name|native|shim):"
	head -40 "$WORK/unexpected"
	for t in $(head -5 "$WORK/unexpected" | sed -E 's/.*\(([^)]*)\).*/\1/'); do
		echo "--- $t"
		grep -A12 -E "^(FAIL|ERROR): .*\($t\)" "$WORK/shim.log" | head -14
	done
fi
finish
