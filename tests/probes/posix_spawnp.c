#include "probe.h"
int main(int argc, char **argv) {
    char *args[] = {"touch", (char *)marker_arg(argc, argv), NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "touch", NULL, NULL, args, environ);
    return spawned("posix_spawnp", rc, pid);
}
