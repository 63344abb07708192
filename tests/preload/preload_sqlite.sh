#!/bin/bash
# preload_sqlite.sh LIBVADSHIM — sqlite3 with memory-mapped I/O under the shim.
#
# sqlite3 on a database in a host temp file with PRAGMA mmap_size=256 MiB (its
# reads then go through a MAP_SHARED mapping of the database file, re-mapped as
# the file grows), in rollback-journal mode and in WAL mode (the -shm index is a
# MAP_SHARED mapping too): create, insert 10 000 rows, index, query, update,
# delete, vacuum, integrity_check, dump.  The output must be identical natively
# and preloaded, and each side must read the other's database.
#
# preload_sqlite.sh LIBVADSHIM ramfs: the same, with the preloaded side's
# databases (and their journals, WAL and -shm index) in /ramfs (a private
# segment); the native side stays on the host and is the oracle.
. "$(dirname "$0")/preload_common.sh"

SDIR=$WORK
if [ "${2:-}" = ramfs ] && [ -n "$SHIM" ]; then
	SEG="sqlite$$"
	export VADSHIM_OPTIONS="ramfs=$SEG"
	SDIR=/ramfs/sqlite.$$
	preloaded mkdir -p "$SDIR"
	trap 'rm -rf "$WORK"; rm -f "/dev/shm/vadshim.$(id -u).$SEG"' EXIT
fi

sqlite=${SQLITE3:-sqlite3}
if ! command -v "$sqlite" >/dev/null; then
	fail "sqlite3 not found"
	finish
fi

script() { # script JOURNAL_MODE
	cat <<SQL
PRAGMA mmap_size=268435456;
PRAGMA journal_mode=$1;
PRAGMA page_size=4096;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, v TEXT, b BLOB);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
INSERT INTO t
  SELECT x, (x * 7919) % 1000,
         printf('row-%06d-%08x', x, (x * 2654435761) % 4294967296),
         zeroblob(100 + x % 300)
  FROM c;
COMMIT;
PRAGMA mmap_size;
SELECT count(*), sum(k), min(v), max(v), sum(length(b)) FROM t;
CREATE INDEX t_k ON t(k);
SELECT k, count(*) FROM t WHERE k BETWEEN 100 AND 105 GROUP BY k ORDER BY k;
SELECT id, v FROM t WHERE k = 42 ORDER BY id LIMIT 5;
UPDATE t SET v = upper(v), b = zeroblob(500) WHERE id % 7 = 0;
DELETE FROM t WHERE id % 11 = 0;
SELECT count(*), sum(k), sum(length(b)), max(v) FROM t;
SELECT group_concat(id) FROM (SELECT id FROM t WHERE k = 999 ORDER BY id);
PRAGMA wal_checkpoint(TRUNCATE);
VACUUM;
PRAGMA integrity_check;
SELECT count(*), sum(id * k) % 1000003 FROM t;
SQL
}

check_db() { # check_db DB: a read-only pass, through the mapping as well
	cat <<SQL | "$@" 2>&1
PRAGMA mmap_size=268435456;
PRAGMA integrity_check;
SELECT count(*), sum(k), sum(length(b)), max(v) FROM t;
SELECT sum(length(v)), total(id) FROM t;
SQL
}

for mode in delete wal; do
	script "$mode" >"$WORK/$mode.sql"
	native "$sqlite" "$WORK/native-$mode.db" <"$WORK/$mode.sql" >"$WORK/native-$mode.out" 2>&1
	nrc=$?
	preloaded "$sqlite" "$SDIR/shim-$mode.db" <"$WORK/$mode.sql" >"$WORK/shim-$mode.out" 2>&1
	src=$?
	status "sqlite3 $mode: create/insert/query" $nrc $src
	same "sqlite3 $mode: query output" "$WORK/native-$mode.out" "$WORK/shim-$mode.out"
	if ! grep -qx 268435456 "$WORK/native-$mode.out"; then
		fail "sqlite3 $mode: mmap_size not in effect natively"
	fi

	native "$sqlite" "$WORK/native-$mode.db" .dump >"$WORK/native-$mode.dump" 2>&1
	preloaded "$sqlite" "$SDIR/shim-$mode.db" .dump >"$WORK/shim-$mode.dump" 2>&1
	# the preloaded side's database, copied out byte for byte by a preloaded cat
	[ "$SDIR" = "$WORK" ] || preloaded cat "$SDIR/shim-$mode.db" >"$WORK/shim-$mode.db"
	same "sqlite3 $mode: .dump of each database" "$WORK/native-$mode.dump" "$WORK/shim-$mode.dump"

	# cross-read: the preloaded sqlite3 reads the native database and back
	check_db native "$sqlite" "$WORK/native-$mode.db" >"$WORK/x-native-$mode"
	check_db preloaded "$sqlite" "$WORK/native-$mode.db" >"$WORK/x-shim-$mode"
	same "sqlite3 $mode: preloaded reads the native database" "$WORK/x-native-$mode" "$WORK/x-shim-$mode"
	check_db native "$sqlite" "$WORK/shim-$mode.db" >"$WORK/y-native-$mode"
	same "sqlite3 $mode: native reads the preloaded database" "$WORK/x-native-$mode" "$WORK/y-native-$mode"
done
echo "($(wc -l <"$WORK/native-wal.out") lines of query output per mode)"
finish
