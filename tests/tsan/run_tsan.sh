#!/usr/bin/env bash
# usage: run_tsan.sh TSAN_PROGRAM LIBVADSHIM race|clean
#
# Runs a program built with -fsanitize=thread under LD_PRELOAD=libvadshim.so
# (the shim comes first in symbol order, so the program's mmap family
# reaches the shim, and the shim's own host calls reach TSan's
# interceptors through dlsym(RTLD_NEXT)).
#   race:  TSan must still report the program's race, naming race.c.
#   clean: no report at all, exit 0, no hang (a timeout guards it).
# Some TSan runtimes cannot map their shadow with the kernel's full ASLR
# entropy ("ThreadSanitizer: unexpected memory mapping"); then the run is
# repeated under `setarch -R` (no randomization), which always works.
set -u
prog=$1 lib=$2 mode=$3
out=$(mktemp)
trap 'rm -f "$out"' EXIT

run() {
	timeout 60 env LD_PRELOAD="$lib" VADSHIM_OPTIONS= TSAN_OPTIONS="halt_on_error=0 exitcode=66" \
		"$@" "$prog" "$mode" >"$out" 2>&1
}
run
rc=$?
if grep -q 'unexpected memory mapping' "$out" && command -v setarch >/dev/null; then
	echo "note: TSan needs less ASLR entropy here; rerunning under setarch -R"
	run setarch "$(uname -m)" -R
	rc=$?
fi
cat "$out"
fail=0
expect() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
expect '((rc != 124))' "no hang (timeout)"
case $mode in
race)
	expect "grep -q '^WARNING: ThreadSanitizer: data race' '$out'" "TSan reports the program's race"
	expect "grep -q 'worker .*race.c:' '$out'" "the race report names the racing function"
	expect "! grep -q 'libvadshim.so+' '$out'" "no report blames the shim's own code"
	expect '((rc == 66))' "TSan's exit code 66 (got $rc)"
	;;
clean)
	expect "! grep -q 'ThreadSanitizer' '$out'" "no TSan report for the race-free variant"
	expect '((rc == 0))' "exit 0 (got $rc)"
	expect "grep -q '^counter 4000$' '$out'" "the program ran to the end"
	;;
esac
((fail == 0)) && echo ok
exit "$fail"
