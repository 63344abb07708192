#!/usr/bin/env bash
# Options as a user meets them: a bad name or value stops the program at
# start with one line naming the option (exit 2); an exhausted arena gives
# the program ENOMEM plus one line naming arena_size; log_path writes
# PATH.PID; stats=1 prints the statistics line at exit.
# Usage: preload_options.sh /path/to/libvadshim.so
set -u
shim=$1
fail=0 pass=0
check() {  # name, condition-result
	if [ "$2" = 0 ]; then echo "PASS $1"; pass=$((pass + 1)); else echo "FAIL $1"; fail=$((fail + 1)); fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$(VADSHIM_OPTIONS=bogus=1 LD_PRELOAD=$shim /bin/true 2>&1); rc=$?
[ $rc = 2 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == *"unknown option 'bogus'"* ]]
check "unknown option: exit 2, one line naming it ($out)" $?

out=$(VADSHIM_OPTIONS=arena_size=lots LD_PRELOAD=$shim /bin/true 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"'lots'"*"arena_size"* ]]
check "bad value: exit 2, names value and option ($out)" $?

out=$(VADSHIM_OPTIONS=mman_check=7 LD_PRELOAD=$shim /bin/true 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *mman_check* ]]
check "bad boolean: exit 2, names the option" $?

# A 64 MiB arena cannot hold a 128 MiB mapping: ENOMEM, as the kernel
# gives when address space runs out, and one line naming arena_size.
py='import mmap, errno
try:
    mmap.mmap(-1, 128 << 20)
    print("mapped")
except OSError as e:
    print(errno.errorcode[e.errno])
m = mmap.mmap(-1, 1 << 20); m[:2] = b"ok"; print(m[:2].decode())'
out=$(VADSHIM_OPTIONS=arena_size=64M LD_PRELOAD=$shim python3 -c "$py" 2>"$tmp/err"); rc=$?
[ $rc = 0 ] && [ "$out" = $'ENOMEM\nok' ] && grep -q 'arena exhausted.*arena_size=' "$tmp/err" &&
	[ "$(grep -c vadshim "$tmp/err")" = 1 ]
check "arena exhausted: ENOMEM, program goes on, one line naming arena_size" $?

out=$(VADSHIM_OPTIONS=stats=1:log_path=$tmp/log LD_PRELOAD=$shim python3 -c 'import mmap; mmap.mmap(-1, 4096)' 2>&1)
f=$(ls "$tmp"/log.* 2>/dev/null | head -1)
[ -z "$out" ] && [ -n "$f" ] && grep -q '^vadshim: stats arena_size=68719476736 .*vads=' "$f"
check "log_path=PATH writes PATH.PID; stats=1 prints the stats line" $?

# Unknown options are refused before the program runs a single line.
out=$(VADSHIM_OPTIONS=stats=1:oops LD_PRELOAD=$shim sh -c 'echo ran' 2>&1)
[[ $out != *ran* ]]
check "a bad option stops the program before it runs" $?

echo "$pass passed, $fail failed"
[ $fail = 0 ]
