#!/bin/bash
# preload_dlopen.sh LIBVADSHIM DL_ORACLE DL_LIB DL_LIB_SRC — dlopen of objects in /ramfs.
#
# The shared object DL_LIB is copied (by cp, under the shim for /ramfs)
# into a tmpfs directory and into /ramfs (a private segment), with a
# second copy other.so and a bad.so that is not ELF; dl_oracle loads them
# natively from tmpfs and under the shim from /ramfs: the transcripts
# (handles, calls, dlerror messages with the directory masked) must be
# equal, and `vadshim ramfs fsck` clean afterwards.  Then the same with the
# object compiled into the directory by the C compiler ($CC_FOR_DL_TEST,
# run under the shim for /ramfs) from DL_LIB_SRC.
. "$(dirname "$0")/preload_common.sh"

PROG=$(realpath "$2")
LIB=$(realpath "$3")
SEG="dl$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
NDIR=$(mktemp -d /dev/shm/vadshim_dl.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

setup='mkdir -p "$1" && cp "$2" "$1/lib.so" && cp "$2" "$1/other.so" && echo "not an object" > "$1/bad.so"'
native bash -c "$setup" _ "$NDIR" "$LIB"
native "$PROG" "$NDIR" >"$WORK/native.out" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded bash -c "$setup" _ /ramfs/dl "$LIB"
	preloaded "$PROG" /ramfs/dl >"$WORK/shim.out" 2>&1
	src=$?
else
	N2=$(mktemp -d /dev/shm/vadshim_dl.XXXXXX)
	native bash -c "$setup" _ "$N2" "$LIB"
	native "$PROG" "$N2" >"$WORK/shim.out" 2>&1
	src=$?
	rm -rf "$N2"
fi
status "dl_oracle" $nrc $src
same "dl_oracle transcript ($(wc -l <"$WORK/native.out") lines)" "$WORK/native.out" "$WORK/shim.out"

SRC=$(realpath "$4")
CCP=${CC_FOR_DL_TEST:-cc}
build='mkdir -p "$1" && cd "$1" && "$3" -shared -fPIC -o lib.so "$2" && cp lib.so other.so && echo "not an object" > bad.so'
if ! native bash -c "$build" _ "$NDIR/cc" "$SRC" "$CCP"; then
	fail "native compile of $SRC with $CCP"
fi
native "$PROG" "$NDIR/cc" >"$WORK/native.cc" 2>&1
nrc=$?
if [ -n "$SHIM" ]; then
	preloaded bash -c "$build" _ /ramfs/dlcc "$SRC" "$CCP" || fail "compile into /ramfs under the shim"
	preloaded "$PROG" /ramfs/dlcc >"$WORK/shim.cc" 2>&1
	src=$?
else
	native "$PROG" "$NDIR/cc" >"$WORK/shim.cc" 2>&1
	src=$?
fi
status "dl_oracle on an object compiled in place" $nrc $src
same "dl_oracle transcript, compiled in place" "$WORK/native.cc" "$WORK/shim.cc"
if [ -n "$SHIM" ]; then
	TOOL=$(dirname "$SHIM")/vadshim-ramfs
	if "$TOOL" fsck --name="$SEG"; then
		pass "ramfs_fsck clean after dl_oracle"
	else
		fail "ramfs_fsck after dl_oracle"
	fi
fi
finish
