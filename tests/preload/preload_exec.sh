#!/bin/bash
# preload_exec.sh LIBVADSHIM EXEC_ORACLE STATIC_PROBE — descriptors, cwd and programs
# across exec and posix_spawn in /ramfs.
#
#   exec_oracle     posix_spawn(p) with each file action and attribute,
#                   their errors, fexecve, execveat, ELF binaries and #!
#                   scripts stored in the directory, offsets and flags
#                   shared after exec, vfork, system: natively on tmpfs vs
#                   under the shim in /ramfs (a private segment)
#   shell cases     > >> exec 3> ( a; b ) > < | sort > and cd && prog, in
#                   dash and in bash, natively on tmpfs vs in /ramfs
#   python          subprocess.run with close_fds=True and pass_fds of a
#                   ramfs descriptor, stdout into /ramfs, cwd= in /ramfs,
#                   tempfile with TMPDIR=/ramfs/tmp
#   preserve_env    env -i and subprocess env={} keep LD_PRELOAD and
#                   VADSHIM_OPTIONS (preserve_env=1, the default) or drop
#                   them (preserve_env=0): then the program sees no /ramfs
#                   and fails cleanly (ENOENT, as on a host without it);
#                   likewise a static program (static_probe)
. "$(dirname "$0")/preload_common.sh"

ORACLE=$(realpath "$2")
STATIC=$(realpath "$3")
SEG="exec$$"
OPTS="ramfs=$SEG:ramfs_fsck=1"
export VADSHIM_OPTIONS=$OPTS
NDIR=$(mktemp -d /dev/shm/vadshim_exec.XXXXXX)
chmod 755 "$NDIR"
trap 'rm -rf "$WORK" "$NDIR"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT

# run_both NAME SCRIPT [INTERPRETER]: SCRIPT runs with $1 = a fresh
# directory, natively in tmpfs and under the shim in /ramfs.
run_both() {
	local name=$1 script=$2 sh=${3:-bash}
	mkdir -p "$NDIR/$name"
	native "$sh" "$script" "$NDIR/$name" >"$WORK/$name.n" 2>&1
	local nrc=$?
	if [ -n "$SHIM" ]; then
		preloaded mkdir -p "/ramfs/$name"
		preloaded "$sh" "$script" "/ramfs/$name" >"$WORK/$name.s" 2>&1
	else
		mkdir -p "$NDIR/2/$name"
		native "$sh" "$script" "$NDIR/2/$name" >"$WORK/$name.s" 2>&1
	fi
	local src=$?
	status "$name" $nrc $src
	same "$name: transcript ($(wc -l <"$WORK/$name.n") lines)" "$WORK/$name.n" "$WORK/$name.s"
}

# ---- the C oracle ----
cat >"$WORK/oracle.sh" <<EOS
exec "$ORACLE" "\$1"
EOS
run_both oracle "$WORK/oracle.sh"

# ---- shell cases, in dash and in bash ----
cat >"$WORK/shell.sh" <<'EOS'
D=$1
cd "$D" || exit 9
echo "== >"; printf 'c\nb\na\n' > f; cat f
echo "== >>"; echo d >> f; cat f
echo "== exec 3>"; exec 3> g; echo one >&3; echo two >&3; exec 3>&-; cat g
echo "== exec 4< and a child reading it"; exec 4< f; head -c 2 <&4 >/dev/null; cat <&4; exec 4<&-
echo "== ( a; b ) >"; ( echo first; echo second ) > h; cat h
echo "== { a; b; } >>"; { echo third; echo fourth; } >> h; cat h
echo "== <"; wc -l < f
echo "== cat | sort >"; cat f | sort > sorted; cat sorted
echo "== sort -o"; sort -r f -o f.r; cat f.r
echo "== 2>"; ls nope 2> err; sed 's/.*: //' err
echo "== cd && prog"; mkdir -p x/y; echo deep > x/y/file
(cd x && pwd | sed "s|^$D|D|" && cat y/file && sh -c 'pwd' | sed "s|^$D|D|" && ls -R)
echo "== cd && sh -c relative"; (cd x/y && sh -c 'cat file; echo more >> file' && cat file)
echo "== exec > in a subshell"; (exec > sub.out; echo into-sub; ls x) ; cat sub.out
echo "== here-doc to file"; cat > hd <<EOF
line1
line2
EOF
cat hd
echo "== tee"; echo teed | tee t1 t2 >/dev/null; cat t1 t2
echo "== xargs"; printf 'f\ng\n' | xargs cat | wc -l
echo "== script in the directory"; printf '#!/bin/sh\necho in-script "$@"; pwd | sed "s|.*/||"\n' > s.sh
chmod +x s.sh; ./s.sh a b; (cd x && ../s.sh c)
echo "== program copied into the directory"; cp /bin/cat ./mycat; ./mycat f | head -1
echo "== find -exec"; find . -name 'f*' -type f -exec wc -c {} + | sort
EOS
run_both shell_bash "$WORK/shell.sh" bash
run_both shell_dash "$WORK/shell.sh" dash

# ---- python: subprocess and tempfile ----
PYTHON=${PYTHON:-/usr/bin/python3}
cat >"$WORK/py.py" <<'EOS'
import os, subprocess, sys, tempfile
D = sys.argv[1]
os.chdir(D)
os.makedirs("tmp", exist_ok=True)
with open("out.txt", "w") as f:
    r = subprocess.run(["echo", "to-file"], stdout=f, close_fds=True)
print("stdout to file:", r.returncode, open("out.txt").read().strip())
fd = os.open("passed", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, b"abc")
r = subprocess.run(["sh", "-c", "echo +child >&%d" % fd], pass_fds=[fd], close_fds=True)
print("pass_fds:", r.returncode, "offset", os.lseek(fd, 0, os.SEEK_CUR))
os.lseek(fd, 0, os.SEEK_SET)
print("content:", os.read(fd, 100))
r = subprocess.run(["sh", "-c", "echo x >&%d" % fd], close_fds=True,
                   stderr=subprocess.DEVNULL)
print("not passed with close_fds:", r.returncode != 0)
r = subprocess.run(["sh", "-c", "echo y >&%d" % fd], close_fds=False)
print("inherited with close_fds=False:", r.returncode)
os.close(fd)
r = subprocess.run(["pwd"], capture_output=True, text=True, cwd=os.path.join(D, "tmp"))
print("cwd=:", r.stdout.strip().replace(D, "D"))
r = subprocess.run("cat out.txt passed", shell=True, capture_output=True, text=True)
print("shell=True in cwd:", r.stdout.split())
p = subprocess.Popen(["sort"], stdin=subprocess.PIPE, stdout=open("sorted", "w"))
p.communicate(b"b\na\nc\n")
print("Popen stdin pipe, stdout file:", open("sorted").read().split())
print("check_output:", subprocess.check_output(["cat", "sorted"]).split())
os.environ["TMPDIR"] = os.path.join(D, "tmp")
tempfile.tempdir = None
with tempfile.NamedTemporaryFile("w+", delete=False) as t:
    t.write("temp")
    name = t.name
print("tempfile in TMPDIR:", os.path.dirname(name).replace(D, "D"), open(name).read())
with tempfile.TemporaryDirectory() as td:
    open(os.path.join(td, "x"), "w").write("1")
    print("TemporaryDirectory:", os.listdir(td))
print("gone after the with:", not os.path.exists(td))
r = subprocess.run([sys.executable, "-c", "import os; print(open('out.txt').read().strip())"])
print("python child in cwd:", r.returncode)
EOS
if [ -x "$PYTHON" ]; then
	cat >"$WORK/py.sh" <<EOS
exec "$PYTHON" "$WORK/py.py" "\$1"
EOS
	run_both python "$WORK/py.sh"
else
	fail "python: $PYTHON not found"
fi

# ---- preserve_env, and processes without the shim ----
if [ -n "$SHIM" ]; then
	preloaded sh -c 'echo kept > /ramfs/env.txt'
	for pe in 1 0; do
		export VADSHIM_OPTIONS="$OPTS:preserve_env=$pe"
		out=$(preloaded env -i /bin/sh -c 'cat /ramfs/env.txt' 2>&1)
		out2=$(preloaded "$PYTHON" -c '
import subprocess
r = subprocess.run(["cat", "/ramfs/env.txt"], env={}, capture_output=True, text=True)
print(r.returncode, r.stdout.strip())' 2>&1)
		out3=$(preloaded "$PYTHON" -c '
import os
pid = os.posix_spawn("/bin/cat", ["cat", "/ramfs/env.txt"], {})
print(os.waitpid(pid, 0)[1] >> 8)' 2>&1 | tr '\n' ' ')
		vars=$(preloaded env -i /usr/bin/env | grep -c '^LD_PRELOAD=\|^VADSHIM_OPTIONS=')
		if [ "$pe" = 1 ]; then
			want="kept" want2="0 kept" want3="kept 0 " wantv=2
		else
			want="cat: /ramfs/env.txt: No such file or directory" want2="1 " wantv=0
			want3="cat: /ramfs/env.txt: No such file or directory 1 "
		fi
		if [ "$out" = "$want" ] && [ "$out2" = "$want2" ] && [ "$out3" = "$want3" ] &&
			[ "$vars" = "$wantv" ]; then
			pass "preserve_env=$pe: env -i, subprocess env={}, posix_spawn env {}"
		else
			fail "preserve_env=$pe: got '$out' / '$out2' / '$out3' / $vars variables"
		fi
	done
	export VADSHIM_OPTIONS=$OPTS
	# A static program never loads the shim: no /ramfs (ENOENT), and a
	# ramfs descriptor it inherits is a placeholder (EBADF), as the README
	# says.
	out=$(preloaded bash -c 'exec 5</ramfs/env.txt; "$1" /ramfs/env.txt 5' _ "$STATIC" 2>&1 |
		tr '\n' ' ')
	if [ "$out" = "open: ENOENT read inherited: EBADF " ]; then
		pass "static program: no /ramfs, inherited descriptor EBADF"
	else
		fail "static program: $out"
	fi
fi
finish
