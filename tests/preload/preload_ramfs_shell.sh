#!/bin/bash
# preload_ramfs_shell.sh LIBVADSHIM — everyday shell work in /ramfs.
#
# One script of everyday commands (mkdir -p, cp, cp -r, cp -p, mv, ln,
# ln -s, ls -l, find, du, tar c|x, gzip, sort -o, sort -T, dd, truncate,
# >>, seq > file, rm -r, df) runs twice: natively in a fresh directory on
# tmpfs (/dev/shm: the kernel is the oracle) and under the shim in a fresh
# directory under /ramfs (a private segment for this test, with
# ramfs_fsck=1: every invariant checked after every file call).  The
# transcripts (outputs, exit statuses) and a manifest of the resulting
# tree (names, types, sizes, modes, link counts, digests) must be equal.
. "$(dirname "$0")/preload_common.sh"

SEG="preloadsh$$"
export VADSHIM_OPTIONS="ramfs=$SEG:ramfs_fsck=1"
cleanup_seg() { rm -f "/dev/shm/vadshim.$(id -u).$SEG"; rm -rf "$WORK"; }
trap cleanup_seg EXIT

# The work, run inside directory $1 by bash; prints a transcript.
# Paths stay relative or "$D"-based so both runs print the same text.
cat >"$WORK/work.sh" <<'EOS'
D=$1
cd "$D" || exit 9
step() { printf '== %s\n' "$*"; }
step mkdir; mkdir -p a/b/c a/d; echo rc=$?
step seq; seq 1 100000 > a/seq.txt; echo rc=$? lines=$(wc -l < a/seq.txt)
step append; for i in 1 2 3; do echo "line $i" >> a/log; done; cat a/log
step subshell-append; ( echo x; echo y ) >> a/log; wc -l < a/log
step printf; printf '%s\n' alpha beta gamma > a/b/words; cat a/b/words
step exec-fd; exec 3> a/fd3; echo via3 >&3; exec 3>&-; cat a/fd3
step cp; cp a/seq.txt a/d/copy.txt; cmp a/seq.txt a/d/copy.txt && echo same
step cp-p; chmod 640 a/b/words; touch -d '2020-01-02 03:04:05' a/b/words
cp -p a/b/words a/d/words.p; stat -c '%a %Y %s' a/d/words.p
step cp-r; cp -r a/b a/b2; ls -R a/b2
step mv; mv a/b2 a/b3; ls a
step ln; ln a/seq.txt a/hard; stat -c '%h' a/seq.txt
step ln-s; ln -s seq.txt a/soft; readlink a/soft; cat a/soft | tail -1
step ls-l; ls -l a | awk '{print $1, $2, ($1 ~ /^d/ ? "-" : $5), $NF}'
step find; find a | sort
step find-type; find a -type f -name '*.txt' | sort
step du; du -s --apparent-size -B1 a/seq.txt
step tar; mkdir t; tar cf - a | tar xf - -C t 2>&1; find t -type f | sort | head -20
step gzip; gzip -k a/seq.txt; gzip -t a/seq.txt.gz && echo gz-ok
zcat a/seq.txt.gz | md5sum
step sort-o; sort -r -o a/sorted a/seq.txt; head -3 a/sorted
step sort-T; sort -n -S 64K -T "$D/a" a/sorted | tail -2
step dd; dd if=a/seq.txt of=a/dd.out bs=4096 count=10 status=none; stat -c %s a/dd.out
dd if=/dev/zero of=a/zero bs=1M count=3 status=none; stat -c %s a/zero
step truncate; truncate -s 100 a/dd.out; stat -c %s a/dd.out; truncate -s 1M a/dd.out
stat -c %s a/dd.out; od -An -c -j 99 -N 3 a/dd.out
step rename-over; echo new > a/n; mv -f a/n a/log; cat a/log
step rm-r; rm -r a/b3; ls a | tr '\n' ' '; echo
step errors; cat a/nope 2>&1 | sed 's/.*: //'; mkdir a 2>&1 | sed 's/.*: //'
rmdir a 2>&1 | sed 's/.*: //'; ln a/log a/d/words.p 2>&1 | sed 's/.*: //'
step cd-pwd; (cd a/b/c && pwd | sed "s|^$D|D|" && cd .. && ls)
step df; df -P . | tail -1 | awk '{print ($2 > 0) ? "has-size" : "no-size"}'
EOS

# The manifest of a tree: every entry with its type, size, mode, links and
# digest, sorted, with times left out (they differ between runs) and the
# size of directories too (tmpfs counts it in its own way; README, Limits).
cat >"$WORK/manifest.sh" <<'EOS'
cd "$1" || exit 9
{ find . -type d -printf '%p d %m %n\n'; find . ! -type d -printf '%p %y %s %m %n\n'; } | sort
find . -type f -print0 | sort -z | xargs -0 md5sum
EOS

NATIVE_DIR=$(mktemp -d /dev/shm/vadshim_sh.XXXXXX)
chmod 755 "$NATIVE_DIR"
RAMFS_DIR="/ramfs/sh.$$"
trap 'cleanup_seg; rm -rf "$NATIVE_DIR"' EXIT

native bash "$WORK/work.sh" "$NATIVE_DIR" >"$WORK/n.out" 2>&1; nrc=$?
native bash "$WORK/manifest.sh" "$NATIVE_DIR" >"$WORK/n.man" 2>&1

if [ -n "$SHIM" ]; then
	preloaded mkdir -p "$RAMFS_DIR"
	preloaded bash "$WORK/work.sh" "$RAMFS_DIR" >"$WORK/s.out" 2>&1; src=$?
	preloaded bash "$WORK/manifest.sh" "$RAMFS_DIR" >"$WORK/s.man" 2>&1
	preloaded env LC_ALL=C df -P /ramfs | tail -1 | awk '{print $1}' >"$WORK/s.df"
else
	S2=$(mktemp -d /dev/shm/vadshim_sh.XXXXXX); chmod 755 "$S2"
	native bash "$WORK/work.sh" "$S2" >"$WORK/s.out" 2>&1; src=$?
	native bash "$WORK/manifest.sh" "$S2" >"$WORK/s.man" 2>&1
	rm -rf "$S2"
fi
# The directories' own names appear in no output (cd "$D" first), except
# the sort -T path and pwd, which the script rewrote.
status "shell script" $nrc $src
same "transcript" "$WORK/n.out" "$WORK/s.out"
same "manifest" "$WORK/n.man" "$WORK/s.man"
if [ -n "$SHIM" ]; then
	# The files are still there for a second, separate process.
	preloaded cat "$RAMFS_DIR/a/log" >"$WORK/s.cat" 2>&1
	echo new >"$WORK/n.cat"
	same "seen by a later process" "$WORK/n.cat" "$WORK/s.cat"
	preloaded rm -rf "$RAMFS_DIR"
	if preloaded test -e "$RAMFS_DIR"; then fail "rm -rf left $RAMFS_DIR"; else pass "rm -rf"; fi
fi
finish
