#!/bin/bash
# preload_gcc.sh LIBVADSHIM — gcc under the shim.
#
# The whole compiler process tree (gcc, cc1, as, collect2, ld) runs with the
# shim preloaded.  cc1's garbage-collected heap lives in mmap'ed pages, so a
# larger generated translation unit at -O2 gives the arena real work.  The
# compiled programs must print the same, the objects and executables must be
# byte-identical to the native compiler's, and the programs must also run preloaded.
. "$(dirname "$0")/preload_common.sh"

gcc=${CC_FOR_PRELOAD_TEST:-gcc}
if ! command -v "$gcc" >/dev/null; then
	fail "gcc not found"
	finish
fi

cat >"$WORK/small.c" <<'C'
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	size_t n = 1 << 20;
	unsigned *v = mmap(NULL, n * sizeof *v, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v == MAP_FAILED)
		return 1;
	unsigned s = 1;
	for (size_t i = 0; i < n; i++)
		v[i] = s = s * 1103515245u + 12345u;
	qsort(v, n, sizeof *v, cmp);
	unsigned long h = 0;
	for (size_t i = 0; i < n; i += 4096)
		h = h * 31 + v[i];
	v = mremap(v, n * sizeof *v, 2 * n * sizeof *v, MREMAP_MAYMOVE);
	if (v == MAP_FAILED)
		return 2;
	memset(v + n, 0x5a, n * sizeof *v);
	char *heap[1000];
	for (int i = 0; i < 1000; i++) {
		heap[i] = malloc((size_t)(i % 37) * 4096 + 1);
		memset(heap[i], i, (size_t)(i % 37) * 4096 + 1);
	}
	unsigned long t = 0;
	for (int i = 0; i < 1000; i++) {
		t += (unsigned char)heap[i][(size_t)(i % 37) * 4096];
		free(heap[i]);
	}
	printf("min=%u max=%u hash=%lx heap=%lu tail=%x\n", v[0], v[n - 1], h, t, v[n]);
	return munmap(v, 2 * n * sizeof *v);
}
C

# A generated unit: many functions with switch tables and inlining candidates.
{
	echo '#include <stdio.h>'
	for i in $(seq 0 599); do
		echo "static int f$i(int x) { switch (x & 7) { case 0: return x * $i; case 1: return x + $i;"
		echo "  case 2: return x ^ $i; case 3: return (x << 1) - $i; default: return x / ($i + 1) + f$(( i > 0 ? i - 1 : 0 ))(x >> 1); } }"
	done
	echo 'int main(void) { long s = 0; for (int x = 1; x < 2000; x++) {'
	for i in $(seq 0 50 599); do echo "  s += f$i(x);"; done
	# shellcheck disable=SC2028 # the \n is for the C compiler
	echo '  } printf("%ld\n", s); return 0; }'
} | sed 's/f0(x >> 1)/0/' >"$WORK/big.c"

build() { # build native|preloaded DIR
	mkdir -p "$WORK/$2"
	(
		cd "$WORK/$2" &&
		cp "$WORK/small.c" "$WORK/big.c" . &&
		"$1" "$gcc" -O2 -Wall -o small small.c &&
		"$1" "$gcc" -O2 -c -o big.o big.c &&
		"$1" "$gcc" -O2 -o big big.o
	) >"$WORK/$2.log" 2>&1
}

build native n
nrc=$?
build preloaded s
src=$?
status "gcc: compile and link" $nrc $src
[ $nrc -ne 0 ] && cat "$WORK/n.log"
[ $src -ne 0 ] && cat "$WORK/s.log"
[ $nrc -ne 0 ] && finish
same "gcc: compiler messages" "$WORK/n.log" "$WORK/s.log"
for f in big.o big small; do
	if cmp -s "$WORK/n/$f" "$WORK/s/$f"; then
		pass "gcc: $f byte-identical"
	else
		fail "gcc: $f differs from the native compiler's"
	fi
done

for prog in small big; do
	native "$WORK/n/$prog" >"$WORK/$prog.nn" 2>&1
	r1=$?
	native "$WORK/s/$prog" >"$WORK/$prog.sn" 2>&1
	r2=$?
	preloaded "$WORK/s/$prog" >"$WORK/$prog.ss" 2>&1
	r3=$?
	status "gcc: $prog built natively / preloaded runs" $r1 $r2
	same "gcc: $prog output (built natively vs preloaded)" "$WORK/$prog.nn" "$WORK/$prog.sn"
	status "gcc: $prog runs natively / preloaded" $r1 $r3
	same "gcc: $prog output (run natively vs preloaded)" "$WORK/$prog.nn" "$WORK/$prog.ss"
done
echo "small: $(cat "$WORK/small.nn")   big: $(cat "$WORK/big.nn")"
finish
