/* pidfd_spawnp (glibc 2.39) is looked up at run time: this probe also runs where glibc lacks
 * it, and then the library's own export answers ENOSYS rather than breaking. */
#include "probe.h"
#include <dlfcn.h>
#include <sys/syscall.h>
typedef int (*pidfd_spawnp_fn)(int *, const char *, const posix_spawn_file_actions_t *,
                               const posix_spawnattr_t *, char *const[], char *const[]);
int main(int argc, char **argv) {
    char *args[] = {"touch", (char *)marker_arg(argc, argv), NULL};
    pidfd_spawnp_fn spawn = (pidfd_spawnp_fn)dlsym(RTLD_DEFAULT, "pidfd_spawnp");
    if (!spawn) {
        printf("pidfd_spawnp absent\n");
        return REFUSED;
    }
    int pidfd = -1;
    int rc = spawn(&pidfd, "touch", NULL, NULL, args, environ);
    if (rc != 0) {
        printf("pidfd_spawnp returned %d\n", rc);
        return REFUSED;
    }
    siginfo_t info;
    waitid(P_PIDFD, pidfd, &info, WEXITED);
    printf("pidfd_spawnp ok status=%d\n", info.si_status);
    return info.si_status;
}
