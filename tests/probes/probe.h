/* Shared by the probes: each one starts `touch MARKER` (argv[1]) through one libc entry point
 * and reports on stdout how that call ended, so a test can check the function's own failure
 * convention and, through MARKER, whether the target ran. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Exit status of a probe whose call was refused. */
#define REFUSED 42

static inline const char *marker_arg(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s MARKER\n", argv[0]);
        exit(2);
    }
    return argv[1];
}

/* An exec-family call returned: it failed. */
static inline int exec_failed(const char *fn) {
    printf("%s failed errno=%d\n", fn, errno);
    fflush(stdout);
    return REFUSED;
}

/* Reports a spawn-family result and waits for the child. */
static inline int spawned(const char *fn, int rc, pid_t pid) {
    if (rc != 0) {
        printf("%s returned %d\n", fn, rc);
        return REFUSED;
    }
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return 99;
    printf("%s ok status=%d\n", fn, status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
}

/* `touch 'MARKER'` as a shell command, for system and popen. */
static inline const char *touch_command(const char *marker, const char *suffix) {
    static char command[4096];
    snprintf(command, sizeof command, "touch '%s'%s", marker, suffix);
    return command;
}
