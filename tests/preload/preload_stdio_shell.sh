#!/bin/bash
# preload_stdio_shell.sh LIBVADSHIM — shells, coreutils and python3 using
# files through stdio, redirections, directory listings and temp files.
#
# Each case runs in `bash -c` with $D set to a fresh directory: natively on
# tmpfs (the expectation), under the shim on tmpfs (host paths unchanged)
# and under the shim in the ramfs when it is served.  Output mentions the
# directory as $D.
. "$(dirname "$0")/preload_common.sh"
MOUNT=${VADSHIM_TEST_MOUNT:-/ramfs}
# Debian's python3, not a wrapper script that PATH may find first.
PY=${PYTHON:-/usr/bin/python3}
[ -x "$PY" ] || PY=python3
TMPFS=$(mktemp -d /dev/shm/vadshim_stdio_sh.XXXXXX)
# A private ramfs segment for this run, removed at the end.
SEG="stdiosh$$"
# (only where the shim has the option: a shim without a vfs refuses it)
if VADSHIM_OPTIONS="ramfs=$SEG" preloaded /bin/true 2>/dev/null; then
	export VADSHIM_OPTIONS="ramfs=$SEG"
fi
trap 'rm -rf "$WORK" "$TMPFS"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

# name, then the script (single-quoted: it runs in its own bash -c)
# shellcheck disable=SC2016
cases=(
	"seq > file; wc -l"
	'mkdir -p "$D/x" && seq 1 100000 > "$D/x/a" && wc -l < "$D/x/a" && md5sum < "$D/x/a" && tail -n 2 "$D/x/a"'
	"printf redirection"
	'printf "%s\n" alpha beta gamma > "$D/p" && printf "%05d|" 1 2 3 >> "$D/p" && cat "$D/p"; echo'
	"exec 3> and >&3"
	'exec 3>"$D/e"; echo one >&3; echo two >&3; exec 3>&-; cat "$D/e"; exec 4<"$D/e"; read -r l <&4; echo "read: $l"; exec 4<&-'
	"( a; b ) >> file"
	'( echo a; echo b ) >> "$D/f"; ( echo c; seq 3 ) >> "$D/f"; { echo d; } >> "$D/f"; cat "$D/f"'
	"sort -o in place"
	'seq 1 5000 | sort -r > "$D/u" && sort -n -o "$D/u" "$D/u" && md5sum < "$D/u" && sort -u -o "$D/v" "$D/u" "$D/u" && wc -l < "$D/v"'
	"find"
	'mkdir -p "$D/t/a/b" "$D/t/c" && touch "$D/t/a/b/f" "$D/t/c/g" "$D/t/h" && ln -s a "$D/t/l" && find "$D/t" | sed "s#^$D#\$D#" | sort && find "$D/t" -type f | wc -l && find "$D/t" -depth -name "?" | sed "s#^$D#\$D#" | sort && find -L "$D/t" -type d | wc -l'
	"ls and glob in the shell"
	'mkdir -p "$D/g" && touch "$D/g/a1" "$D/g/a2" "$D/g/b1" && ls "$D/g" && echo "$D"/g/a* | sed "s#$D#\$D#g" && ls -d "$D"/g/* | wc -l'
	"cd into the directory"
	'mkdir -p "$D/w/x" && cd "$D/w" && echo hi > rel && cat "$D/w/rel" && cd x && ls .. && pwd | sed "s#^$D#\$D#"'
	"python3 os.scandir / listdir / walk"
	'mkdir -p "$D/s/d" && touch "$D/s/f1" "$D/s/d/f2" && ln -s f1 "$D/s/l" && '"$PY"' -c "
import os, sys
d = sys.argv[1]
print(sorted((e.name, e.is_dir(), e.is_file(), e.is_symlink()) for e in os.scandir(d + \"/s\")))
print(sorted(os.listdir(d + \"/s\")))
print(sorted((os.path.relpath(r, d), sorted(ds), sorted(fs)) for r, ds, fs in os.walk(d + \"/s\")))
" "$D"'
	"python3 glob.glob"
	'mkdir -p "$D/pg/a" && touch "$D/pg/x.txt" "$D/pg/y.txt" "$D/pg/a/z.txt" && '"$PY"' -c "
import glob, os, sys
d = sys.argv[1]
print(sorted(os.path.relpath(p, d) for p in glob.glob(d + \"/pg/*.txt\")))
print(sorted(os.path.relpath(p, d) for p in glob.glob(d + \"/pg/**/*.txt\", recursive=True)))
" "$D"'
	"python3 tempfile.mkstemp(dir=...)"
	''"$PY"' -c "
import os, stat, sys, tempfile
d = sys.argv[1]
fd, p = tempfile.mkstemp(dir=d, prefix=\"pre\", suffix=\".x\")
os.write(fd, b\"data\"); os.close(fd)
print(os.path.basename(p)[:3], os.path.basename(p)[-2:], oct(stat.S_IMODE(os.stat(p).st_mode)), open(p).read())
t = tempfile.mkdtemp(dir=d)
print(oct(stat.S_IMODE(os.stat(t).st_mode)))
with tempfile.NamedTemporaryFile(dir=d) as f:
    f.write(b\"x\"); f.flush(); print(os.path.getsize(f.name))
" "$D"'
	"python3 open and print to a redirected stdout"
	''"$PY"' -c "
import sys
with open(sys.argv[1] + \"/py\", \"w\") as f:
    for i in range(1000): print(i, file=f)
print(sum(int(l) for l in open(sys.argv[1] + \"/py\")))
" "$D"; '"$PY"' -c "print(\"to stdout\")" > "$D/pyout"; cat "$D/pyout"'
	"stdin and stderr redirected"
	'seq 1 2000 | sort -r > "$D/in" && sort -n < "$D/in" | tail -n 1 && ls "$D/nosuch" 2> "$D/err"; echo "rc $?"; sed "s#$D#\$D#" "$D/err" && '"$PY"' -c "import sys; print(sum(int(l) for l in sys.stdin))" < "$D/in"'
	"stdout and stderr to one file"
	'{ echo out1; ls "$D/nosuch"; echo out2; printf "%s\n" tail; } > "$D/both" 2>&1; sed "s#$D#\$D#" "$D/both"; ( seq 3; seq 4 6 >&2 ) > "$D/b2" 2>&1; cat "$D/b2"'
	"tee, xargs, grep -r, head of a big file"
	'seq 1 50000 | tee "$D/tee" | tail -n 1 && wc -l < "$D/tee" && mkdir -p "$D/r/s" && echo needle > "$D/r/s/f" && echo hay > "$D/r/g" && grep -rl needle "$D/r" | sed "s#$D#\$D#" && ls "$D/r" | xargs -n1 echo && head -c 100 "$D/tee" | md5sum'
	"awk, sed -i, cp, cat"
	'seq 1 300 > "$D/in" && awk "{ s += \$1 } END { print s }" "$D/in" > "$D/sum" && cat "$D/sum" && sed -i "s/^1/one/" "$D/in" && grep -c one "$D/in" && cp "$D/in" "$D/in2" && cat "$D/in" "$D/in2" | md5sum'
)

# run_cases DIR MODE(native|preloaded) OUT
run_cases() {
	local dir=$1 how=$2 outf=$3 i=0 n=0
	: >"$outf"
	while [ $i -lt ${#cases[@]} ]; do
		local name=${cases[$i]} cmd=${cases[$((i + 1))]}
		i=$((i + 2)) n=$((n + 1))
		local d="$dir/case$n"
		echo "== $name" >>"$outf"
		if [ "$how" = native ]; then
			mkdir -p "$d" && native env D="$d" bash -c "$cmd" >>"$outf" 2>&1
		else
			preloaded bash -c 'mkdir -p "$1"' _ "$d" && preloaded env D="$d" bash -c "$cmd" >>"$outf" 2>&1
		fi
		echo "exit $?" >>"$outf"
		sed -i "s#$d#\$D#g" "$outf"
	done
}

run_cases "$TMPFS/native" native "$WORK/native.out"
run_cases "$TMPFS/host" preloaded "$WORK/host.out"
same "shell cases on tmpfs" "$WORK/native.out" "$WORK/host.out"

if [ -n "$SHIM" ] && [ ! -e "$MOUNT" ] &&
	preloaded bash -c "test -d '$MOUNT'" 2>/dev/null; then
	R="$MOUNT/stdio_shell.$$"
	preloaded mkdir "$R"
	run_cases "$R" preloaded "$WORK/ramfs.out"
	preloaded rm -rf "$R"
	same "shell cases on $MOUNT" "$WORK/native.out" "$WORK/ramfs.out"
elif [ -n "$SHIM" ]; then
	fail "shell cases: the shim does not serve $MOUNT"
fi
finish
