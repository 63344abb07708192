/*
 * dl_oracle DIR: dlopen of shared objects stored in DIR (lib.so, other.so
 * a copy of it, bad.so not an ELF file), a transcript: handles (same file
 * by two paths, reopen, RTLD_NOLOAD, dlclose and reload, dlmopen in a new
 * namespace), calls through dlsym, dlerror messages (DIR printed as
 * "DIR").  Natively on tmpfs and under the shim in /ramfs the transcripts
 * must be equal (preload_dlopen.sh).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *dir;

static const char *err(void)
{
	static char buf[1024];
	const char *e = dlerror();
	if (!e)
		return "(null)";
	size_t n = strlen(dir);
	const char *p = strstr(e, dir);
	if (p)
		snprintf(buf, sizeof(buf), "%.*sDIR%s", (int)(p - e), e, p + n);
	else
		snprintf(buf, sizeof(buf), "%s", e);
	return buf;
}

static void *open_(const char *what, const char *name, int mode)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	void *h = dlopen(path, mode);
	printf("%s: dlopen(DIR/%s) %s; dlerror %s\n", what, name, h ? "ok" : "NULL", err());
	return h;
}

static int call(void *h, const char *sym)
{
	int (*f)(void) = (int (*)(void))dlsym(h, sym);
	return f ? f() : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: dl_oracle DIR\n");
		return 2;
	}
	dir = argv[1];
	void *h1 = open_("first", "lib.so", RTLD_NOW);
	int a = call(h1, "vadshim_dl_answer");
	printf("answer %d count %d\n", a, call(h1, "vadshim_dl_count"));
	void *h2 = open_("again", "lib.so", RTLD_LAZY);
	printf("same handle %d count %d\n", h1 == h2, call(h2, "vadshim_dl_count"));
	void *h3 = open_("by ./", "./lib.so", RTLD_NOW | RTLD_GLOBAL);
	printf("same handle %d count %d\n", h1 == h3, call(h3, "vadshim_dl_count"));
	void *h4 = open_("noload loaded", "lib.so", RTLD_NOW | RTLD_NOLOAD);
	printf("same handle %d\n", h1 == h4);
	void *o0 = open_("noload other", "other.so", RTLD_NOW | RTLD_NOLOAD);
	void *o1 = open_("other", "other.so", RTLD_NOW);
	int oc = call(o1, "vadshim_dl_count");
	printf("other is another object %d count %d\n", o1 && o1 != h1, oc);
	void *sym = dlsym(h1, "no_such_symbol");
	printf("dlsym missing: %p %s\n", sym, err());
	open_("missing", "missing.so", RTLD_NOW);
	open_("not ELF", "bad.so", RTLD_NOW);
	open_("directory", ".", RTLD_NOW);
	printf("dlerror after: %s\n", err());
	/* four references to lib.so (h1..h4), one to other.so */
	int rc = dlclose(h1) | dlclose(h2) | dlclose(h3) | dlclose(h4) | dlclose(o1);
	printf("dlclose all: %d (noload other was %s)\n", rc, o0 ? "found" : "NULL");
	void *h5 = open_("reload", "lib.so", RTLD_NOW);
	printf("count after reload %d\n", call(h5, "vadshim_dl_count"));
	char path[512];
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	void *n1 = dlmopen(LM_ID_NEWLM, path, RTLD_NOW);
	printf("dlmopen new namespace %s, other than base %d, count %d\n", n1 ? "ok" : "NULL",
	       n1 != h5, call(n1, "vadshim_dl_count"));
	void *m = dlopen("libm.so.6", RTLD_NOW);
	printf("bare name libm.so.6 %s, cos found %d\n", m ? "ok" : "NULL", m && dlsym(m, "cos"));
	void *self = dlopen(NULL, RTLD_NOW);
	printf("dlopen(NULL) %s\n", self ? "ok" : "NULL");
	return 0;
}
