/* The floor of the LD_PRELOAD approach: a library that hooks execve and does nothing but
 * forward it to the next definition. Whatever warden costs above this is warden's own. */
#define _GNU_SOURCE
#include <dlfcn.h>

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
static execve_fn real_execve;

__attribute__((constructor)) static void resolve(void) {
    real_execve = (execve_fn)dlsym(RTLD_NEXT, "execve");
}

int execve(const char *path, char *const argv[], char *const envp[]) {
    return real_execve(path, argv, envp);
}
