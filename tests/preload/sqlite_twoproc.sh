#!/bin/bash
# sqlite_twoproc.sh DIR MODE [N] — two sqlite3 processes write one database.
#
# Creates DIR/twoproc-MODE.db (MODE: delete = rollback journal, or wal),
# then runs two sqlite3 processes at once, each doing N (default 100)
# write transactions (BEGIN IMMEDIATE; insert a row that records the
# shared counter; rewrite 40 filler rows; bump the counter; COMMIT) with a busy timeout, so that they take turns through
# SQLite's POSIX locks (and in WAL mode through its -shm index, mapped
# MAP_SHARED by both).  Serialised transactions see distinct counter
# values 0..2N-1.  Prints the exit statuses, the final sums and
# integrity_check; the caller compares them with a run on tmpfs.
# sqlite3 is $SQLITE3 or the one in PATH; whatever LD_PRELOAD the caller
# set applies to both processes.  Used by preload_sqlite_twoproc and by
# `vadshim bench procs` (time it).
set -u
dir=$1 mode=$2 n=${3:-100}
sqlite=${SQLITE3:-sqlite3}
db=$dir/twoproc-$mode.db
rm -f "$db" "$db-journal" "$db-wal" "$db-shm"

"$sqlite" "$db" >/dev/null <<SQL || { echo "setup failed"; exit 1; }
PRAGMA journal_mode=$mode;
CREATE TABLE t(w INTEGER, i INTEGER, v INTEGER, seen INTEGER, PRIMARY KEY(w, i));
CREATE TABLE f(w INTEGER, b BLOB);
CREATE TABLE c(n INTEGER, s INTEGER);
INSERT INTO c VALUES(0, 0);
SQL

writer() { # writer W: N transactions
	local w=$1 i
	echo ".timeout 60000"
	echo ".bail on"
	for ((i = 1; i <= n; i++)); do
		echo "BEGIN IMMEDIATE;"
		echo "INSERT INTO t VALUES($w, $i, $((w * 100000 + i)), (SELECT n FROM c));"
		echo "DELETE FROM f WHERE w = $w;"
		echo "INSERT INTO f WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 40) SELECT $w, zeroblob(300) FROM r;"
		echo "UPDATE c SET n = n + 1, s = s + (SELECT v FROM t WHERE w = $w AND i = $i);"
		echo "COMMIT;"
	done
}

writer 1 | "$sqlite" "$db" >"$dir/twoproc-$mode.1.out" 2>&1 &
p1=$!
writer 2 | "$sqlite" "$db" >"$dir/twoproc-$mode.2.out" 2>&1 &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
echo "writers: $r1 $r2"
cat "$dir/twoproc-$mode.1.out" "$dir/twoproc-$mode.2.out"
"$sqlite" "$db" <<SQL
PRAGMA journal_mode;
SELECT count(*), sum(v), count(DISTINCT w), count(DISTINCT seen), min(seen), max(seen) FROM t;
SELECT count(*) FROM f;
SELECT n, s FROM c;
SELECT (SELECT sum(v) FROM t) = (SELECT s FROM c);
PRAGMA integrity_check;
SQL
rm -f "$db" "$db-journal" "$db-wal" "$db-shm" "$dir/twoproc-$mode".[12].out
