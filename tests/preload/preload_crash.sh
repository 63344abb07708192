#!/bin/bash
# preload_crash.sh LIBVADSHIM CRASH_WRITER VADSHIM_RAMFS — kill -9 loop.
#
# CRASH_KILLS times (default 100): start crash_writer (3 threads creating,
# writing, renaming, truncating, appending to, unlinking files in /ramfs
# of a private segment, journaling each finished step to a host file),
# kill -9 it after a random delay, then
#   - `vadshim-ramfs fsck` must say clean (the first locker after a death
#     inside the segment lock repairs first: that repair is under test);
#   - crash_writer check: every file the journal says was closed has its
#     exact content, every in-flight step is either done or not done.
# The writer must still be running when it is killed (it exits 1 on any
# unexpected error).  Seeds are printed; CRASH_SEED=N replays a run.
# At the end: gc, fsck, and the check once more.
. "$(dirname "$0")/preload_common.sh"

WRITER=$(realpath "$2")
TOOL=$(realpath "$3")
KILLS=${CRASH_KILLS:-100}
BASE=${CRASH_SEED:-$(( ($(date +%s%N) / 1000) % 1000000 ))}
SEG="crash$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
cleanup_seg() { rm -f "/dev/shm/vadshim.$(id -u).$SEG"; rm -rf "$WORK"; }
trap cleanup_seg EXIT
if [ -z "$SHIM" ]; then
	echo "FAIL preload_crash: needs the shim (/ramfs exists only under it)"
	exit 1
fi

J=$WORK/journal
: >"$J"
echo "preload_crash: $KILLS kills, base seed $BASE (CRASH_SEED=$BASE replays)"
for i in $(seq 1 "$KILLS"); do
	seed=$((BASE + i))
	# 30..209 ms: the writer is up after ~10-30 ms here
	delay=$(( (seed * 7919) % 180 + 30 ))
	# not through preloaded(): $! must be the writer itself, not a subshell
	LD_PRELOAD="$SHIM" "$WRITER" run /ramfs/crash "$J" "$seed" 3 "$i" 2>"$WORK/writer.err" &
	pid=$!
	sleep "0.$(printf '%03d' "$delay")"
	kill -9 "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	if [ "$st" != 137 ]; then
		fail "kill $i (seed $seed): the writer had stopped before the kill (status $st): $(head -3 "$WORK/writer.err")"
		break
	fi
	if ! out=$("$TOOL" --name="$SEG" fsck 2>&1); then
		fail "kill $i (seed $seed, ${delay} ms): fsck after the kill: $out"
		break
	fi
	if ! preloaded "$WRITER" check /ramfs/crash "$J" "$seed" >"$J.new" 2>"$WORK/check.err"; then
		fail "kill $i (seed $seed, ${delay} ms): $(grep -v 'as journaled' "$WORK/check.err" | head -5)"
		break
	fi
	mv "$J.new" "$J"
	[ $((i % 20)) = 0 ] && echo "  kill $i (seed $seed): clean; $(tail -1 "$WORK/check.err")"
done
if [ "$FAILED" = 0 ]; then
	pass "preload_crash: $KILLS kill -9s, fsck clean and every closed file intact after each"
	# what the killed writers held (their descriptions) goes back with gc
	gcout=$("$TOOL" --name="$SEG" gc 2>&1)
	echo "  $gcout"
	if out=$("$TOOL" --name="$SEG" fsck 2>&1) &&
	   preloaded "$WRITER" check /ramfs/crash "$J" "$BASE" >/dev/null 2>"$WORK/check.err"; then
		pass "preload_crash: gc, then fsck clean and the files intact"
	else
		fail "preload_crash: after gc: $out $(head -3 "$WORK/check.err")"
	fi
	if echo "$gcout" | grep -q ' 0 dead process'; then
		fail "preload_crash: gc found none of the killed writers"
	fi
	# the loop proved something only if some kills hit the segment lock
	reps=$("$TOOL" --name="$SEG" df | sed -n 's/^ *\([0-9]*\) repair.*/\1/p')
	if [ "${reps:-0}" -gt 0 ]; then
		pass "preload_crash: ${reps} of the kills landed inside the segment lock (repaired)"
	else
		fail "preload_crash: no kill landed inside the segment lock: repair was never tested"
	fi
fi
exit "$FAILED"
