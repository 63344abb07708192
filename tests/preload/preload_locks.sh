#!/bin/bash
# preload_locks.sh LIBVADSHIM LOCK_ORACLE — record locks between processes.
#
# lock_oracle runs tables of lock steps from a parent and a worker process
# (forked, or forked and exec'd) on one file: fcntl process-associated and
# OFD locks, flock, lockf; conflicts, splits and merges, F_GETLK answers,
# release by any close and by exec's close, no inheritance by fork,
# EDEADLK, F_SETLKW woken by an unlock, EINTR with and without SA_RESTART,
# a SIGKILLed holder; then four processes contending for one lock.
# Natively on tmpfs (the kernel is the oracle) and
# under the shim in /ramfs (a private segment, checked by ramfs_fsck after
# every call) the transcripts must be equal.
. "$(dirname "$0")/preload_common.sh"

ORACLE=$(realpath "$2")
SEG="locks$$"
export VADSHIM_OPTIONS="ramfs=$SEG:ramfs_fsck=1"
NDIR=$(mktemp -d /dev/shm/vadshim_locks.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

native "$ORACLE" "$NDIR" >"$WORK/native.out" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded mkdir -p /ramfs/locks
	preloaded "$ORACLE" /ramfs/locks >"$WORK/shim.out" 2>&1
	src=$?
else
	N2=$(mktemp -d /dev/shm/vadshim_locks.XXXXXX)
	native "$ORACLE" "$N2" >"$WORK/shim.out" 2>&1
	src=$?
	rm -rf "$N2"
fi
status "lock_oracle" $nrc $src
same "lock_oracle transcript ($(wc -l <"$WORK/native.out") lines)" "$WORK/native.out" "$WORK/shim.out"

# Contention: 4 processes increment a counter in a file under blocking
# fcntl (process and OFD) and flock locks; every update must survive.
native "$ORACLE" --contend "$NDIR" >"$WORK/native-c.out" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	# without the fsck after every call (16 000 lock calls); one fsck after
	VADSHIM_OPTIONS="ramfs=$SEG" preloaded "$ORACLE" --contend /ramfs/locks \
		>"$WORK/shim-c.out" 2>&1
	src=$?
	FSCK=$(dirname "$SHIM")/vadshim-ramfs
	if "$FSCK" fsck --name="$SEG" >"$WORK/fsck.out" 2>&1; then
		pass "ramfs_fsck after the contention"
	else
		fail "ramfs_fsck after the contention: $(cat "$WORK/fsck.out")"
	fi
else
	native "$ORACLE" --contend "$NDIR" >"$WORK/shim-c.out" 2>&1
	src=$?
fi
status "lock_oracle --contend" $nrc $src
same "lock_oracle --contend: counters" "$WORK/native-c.out" "$WORK/shim-c.out"
if ! grep -q "fcntl: 0 processes failed, counter 8000" "$WORK/native-c.out"; then
	fail "lock_oracle --contend: the native run itself lost updates"
fi
finish
