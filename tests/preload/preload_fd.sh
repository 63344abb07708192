#!/bin/bash
# preload_fd.sh LIBVADSHIM FD_ORACLE SYSTEM_ORACLE — descriptor semantics in /ramfs.
#
# fd_oracle prints a transcript of descriptor behaviour (numbering, the dup
# family, close-on-exec, offsets and status flags shared after dup and
# fork, vectors, holes, ioctl, record locks within a process, bad
# descriptors, O_APPEND, mmap coherence with read and write, exec
# inheritance).  Natively on tmpfs and under the shim in /ramfs (a
# private segment) the transcripts must be equal.
. "$(dirname "$0")/preload_common.sh"

ORACLE=$(realpath "$2")
SEG="fd$$"
export VADSHIM_OPTIONS="ramfs=$SEG:ramfs_fsck=1"
NDIR=$(mktemp -d /dev/shm/vadshim_fd.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

native "$ORACLE" "$NDIR" >"$WORK/native.out" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded mkdir -p /ramfs/fd
	preloaded "$ORACLE" /ramfs/fd >"$WORK/shim.out" 2>&1
	src=$?
else
	N2=$(mktemp -d /dev/shm/vadshim_fd.XXXXXX)
	native "$ORACLE" "$N2" >"$WORK/shim.out" 2>&1
	src=$?
	rm -rf "$N2"
fi
status "fd_oracle" $nrc $src
same "fd_oracle transcript ($(wc -l <"$WORK/native.out") lines)" "$WORK/native.out" "$WORK/shim.out"

# system() and popen() children write to the program's stdout, a file in
# the ramfs: glibc would start them without the descriptor table.
SYSTEM=$(realpath "$3")
native bash -c '"$1" > "$2/sys.out"; cat "$2/sys.out"' _ "$SYSTEM" "$NDIR" >"$WORK/n.sys" 2>&1
if [ -n "$SHIM" ]; then
	preloaded bash -c '"$1" > /ramfs/fd/sys.out; cat /ramfs/fd/sys.out' _ "$SYSTEM" >"$WORK/s.sys" 2>&1
else
	native bash -c '"$1" > "$2/sys2.out"; cat "$2/sys2.out"' _ "$SYSTEM" "$NDIR" >"$WORK/s.sys" 2>&1
fi
same "system and popen with stdout in the ramfs" "$WORK/n.sys" "$WORK/s.sys"
finish
