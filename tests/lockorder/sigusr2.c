/*
 * lockorder/sigusr2: a plain program (libc only) run under
 * LD_PRELOAD=libvadshim.so by check_preload.sh.  It maps and unmaps
 * memory N times (each call takes the shim's mman lock once), then raises
 * SIGUSR2; with lockstat=1 the shim's handler prints the table.  With the
 * argument "own" it installs its own SIGUSR2 handler first, which the
 * shim must leave alone.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define N 1000

static volatile sig_atomic_t got;

static void own_handler(int sig)
{
	(void)sig;
	got = 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "own") == 0)
		signal(SIGUSR2, own_handler);
	for (int i = 0; i < N; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 3;
		munmap(p, 4096);
	}
	raise(SIGUSR2);
	printf("after SIGUSR2, own handler ran: %d\n", (int)got);
	return 0;
}
