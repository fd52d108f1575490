/* Starts `SCRIPT MARKER` with execve and an explicit environment that lacks warden's
 * variables: the script must still run under the library. */
#include "probe.h"
int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SCRIPT MARKER\n", argv[0]);
        return 2;
    }
    char *args[] = {argv[1], argv[2], NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "LD_PRELOAD=", NULL};
    execve(argv[1], args, envp);
    return exec_failed("execve");
}
