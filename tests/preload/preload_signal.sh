#!/bin/bash
# preload_signal.sh LIBVADSHIM SIG_TABLE SIG_STRESS — signals and the shim.
#
# 1. sig_table (sigaction's old action and flags, SA_RESETHAND, SA_NODEFER,
#    masks, SA_RESTART, signal/sysv_signal/sigset/siginterrupt, signalfd,
#    sigwait): the transcript under the shim equals the native one.
# 2. sig_stress: handlers that write, read, map and close ramfs files and
#    map anonymous memory, interrupting threads that do the same, for
#    2 s: natively on tmpfs and under the shim in /ramfs (a private
#    segment) both must end with every record and block as written, no
#    hang (timeout 60 s), and `vadshim ramfs fsck` clean.
# 3. The same run with signal_defer=0 (program handlers installed as they
#    are, so they run inside the shim's critical sections) must fail: a
#    hang (timeout 20 s), a crash, a lock report or wrong content.  This
#    shows the stress run is sensitive to the deferral.
. "$(dirname "$0")/preload_common.sh"

TABLE=$(realpath "$2")
STRESS=$(realpath "$3")
SEG="sig$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
NDIR=$(mktemp -d /dev/shm/vadshim_sig.XXXXXX)
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

native "$TABLE" >"$WORK/native.table" 2>&1
nrc=$?
preloaded "$TABLE" >"$WORK/shim.table" 2>&1
src=$?
status "sig_table" $nrc $src
same "sig_table transcript ($(wc -l <"$WORK/native.table") lines)" "$WORK/native.table" "$WORK/shim.table"

timeout 60 env -u LD_PRELOAD "$STRESS" "$NDIR" 2 >"$WORK/native.stress" 2>&1
nrc=$?
cat "$WORK/native.stress"
if [ -n "$SHIM" ]; then
	TOOL=$(dirname "$SHIM")/vadshim-ramfs
	[ -x "$TOOL" ] || { fail "no $TOOL"; finish; }
	preloaded mkdir -p /ramfs/sig
	timeout 60 env LD_PRELOAD="$SHIM" "$STRESS" /ramfs/sig 2 >"$WORK/shim.stress" 2>&1
	src=$?
	cat "$WORK/shim.stress"
	status "sig_stress (124 = hung)" $nrc $src
	if "$TOOL" fsck --name="$SEG"; then
		pass "ramfs_fsck clean after sig_stress"
	else
		fail "ramfs_fsck after sig_stress"
	fi
	if grep -q "$SHIM_DIAG" "$WORK/shim.stress"; then
		fail "sig_stress: shim diagnostics"
	else
		pass "sig_stress: no shim diagnostics"
	fi

	VADSHIM_OPTIONS="ramfs=$SEG:signal_defer=0" timeout -s KILL 20 \
		env LD_PRELOAD="$SHIM" "$STRESS" /ramfs/sig 2 >"$WORK/nodefer.stress" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		pass "signal_defer=0 breaks the same run (exit $rc; 137 = hung and killed)"
		grep -m3 -E "MISMATCH|==vadshim==" "$WORK/nodefer.stress" | sed 's/^/    /'
	else
		fail "signal_defer=0: the stress run passed, so it does not test the deferral"
		cat "$WORK/nodefer.stress"
	fi
else
	N2=$(mktemp -d /dev/shm/vadshim_sig.XXXXXX)
	timeout 60 "$STRESS" "$N2" 2 >"$WORK/shim.stress" 2>&1
	src=$?
	rm -rf "$N2"
	status "sig_stress" $nrc $src
fi
finish
