#!/bin/bash
# preload_crash_sqlite.sh LIBVADSHIM VADSHIM_RAMFS — sqlite3's own
# recovery (hot rollback journal, WAL) after kill -9, on a database in
# /ramfs.
#
# In rollback (journal_mode=DELETE) and WAL mode, SQLITE_KILLS times: the
# sqlite3 CLI runs transactions of 100 rows each (BEGIN ... COMMIT, then
# `SELECT 'done', N`, its output line-buffered to a host file) and is
# killed -9 after a random delay.  Then, with a new sqlite3 (which rolls
# back the hot journal or recovers the WAL): PRAGMA integrity_check is
# "ok", every transaction sqlite3 reported done has its 100 rows, no
# transaction is there in part, and `vadshim-ramfs fsck` is clean.
# Seeds printed; CRASH_SEED=N replays.
. "$(dirname "$0")/preload_common.sh"

TOOL=$(realpath "$2")
SQLITE3=${SQLITE3:-sqlite3}
KILLS=${SQLITE_KILLS:-6}
BASE=${CRASH_SEED:-$(( ($(date +%s%N) / 1000) % 1000000 ))}
SEG="crashsq$$"
export VADSHIM_OPTIONS="ramfs=$SEG"
cleanup_seg() { rm -f "/dev/shm/vadshim.$(id -u).$SEG"; rm -rf "$WORK"; }
trap cleanup_seg EXIT
if [ -z "$SHIM" ]; then
	echo "FAIL preload_crash_sqlite: needs the shim (/ramfs exists only under it)"
	exit 1
fi
command -v "$SQLITE3" >/dev/null || { echo "FAIL preload_crash_sqlite: no sqlite3"; exit 1; }
command -v stdbuf >/dev/null || { echo "FAIL preload_crash_sqlite: no stdbuf"; exit 1; }
echo "preload_crash_sqlite: $KILLS kills per mode, base seed $BASE (CRASH_SEED=$BASE replays)"

# transactions FIRST: an endless-enough script of 100-row transactions (5000
# of them: on an idle machine WAL mode commits 400 in under the longest delay)
transactions() {
	local n
	for n in $(seq "$1" $(($1 + 5000))); do
		echo "BEGIN;"
		echo "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100)"
		echo "  INSERT INTO t SELECT $n, x, randomblob(1500) FROM c;"
		echo "UPDATE s SET v = v + 1;"
		echo "COMMIT;"
		echo "SELECT 'done', $n;"
	done
}

for mode in delete wal; do
	db=/ramfs/sq-$mode.db
	preloaded "$SQLITE3" "$db" "PRAGMA journal_mode=$mode;" \
		"CREATE TABLE t(n INTEGER, x INTEGER, b BLOB);" \
		"CREATE TABLE s(v INTEGER); INSERT INTO s VALUES (0);" >/dev/null || {
		fail "sqlite $mode: cannot create $db"; continue; }
	next=1
	hot=0
	: >"$WORK/done-$mode"
	for k in $(seq 1 "$KILLS"); do
		seed=$((BASE + k))
		delay=$(( (seed * 7919) % 400 + 100 ))
		transactions "$next" >"$WORK/in.sql"
		# not through preloaded(): $! must be sqlite3 itself, not a subshell
		LD_PRELOAD="$SHIM" stdbuf -oL "$SQLITE3" "$db" <"$WORK/in.sql" >"$WORK/out" 2>"$WORK/err" &
		pid=$!
		sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid"
		st=$?
		grep '^done|' "$WORK/out" | cut -d'|' -f2 >>"$WORK/done-$mode"
		ndone=$(grep -c '^done|' "$WORK/out")
		if [ "$st" != 137 ]; then
			fail "sqlite $mode kill $k (seed $seed): sqlite3 had stopped (status $st): $(head -3 "$WORK/err")"
			break
		fi
		if ! out=$("$TOOL" --name="$SEG" fsck 2>&1); then
			fail "sqlite $mode kill $k (seed $seed): $out"
			break
		fi
		# a journal left behind by the kill is hot: this sqlite3 rolls it back
		if "$TOOL" --name="$SEG" ls / | grep -q "sq-$mode.db-journal\$"; then
			hot=$((hot + 1))
		fi
		# recovery happens in this sqlite3 (hot journal / WAL)
		ic=$(preloaded "$SQLITE3" "$db" "PRAGMA integrity_check;" 2>&1)
		counts=$(preloaded "$SQLITE3" "$db" "SELECT n, count(*) FROM t GROUP BY n;" 2>&1)
		sum=$(preloaded "$SQLITE3" "$db" "SELECT v, (SELECT count(DISTINCT n) FROM t) FROM s;" 2>&1)
		if [ "$ic" != ok ]; then
			fail "sqlite $mode kill $k (seed $seed, $delay ms): integrity_check: $ic"
			break
		fi
		partial=$(echo "$counts" | awk -F'|' '$2 != 100' | head -3)
		missing=$(while read -r n; do echo "$counts" | grep -q "^$n|100\$" || echo "$n"; done \
			  <"$WORK/done-$mode" | head -3)
		v=${sum%%|*} groups=${sum##*|}
		if [ -n "$partial" ] || [ -n "$missing" ] || [ "$v" != "$groups" ]; then
			fail "sqlite $mode kill $k (seed $seed, $delay ms): partial [$partial] missing committed [$missing] counter $v vs $groups transactions"
			break
		fi
		last=$(echo "$counts" | tail -1 | cut -d'|' -f1)
		next=$(( ${last:-0} + 1 ))
		echo "  $mode kill $k (seed $seed, $delay ms): $ndone reported done, $groups transactions in the db, ok"
	done
	total=$(wc -l <"$WORK/done-$mode")
	if [ "$mode" = delete ] && [ "$hot" = 0 ] && [ "$FAILED" = 0 ]; then
		fail "sqlite delete: no kill left a hot journal (recovery was not tested)"
	fi
	[ "$mode" = delete ] && echo "  $hot of $KILLS kills left a hot journal"
	if [ "$total" -lt 1 ]; then
		fail "sqlite $mode: no transaction was ever reported done (the test proved nothing)"
	fi
	[ "$FAILED" = 0 ] && pass "sqlite $mode: $KILLS kill -9s, integrity ok, all $total committed transactions whole"
done
out=$("$TOOL" --name="$SEG" fsck 2>&1) || fail "fsck at the end: $out"
exit "$FAILED"
