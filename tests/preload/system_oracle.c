/*
 * system_oracle: system() and popen() from a program whose stdout is a
 * file; the children must write to that file too.  preload_fd.sh runs it
 * with stdout on tmpfs natively and on /ramfs under the shim and compares
 * the files.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	printf("before\n");
	fflush(stdout);
	int r = system("echo from-system; exit 3");
	printf("system=%d\n", r >> 8);
	fflush(stdout);
	FILE *p = popen("echo from-popen", "r");
	char b[64];
	if (p && fgets(b, sizeof(b), p))
		printf("read: %s", b);
	printf("pclose=%d\n", p ? pclose(p) : -1);
	p = popen("cat", "w");
	if (p)
		fprintf(p, "to-cat\n");
	printf("pclose2=%d\n", p ? pclose(p) : -1);
	printf("system(NULL)=%d\n", system(NULL) != 0);
	return 0;
}
