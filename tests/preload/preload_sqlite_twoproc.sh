#!/bin/bash
# preload_sqlite_twoproc.sh LIBVADSHIM — two sqlite3 processes, one database.
#
# sqlite_twoproc.sh (two concurrent sqlite3 writers, 100 transactions each,
# busy timeout) in rollback-journal and in WAL mode: natively on tmpfs
# (the oracle) and under the shim in /ramfs, where the processes exclude
# each other through the ramfs lock table and, in WAL mode, share the
# -shm index through MAP_SHARED mappings of a ramfs file.  The printed
# statuses, sums and integrity_check must be equal; the segment must
# pass ramfs_fsck afterwards.
. "$(dirname "$0")/preload_common.sh"

TWO=$(dirname "$(realpath "$0")")/sqlite_twoproc.sh
sqlite=${SQLITE3:-sqlite3}
if ! command -v "$sqlite" >/dev/null; then
	fail "sqlite3 not found"
	finish
fi
SEG="sq2$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
NDIR=$(mktemp -d /dev/shm/vadshim_sq2.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

for mode in delete wal; do
	native bash "$TWO" "$NDIR" $mode >"$WORK/native-$mode.out" 2>&1
	nrc=$?
	if [ -n "$SHIM" ]; then
		preloaded mkdir -p /ramfs/sq2
		preloaded bash "$TWO" /ramfs/sq2 $mode >"$WORK/shim-$mode.out" 2>&1
		src=$?
	else
		N2=$(mktemp -d /dev/shm/vadshim_sq2.XXXXXX)
		native bash "$TWO" "$N2" $mode >"$WORK/shim-$mode.out" 2>&1
		src=$?
		rm -rf "$N2"
	fi
	status "two sqlite3 writers, $mode" $nrc $src
	same "two sqlite3 writers, $mode: sums" "$WORK/native-$mode.out" "$WORK/shim-$mode.out"
	if ! grep -qx "writers: 0 0" "$WORK/native-$mode.out"; then
		fail "two sqlite3 writers, $mode: the native run itself failed"
		cat "$WORK/native-$mode.out"
	fi
done
if [ -n "$SHIM" ]; then
	FSCK=$(dirname "$SHIM")/vadshim-ramfs
	if [ -x "$FSCK" ]; then
		if "$FSCK" fsck --name="$SEG" >"$WORK/fsck.out" 2>&1; then
			pass "ramfs_fsck after the writers"
		else
			fail "ramfs_fsck after the writers: $(cat "$WORK/fsck.out")"
		fi
	else
		fail "no $FSCK to check the segment"
	fi
fi
finish
