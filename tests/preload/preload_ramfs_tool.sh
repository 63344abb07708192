#!/bin/bash
# preload_ramfs_tool.sh LIBVADSHIM VADSHIM_RAMFS — `vadshim ramfs` and gc.
#
#   gc       a shimmed process opens a file, writes 3 MiB, unlinks it and
#            is killed -9: df still counts the 3 MiB (gc while it lived
#            freed nothing), gc reclaims exactly them, fsck is clean;
#   ls, df   a known tree, listed and counted (expected text written here);
#   list     shows the segment with its attached process;
#   rm       refused while a shimmed process is attached, --force removes;
#   fsck     a segment damaged on purpose (hash buckets zeroed): fsck fails
#            naming the invariant, --repair fixes it, the files are intact;
#   owner    a segment readable by others, or created under our name by
#            another uid (nobody, through setpriv), is refused with one
#            line; a shimmed process of another uid sees its own ramfs,
#            not ours, and cannot open our segment.
. "$(dirname "$0")/preload_common.sh"

TOOL=$(realpath "$2")
U=$(id -u)
SEG="tool$$"
SEG2="toolb$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
cleanup_seg() {
	rm -f "/dev/shm/vadshim.$U.$SEG" "/dev/shm/vadshim.$U.$SEG2" "/dev/shm/vadshim.65534.$SEG"
	rm -rf "$WORK"
}
trap cleanup_seg EXIT
if [ -z "$SHIM" ]; then
	echo "FAIL preload_ramfs_tool: needs the shim (/ramfs exists only under it)"
	exit 1
fi
T() { "$TOOL" --name="$SEG" "$@"; }
field() { T df | awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i } NR == 2 { print $k }'; }

# ---- gc ----
LD_PRELOAD="$SHIM" bash -c 'exec 3>/ramfs/big; head -c 3145728 /dev/zero >&3; rm /ramfs/big; echo ready; exec sleep 60' >"$WORK/ready" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
used_alive=$(field used)
g0=$(T gc)
used_after_live_gc=$(field used)
kill -9 $pid; wait $pid 2>/dev/null
used_dead=$(field used)
dfout=$(T df)
g=$(T gc)
used_gc=$(field used)
fs=$(T fsck)
if [ "$used_alive" -ge 3145728 ] && [ "$used_after_live_gc" = "$used_alive" ] &&
   [ "$used_dead" = "$used_alive" ] && echo "$dfout" | grep -q 'dead process' &&
   echo "$g" | grep -q 'freed 3145728 bytes, 1 file' && [ "$used_gc" = 0 ] &&
   [ "$fs" = "vadshim ramfs fsck: $SEG: clean" ]; then
	pass "gc: 3 MiB of an unlinked file held by a killed process: kept while alive, reclaimed by gc"
else
	fail "gc: used alive $used_alive, after gc while alive $used_after_live_gc ($g0), dead $used_dead, after gc $used_gc; gc said: $g; df: $dfout; $fs"
fi

# ---- gc of mapping pins and cwd holds ----
LD_PRELOAD="$SHIM" python3 -c '
import mmap, os, time
f = open("/ramfs/m", "w+b"); f.write(b"y" * 2097152); f.flush()
m = mmap.mmap(f.fileno(), 0); f.close(); os.unlink("/ramfs/m")
os.makedirs("/ramfs/h"); os.chdir("/ramfs/h"); os.rmdir("/ramfs/h")
print("ready", flush=True); time.sleep(60)' >"$WORK/ready2" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/ready2" ] && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
used_dead=$(field used) iused_dead=$(field iused)
g=$(T gc)
pins=$(echo "$g" | sed -n 's/.* \([0-9]*\) pinned page.*/\1/p')
holds=$(echo "$g" | sed -n 's/.* \([0-9]*\) cwd hold.*/\1/p')
if [ "$used_dead" = 2097152 ] && [ "$iused_dead" = 3 ] && [ "${pins:-0}" -ge 512 ] &&
   [ "$holds" = 1 ] && echo "$g" | grep -q 'freed 2097152 bytes, 2 file' &&
   [ "$(field used)" = 0 ] && [ "$(field iused)" = 1 ] && T fsck >/dev/null; then
	pass "gc: a killed process's mapping (2 MiB, unlinked) and cwd (removed directory)"
else
	fail "gc of pins and holds: used $used_dead, inodes $iused_dead; gc said: $g; now $(T df)"
fi

# ---- exec: the new image drops the old image's cwd hold, takes its own ----
LD_PRELOAD="$SHIM" bash -c 'mkdir /ramfs/e && cd /ramfs/e && echo ready && exec sleep 60' >"$WORK/ready4" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/ready4" ] && break; sleep 0.05; done
sleep 0.2
preloaded rmdir /ramfs/e
kill -9 $pid; wait $pid 2>/dev/null
g=$(T gc)
if echo "$g" | grep -q ' 1 cwd hold(s); freed 0 bytes, 1 file'; then
	pass "exec: one cwd hold after exec (the old image's was dropped), given back by gc"
else
	fail "exec and cwd hold: gc said: $g"
fi

# ---- automatic gc when space runs out ----
SMALL="ramfs=$SEG2:ramfs_size=8M"
VADSHIM_OPTIONS=$SMALL LD_PRELOAD="$SHIM" bash -c 'exec 3>/ramfs/x; head -c 5000000 /dev/zero >&3; rm /ramfs/x; echo ready; exec sleep 60' >"$WORK/ready3" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/ready3" ] && break; sleep 0.05; done
kill -9 $pid; wait $pid 2>/dev/null
held=$("$TOOL" --name="$SEG2" df | awk 'NR == 2 { print $3 }')
out=$(VADSHIM_OPTIONS=$SMALL preloaded bash -c 'head -c 5000000 /dev/zero >/ramfs/y && stat -c %s /ramfs/y' 2>&1)
if [ "$held" -ge 5000000 ] && [ "$out" = 5000000 ] && "$TOOL" --name="$SEG2" fsck >/dev/null; then
	pass "gc runs by itself: 5 MB held by a killed process, a new 5 MB file in an 8 MiB ramfs"
else
	fail "automatic gc: held $held, second write: $out; $("$TOOL" --name="$SEG2" df)"
fi
rm -f "/dev/shm/vadshim.$U.$SEG2"

# ---- ls, df ----
preloaded bash -c 'mkdir -p /ramfs/d/sub && printf hello >/ramfs/d/a && chmod 640 /ramfs/d/a && ln -s a /ramfs/d/l'
cat >"$WORK/ls.want" <<'EOF'
-0640   1            5 a
d0755   2           40 sub
l0777   1            1 l
EOF
T ls /d | sort >"$WORK/ls.got"
sort "$WORK/ls.want" >"$WORK/ls.want.sorted"
same "ls /d" "$WORK/ls.want.sorted" "$WORK/ls.got"
# root, d, sub, a, l
iused=$(field iused) open=$(field open) size=$(field size)
if [ "$iused" = 5 ] && [ "$open" = 0 ] && [ "$size" = 1073741824 ]; then
	pass "df: 5 inodes used, no open description, 1 GiB"
else
	fail "df: iused $iused open $open size $size: $(T df)"
fi

# ---- list, rm ----
LD_PRELOAD="$SHIM" bash -c 'cd /ramfs/d && echo up && exec sleep 60' >"$WORK/up" &
pid=$!
for _ in $(seq 1 100); do [ -s "$WORK/up" ] && break; sleep 0.05; done
if "$TOOL" list | awk -v s="$SEG" '$1 == s && $NF == 1 { ok = 1 } END { exit !ok }'; then
	pass "list: the segment with one attached process"
else
	fail "list: $("$TOOL" list)"
fi
if "$TOOL" rm "$SEG" 2>"$WORK/rm.err"; then
	fail "rm: removed a segment with an attached process"
elif ! grep -q 'still attached' "$WORK/rm.err" || [ ! -e "/dev/shm/vadshim.$U.$SEG" ]; then
	fail "rm: refused without saying why, or removed anyway: $(cat "$WORK/rm.err")"
else
	pass "rm: refused while a process is attached"
fi
kill -9 $pid; wait $pid 2>/dev/null

# ---- fsck --repair ----
# header: off_buckets at byte 64, nbuckets at byte 32 (struct ramfs_hdr)
python3 - "/dev/shm/vadshim.$U.$SEG" <<'EOF'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    h = f.read(72)
    nb, = struct.unpack_from('<I', h, 32)
    off, = struct.unpack_from('<Q', h, 64)
    f.seek(off)
    f.write(b'\0' * (4 * nb))
EOF
f1=$(T fsck); r1=$?
f2=$(T fsck --repair); r2=$?
f3=$(T fsck); r3=$?
content=$(preloaded cat /ramfs/d/a)
if [ $r1 != 0 ] && echo "$f1" | grep -q 'not found by its name' && [ $r2 = 0 ] &&
   echo "$f2" | grep -q 'repaired, clean' && [ $r3 = 0 ] && [ "$content" = hello ]; then
	pass "fsck: damage found (exit $r1), --repair fixes it, files intact"
else
	fail "fsck: [$r1] $f1 / [$r2] $f2 / [$r3] $f3 / content '$content'"
fi
if "$TOOL" rm --force "$SEG" && [ ! -e "/dev/shm/vadshim.$U.$SEG" ]; then
	pass "rm --force"
else
	fail "rm --force left /dev/shm/vadshim.$U.$SEG"
fi

# ---- owner and mode ----
preloaded bash -c 'printf secret >/ramfs/s'
chmod 644 "/dev/shm/vadshim.$U.$SEG"
out=$(preloaded cat /ramfs/s 2>&1)
if echo "$out" | grep -q 'refusing ramfs segment' && ! echo "$out" | grep -q secret; then
	pass "owner: a segment others may read is refused"
else
	fail "owner: mode 644 segment: $out"
fi
chmod 600 "/dev/shm/vadshim.$U.$SEG"
if ! command -v setpriv >/dev/null; then
	fail "owner: no setpriv to run as another uid"
elif [ "$U" != 0 ]; then
	fail "owner: the other-uid cases need root (running as uid $U)"
else
	NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	# another user pre-creates our next segment's name
	"${NOBODY[@]}" bash -c "umask 0; : >/dev/shm/vadshim.$U.$SEG2"
	out=$(VADSHIM_OPTIONS="ramfs=$SEG2" preloaded bash -c 'echo x >/ramfs/f; cat /ramfs/f' 2>&1)
	if echo "$out" | grep -q "refusing ramfs segment.*owned by uid 65534" &&
	   [ "$(stat -c %s "/dev/shm/vadshim.$U.$SEG2")" = 0 ]; then
		pass "owner: a segment another uid created under our name is refused"
	else
		fail "owner: foreign segment: $out"
	fi
	# another user's shimmed process: its own ramfs, and no way into ours
	out=$("${NOBODY[@]}" env LD_PRELOAD="$SHIM" VADSHIM_OPTIONS="ramfs=$SEG" cat /ramfs/s 2>&1)
	raw=$("${NOBODY[@]}" cat "/dev/shm/vadshim.$U.$SEG" 2>&1 | head -c 200 | tr -d '\0')
	if ! echo "$out" | grep -q secret && echo "$out" | grep -q 'No such file' &&
	   echo "$raw" | grep -q 'Permission denied'; then
		pass "owner: another uid's shimmed process cannot read our ramfs"
	else
		fail "owner: as uid 65534: cat /ramfs/s: $out; cat the segment: $raw"
	fi
fi
exit "$FAILED"
