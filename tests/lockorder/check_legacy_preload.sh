#!/usr/bin/env bash
# usage: check_legacy_preload.sh LIBVADSHIM
#
# locking=legacy through the real preload path (the shim's constructor,
# the mmap-family wrappers, the destructor's exit flush), on python3
# mapping a ramfs file (legacy_map.py: mmap, msync, mremap growth, munmap,
# a mapping left at exit), in a private segment:
#  - natively on the host and under the fixed design: the same output,
#    and under the fixed design no report and exit 0;
#  - under locking=legacy: the same output, exit 66, and JSON reports of
#    fdtable taken under lockfs_instance (each mmap: twice) and of
#    lockfs_instance taken under mman (munmap, msync, and the last
#    mapping, unmapped by python at exit or flushed by the shim's
#    destructor: three times), each with its stacks.
set -u
lib=$(realpath "$1")
script=$(dirname "$(realpath "$0")")/legacy_map.py
py=/usr/bin/python3
[[ -x $py ]] || py=python3
seg="legacy$$"
work=$(mktemp -d)
trap 'rm -rf "$work"; rm -f "/dev/shm/vadshim.$(id -u).$seg"' EXIT
fail=0
expect() { if ! eval "$1"; then echo "FAIL: $2"; fail=1; fi; }
run() {   # OPTIONS -> $work/out, $work/err, rc
	timeout 60 env LD_PRELOAD="$lib" VADSHIM_OPTIONS="ramfs=$seg:$1" "$py" "$script" /ramfs \
		>"$work/out" 2>"$work/err"
}

"$py" "$script" "$work" >"$work/native" 2>&1
cat "$work/native"

run "report_format=json"
rc=$?
cat "$work/out" "$work/err"
expect '((rc == 0))' "fixed: exit 0 (got $rc)"
expect 'cmp -s "$work/native" "$work/out"' "fixed: same output as natively"
expect '! grep -q "\"type\":\"violation\"" "$work/err"' "fixed: no lock-order report"

run "locking=legacy:report_format=json:held_stacks=1"
rc=$?
cat "$work/out" "$work/err"
expect '((rc == 66))' "legacy: exit 66 (got $rc)"
expect 'cmp -s "$work/native" "$work/out"' "legacy: same output as natively"
expect "$py - \"\$work/err\" <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
viol = [o for o in objs if o['type'] == 'violation']
pairs = {(v['acquiring']['class'], c['held_class']): v for v in viol for c in v['conflicts']}
for pair in (('fdtable', 'lockfs_instance'), ('lockfs_instance', 'mman')):
    v = pairs[pair]
    held = [h for h in v['held'] if h['class'] == pair[1]][0]
    assert len(v['acquiring']['stack']) >= 3 and len(held['stack']) >= 3, pair
    assert v['conflicts'][0]['opposite'] is not None, pair
summ = [o for o in objs if o['type'] == 'summary'][0]
counts = {(x['held_class'], x['class']): x['count'] for x in summ['violations']}
assert counts == {('lockfs_instance', 'fdtable'): 2, ('mman', 'lockfs_instance'): 3}, counts
print('legacy: both inversions reported with stacks; occurrences', counts)
PY" "legacy: the two inversions, their stacks and their occurrences"
((fail == 0)) && echo ok
exit "$fail"
