#!/bin/bash
# preload_procs.sh LIBVADSHIM CPROJ_DIR — multi-process workloads in /ramfs.
#
#   make    make -j2 of tests/data/cproj (a generated header, objects, a
#           static library, a link step) with the tree, the objects and
#           gcc's temporaries (TMPDIR) all in the directory; the program's
#           output, make -q before and after touching an input, and the
#           rebuild are compared with the same build natively on tmpfs
#   git     init, add, commit, branch, merge, log, show, gc, fsck, status
#           with fixed names and dates, so that the hashes must match the
#           native run on tmpfs
. "$(dirname "$0")/preload_common.sh"

CPROJ=$(realpath "$2")
SEG="procs$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
NDIR=$(mktemp -d /dev/shm/vadshim_procs.XXXXXX)
chmod 755 "$NDIR"
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

CC_PROG=$(command -v cc || command -v gcc)
[ -n "$CC_PROG" ] || fail "make: no C compiler"
command -v make >/dev/null || fail "make: make not found"
command -v git >/dev/null || fail "git: git not found"

run_both() {
	local name=$1 script=$2
	mkdir -p "$NDIR/$name"
	native bash "$script" "$NDIR/$name" >"$WORK/$name.n" 2>&1
	local nrc=$?
	if [ -n "$SHIM" ]; then
		preloaded mkdir -p "/ramfs/$name"
		preloaded bash "$script" "/ramfs/$name" >"$WORK/$name.s" 2>&1
	else
		mkdir -p "$NDIR/2/$name"
		native bash "$script" "$NDIR/2/$name" >"$WORK/$name.s" 2>&1
	fi
	local src=$?
	status "$name" $nrc $src
	same "$name: transcript ($(wc -l <"$WORK/$name.n") lines)" "$WORK/$name.n" "$WORK/$name.s"
}

cat >"$WORK/make.sh" <<EOS
D=\$1
cp -r "$CPROJ" "\$D/src" || exit 9
mkdir -p "\$D/tmp"
export TMPDIR=\$D/tmp CC="$CC_PROG"
cd "\$D/src" || exit 9
step() { printf '== %s\n' "\$*"; }
step make -j2; make -s -j2 >make.log 2>&1; echo rc=\$?; cat make.log
step run; ./prog
step make -q; make -q; echo rc=\$?
step files; ls
step touch an input; sleep 1; touch table.txt; make -q; echo rc=\$?
step rebuild; make -j2 2>&1 | sort; ./prog | tail -1
step make -q; make -q; echo rc=\$?
step temporaries left; ls -A "\$TMPDIR" | wc -l
step clean; make -s clean; ls
EOS
run_both make "$WORK/make.sh"

cat >"$WORK/git.sh" <<'EOS'
D=$1
cd "$D" || exit 9
export GIT_AUTHOR_NAME=Ann GIT_AUTHOR_EMAIL=ann@example.org GIT_COMMITTER_NAME=Ann
export GIT_COMMITTER_EMAIL=ann@example.org GIT_AUTHOR_DATE='2020-01-02T03:04:05Z'
export GIT_COMMITTER_DATE='2020-01-02T03:04:05Z' HOME=$D GIT_CONFIG_NOSYSTEM=1
export GIT_CONFIG_GLOBAL=/dev/null
step() { printf '== %s\n' "$*"; }
step init; git init -q -b main repo; echo rc=$?; cd repo
step add; printf 'hello\n' > a.txt; mkdir d; seq 1 1000 > d/n.txt; git add a.txt d; echo rc=$?
step status; git status --short
step commit; git commit -q -m first; echo rc=$?; git rev-parse HEAD
step modify; echo more >> a.txt; echo new > b.txt; git status --short; git diff --stat
step commit2; git add -A; git commit -q -m second; git rev-parse HEAD
step log; git log --format='%H %an %s'
step branch and merge; git checkout -q -b topic; echo t > t.txt; git add t.txt
git commit -q -m topic; git checkout -q main; git merge -q --no-edit --no-ff topic
git log --oneline --graph | cat
step show; git show --stat HEAD~1 | cat
step gc; git gc -q; echo rc=$?; git count-objects -v | grep -E '^(count|in-pack|packs)'
step fsck; git fsck --full 2>&1; echo rc=$?
step log after gc; git log --format='%H %s' | cat
step status clean; git status --porcelain; echo rc=$?
EOS
run_both git "$WORK/git.sh"
finish
