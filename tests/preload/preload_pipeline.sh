#!/bin/bash
# preload_pipeline.sh LIBVADSHIM — shell pipelines under the shim.
#
# Each pipeline runs in `bash -c`, once natively and once with the shim
# preloaded into bash and every process of the pipeline; the output (digests
# and small summaries) must be identical.
. "$(dirname "$0")/preload_common.sh"

# name, then the pipeline (single-quoted: it runs in its own bash -c)
# shellcheck disable=SC2016
pipelines=(
	"seq|sort|gzip|gunzip|md5sum"
	'seq 1 200000 | sort -r | gzip -c | gunzip -c | md5sum'
	"sort -n with a large buffer"
	'seq 1 300000 | awk "{ print (\$1 * 7919) % 100003 }" | sort -n -S 64M | uniq -c | sort -k1,1nr -k2,2n | sed -n 1,5p; seq 1 300000 | sort -R --random-source=<(yes) | sort -n | md5sum'
	"tr|fold|sort|uniq|wc"
	'head -c 20000000 /dev/zero | tr "\0" "a" | fold -w 77 | sort | uniq -c | wc -l'
	"gzip -9 of a big file, zcat, cmp"
	'seq 1 1000000 > "$TMPDIR/p.txt" && gzip -9 -n -c "$TMPDIR/p.txt" > "$TMPDIR/p.gz" && zcat "$TMPDIR/p.gz" | cmp - "$TMPDIR/p.txt" && md5sum < "$TMPDIR/p.gz"; rm -f "$TMPDIR/p.txt" "$TMPDIR/p.gz"'
	"tar|gzip|tar"
	'mkdir -p "$TMPDIR/t/a/b" && seq 1 50000 > "$TMPDIR/t/a/one" && seq 7 99999 > "$TMPDIR/t/a/b/two" && tar --sort=name --mtime=@0 --owner=0 --group=0 -C "$TMPDIR" -cf - t | gzip -n | md5sum && tar -C "$TMPDIR" -cf - t | tar -tvf - | awk "{print \$3, \$6}" | sort; rm -rf "$TMPDIR/t"'
	"bash builtins and subshells"
	's=0; for i in $(seq 1 20000); do s=$(( (s * 31 + i) % 1000003 )); done; echo $s; a=(); for i in {1..5000}; do a+=("x$i"); done; echo "${#a[@]} ${a[4999]}"; x=$(printf "%s\n" "${a[@]}" | sha256sum); echo "$x"'
	"sha256sum|cut|paste|join"
	'seq 1 100000 | sha256sum; seq 1 2 100000 > "$TMPDIR/o"; seq 1 3 100000 > "$TMPDIR/t3"; join <(sort "$TMPDIR/o") <(sort "$TMPDIR/t3") | wc -l; paste -d, "$TMPDIR/o" "$TMPDIR/o" | cut -d, -f2 | md5sum; rm -f "$TMPDIR/o" "$TMPDIR/t3"'
)

i=0
while [ $i -lt ${#pipelines[@]} ]; do
	name=${pipelines[$i]}
	cmd=${pipelines[$((i + 1))]}
	i=$((i + 2))
	native bash -c "set -o pipefail; $cmd" >"$WORK/n.out" 2>&1
	nrc=$?
	preloaded bash -c "set -o pipefail; $cmd" >"$WORK/s.out" 2>&1
	src=$?
	if [ $nrc -ne 0 ] || [ $src -ne 0 ]; then
		fail "$name: exit status native=$nrc $SHIM_LABEL=$src"
		tail -5 "$WORK/n.out" "$WORK/s.out"
		continue
	fi
	same "$name" "$WORK/n.out" "$WORK/s.out"
done
finish
