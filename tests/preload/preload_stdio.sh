#!/bin/bash
# preload_stdio.sh LIBVADSHIM ORACLE... — the directory, stdio,
# temp-file, realpath, ftw and glob families (tests/preload/stdio_oracle.c).
#
# The oracle program runs natively on a tmpfs directory; its transcript is
# the expectation for
#   1. the same program under the shim on another tmpfs directory (host
#      paths: everything must pass through unchanged), and
#   2. the program under the shim on a directory in the ramfs (/ramfs or
#      the mount= option), when the shim serves one.
. "$(dirname "$0")/preload_common.sh"
shift
ORACLES=()
for o in "$@"; do ORACLES+=("$(realpath "$o")"); done
MOUNT=${VADSHIM_TEST_MOUNT:-/ramfs}

TMPFS=$(mktemp -d /dev/shm/vadshim_stdio.XXXXXX)
# A private ramfs segment for this run, removed at the end.
SEG="stdio$$"
# (only where the shim has the option: a shim without a vfs refuses it)
if VADSHIM_OPTIONS="ramfs=$SEG" preloaded /bin/true 2>/dev/null; then
	export VADSHIM_OPTIONS="ramfs=$SEG"
fi
trap 'rm -rf "$WORK" "$TMPFS"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

# run NAME DIR [preloaded]: the transcript of $ORACLE on DIR/NAME
run() {
	if [ "${3:-}" = preloaded ]; then
		preloaded mkdir -p "$2/$1" || return 1
		preloaded "$ORACLE" "$2/$1" >"$WORK/$1.out" 2>&1
	else
		mkdir -p "$2/$1" || return 1
		native "$ORACLE" "$2/$1" >"$WORK/$1.out" 2>&1
	fi
	echo "exit $?" >>"$WORK/$1.out"
}

for ORACLE in "${ORACLES[@]}"; do
	O=$(basename "$ORACLE")
	run "$O.native" "$TMPFS"
	run "$O.host" "$TMPFS" preloaded
	same "$O on tmpfs" "$WORK/$O.native.out" "$WORK/$O.host.out"
done

# ramfs_served: the shim serves $MOUNT (and the host has no such directory,
# so that a native run could not be fooled into writing there).
ramfs_served() {
	[ -n "$SHIM" ] && [ ! -e "$MOUNT" ] &&
		preloaded bash -c "test -d '$MOUNT'" 2>/dev/null
}

if ramfs_served; then
	R="$MOUNT/stdio_oracle.$$"
	preloaded mkdir "$R"
	for ORACLE in "${ORACLES[@]}"; do
		O=$(basename "$ORACLE")
		run "$O.ramfs" "$R" preloaded
		same "$O on $MOUNT" "$WORK/$O.native.out" "$WORK/$O.ramfs.out"
	done
	preloaded rm -rf "$R"
elif [ -n "$SHIM" ]; then
	fail "stdio_oracle: the shim does not serve $MOUNT"
fi
finish
