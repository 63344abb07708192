#!/bin/bash
# preload_python_mmap.sh LIBVADSHIM — CPython's own mmap tests under the shim.
#
# Runs `python3 -m test -v test_mmap` natively and preloaded and compares the
# totals ("Total tests: run=N failures=F skipped=S", "Result: ...") and the
# outcome of every single test.  $PYTHON overrides the interpreter; the pyenv
# wrapper script is resolved to the real binary first, so that what runs under
# the shim is CPython itself.
. "$(dirname "$0")/preload_common.sh"

py=${PYTHON:-python3}
real=$(native "$py" -c 'import sys; print(sys.executable)' 2>/dev/null)
if [ -z "$real" ]; then
	fail "python3 not found ($py)"
	finish
fi
if ! native "$real" -c 'import test.test_mmap' 2>/dev/null; then
	fail "$real has no test package (test.test_mmap)"
	finish
fi

run() { # run native|preloaded OUT
	mkdir -p "$WORK/$1.cwd"
	(cd "$WORK/$1.cwd" && "$1" "$real" -m test -v test_mmap) >"$2" 2>&1
}

run native "$WORK/native.log"
nrc=$?
run preloaded "$WORK/shim.log"
src=$?

summary() { # the totals, and one line per test outcome
	grep -E '^(Total tests:|Result:|Tests result:)' "$1"
	grep -E ' \.\.\. (ok|skipped.*|FAIL|ERROR|expected failure|unexpected success)$' "$1" |
		sort
}
summary "$WORK/native.log" >"$WORK/native.sum"
summary "$WORK/shim.log" >"$WORK/shim.sum"

echo "native:  $(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/native.log" | tr '\n' ' ')"
echo "preload: $(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/shim.log" | tr '\n' ' ')"

if ! grep -qE '^(Total tests:|Result:|Tests result:)' "$WORK/native.log"; then
	fail "test_mmap: no final result line natively"
	tail -20 "$WORK/native.log"
fi
if ! grep -qE '^(Total tests:|Result:|Tests result:)' "$WORK/shim.log"; then
	fail "test_mmap: no final result line $SHIM_LABEL (crashed?)"
	tail -40 "$WORK/shim.log"
fi
if cmp -s <(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/native.sum") \
	<(grep -E '^(Total tests:|Result:|Tests result:)' "$WORK/shim.sum"); then
	pass "test_mmap: same pass/fail/skip counts and result"
else
	fail "test_mmap: counts differ"
fi
same "test_mmap: same outcome for every test" "$WORK/native.sum" "$WORK/shim.sum"
if [ $nrc -ne $src ]; then
	fail "test_mmap: exit status native=$nrc $SHIM_LABEL=$src"
	tail -40 "$WORK/shim.log"
else
	pass "test_mmap: same exit status ($nrc)"
fi
finish
