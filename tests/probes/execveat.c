#include "probe.h"
int main(int argc, char **argv) {
    char *args[] = {"touch", (char *)marker_arg(argc, argv), NULL};
    int dir = open("/usr/bin", O_PATH | O_DIRECTORY);
    execveat(dir, "touch", args, environ, 0);
    return exec_failed("execveat");
}
