/* Scrubs warden's variables from its own environment, then runs `SCRIPT MARKER` with system():
 * the shell and everything it starts must still run under the library. */
#include "probe.h"
int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SCRIPT MARKER\n", argv[0]);
        return 2;
    }
    const char *names[] = {"LD_PRELOAD", "WARDEN_SOCKET", "WARDEN_DOOR", "WARDEN_SESSION",
                           "WARDEN_FAIL"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unsetenv(names[i]);
    char command[4096];
    snprintf(command, sizeof command, "'%s' '%s'", argv[1], argv[2]);
    int status = system(command);
    printf("system status=%d\n", status);
    return 0;
}
