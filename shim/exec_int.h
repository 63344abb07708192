/*
 * Shared between the exec wrappers (wrap_exec.c) and posix_spawn
 * (wrap_spawn.c).  No shared state here.
 */
#ifndef VADSHIM_EXEC_INT_H
#define VADSHIM_EXEC_INT_H

#include <stdbool.h>

/* Does an exec from this process need the shim's hand-over (ramfs
 * descriptors or a cwd inside a mount)? */
bool exec_needs_shim(void);
/* Would preserve_env add LD_PRELOAD or VADSHIM_OPTIONS to envp? */
bool env_needs_fix(char *const envp[]);
/* execvp's PATH search through the wrapped execve; script: run a file
 * refused with ENOEXEC with /bin/sh (execvp does, posix_spawnp not). */
int shim_exec_search(const char *file, char *const argv[], char *const envp[], bool script);

#endif
