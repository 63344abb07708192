#!/usr/bin/env bash
# usage: check_preload.sh SIGUSR2_PROGRAM LIBVADSHIM
#
# The options of issue 5 through the real preload path (the shim's
# constructor parses VADSHIM_OPTIONS):
#  - lockstat=1: SIGUSR2 prints the lockstat table (class mman, at least
#    2000 acquisitions for 1000 mmap+munmap) and the program goes on;
#  - a program with its own SIGUSR2 handler keeps it;
#  - report_format=json: summary and graph objects at exit, parsed by
#    python's json, with the mman class in the graph;
#  - bad values of the new options: one line naming the option, exit 2.
set -u
prog=$1 lib=$2
fail=0
expect() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
run() {   # OPTIONS ARGS...
	local o=$1
	shift
	timeout 60 env LD_PRELOAD="$lib" VADSHIM_OPTIONS="$o" "$prog" "$@" 2>&1
}

out=$(run lockstat=1)
rc=$?
printf '%s\n' "$out"
expect '((rc == 0))' "lockstat=1: exit 0 (got $rc)"
expect "grep -q '^==vadshim== lockstat (SIGUSR2):' <<<\"\$out\"" "SIGUSR2 prints the table"
expect "grep -q '^after SIGUSR2, own handler ran: 0' <<<\"\$out\"" "the program goes on after SIGUSR2"
n=$(awk '/lockstat \(SIGUSR2\)/ { t = 1 } t && $1 == "mman" { print $2; exit }' <<<"$out")
expect '((${n:-0} >= 2000))' "mman row counts at least 2000 acquisitions (got ${n:-none})"
expect "grep -q '^==vadshim== lockstat (at exit):' <<<\"\$out\"" "table at exit too"

out=$(run lockstat=1 own)
printf '%s\n' "$out"
expect "grep -q '^after SIGUSR2, own handler ran: 1' <<<\"\$out\"" "the program's own SIGUSR2 handler is kept"
expect "! grep -q 'lockstat (SIGUSR2)' <<<\"\$out\"" "no table from the program's own handler"

out=$(run report_format=json own)   # own: SIGUSR2 would kill it otherwise
printf '%s\n' "$out"
expect "grep '^{' <<<\"\$out\" | python3 -c '
import json, sys
objs = [json.loads(l) for l in sys.stdin]
types = [o[\"type\"] for o in objs]
assert types == [\"summary\", \"graph\"], types
g = objs[1]
assert any(n[\"class\"] == \"mman\" and n[\"acquisitions\"] >= 2000 for n in g[\"nodes\"]), g[\"nodes\"]
assert objs[0][\"distinct\"] == 0
'" "report_format=json: summary and graph with the mman class at exit"

for bad in report_format=xml max_edges=0 max_classes=70000 lockstat_sites=x lockstat=2 suppressions=/nonexistent/file; do
	out=$(run "$bad")
	rc=$?
	name=${bad%%=*}
	expect '((rc == 2))' "$bad: exit 2 (got $rc)"
	expect "[[ \$(wc -l <<<\"\$out\") == 1 && \$out == *\"'$name'\"* ]]" "$bad: one line naming the option: $out"
done
((fail == 0)) && echo ok
exit "$fail"
