#!/bin/bash
# preload_fdpass.sh LIBVADSHIM FD_PASS — descriptors over UNIX sockets.
#
# fd_pass passes files (with a pipe, alone, several with sendmmsg, to a
# forked child, to an exec'd receiver, to itself with MSG_CMSG_CLOEXEC and
# MSG_PEEK), and host descriptors alone, and hits the error cases.
# Natively on tmpfs and under the shim in /ramfs (a private segment) the
# transcripts must be equal: offsets and status flags shared with the
# receiver, bytes written by it, errno values.  Afterwards the segment
# must have no open description left (no reference lost or leaked) and
# `vadshim ramfs fsck` must be clean.
. "$(dirname "$0")/preload_common.sh"

PROG=$(realpath "$2")
SEG="fdp$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
NDIR=$(mktemp -d /dev/shm/vadshim_fdp.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

native "$PROG" "$NDIR" >"$WORK/native.out" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded mkdir -p /ramfs/fdp
	preloaded "$PROG" /ramfs/fdp >"$WORK/shim.out" 2>&1
	src=$?
else
	N2=$(mktemp -d /dev/shm/vadshim_fdp.XXXXXX)
	native "$PROG" "$N2" >"$WORK/shim.out" 2>&1
	src=$?
	rm -rf "$N2"
fi
status "fd_pass" $nrc $src
same "fd_pass transcript ($(wc -l <"$WORK/native.out") lines)" "$WORK/native.out" "$WORK/shim.out"
if [ -n "$SHIM" ]; then
	TOOL=$(dirname "$SHIM")/vadshim-ramfs
	[ -x "$TOOL" ] || { fail "no $TOOL"; finish; }
	open=$("$TOOL" df --name="$SEG" | awk 'NR == 2 { print $NF }')
	if [ "$open" = 0 ]; then
		pass "no open description left in the segment"
	else
		fail "open descriptions left in the segment: '$open' (a reference leaked)"
	fi
	if "$TOOL" fsck --name="$SEG"; then
		pass "ramfs_fsck clean after fd_pass"
	else
		fail "ramfs_fsck after fd_pass"
	fi
fi
finish
