/* retitle MARKER: starts `touch MARKER` with execve. With RETITLE=TEXT in the environment it
 * first does what setproctitle(3) does: writes a title over its argument strings, longer than
 * they are, so it runs on into the environment strings behind them; the title ends in TEXT,
 * which so lies past the end of the original arguments. It prints what /proc/self/cmdline
 * shows before the exec, between two lines "cmdline:" and ":end". */
#include "probe.h"

int main(int argc, char **argv) {
    const char *marker = marker_arg(argc, argv);
    const char *text = getenv("RETITLE");
    char marker_copy[4096];
    snprintf(marker_copy, sizeof marker_copy, "%s", marker);
    if (text) {
        char title[8192];
        size_t args = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
        size_t room = args;
        for (char **env = environ; *env && *env == argv[0] + room; env++) room += strlen(*env) + 1;
        /* Filler over every byte of the arguments (no NUL left at their end), then TEXT. */
        size_t filler = args;
        if (filler + strlen(text) + 1 > room || filler + strlen(text) + 1 > sizeof title) {
            fprintf(stderr, "retitle: no room for the title\n");
            return 2;
        }
        memset(title, 'x', filler);
        strcpy(title + filler, text);
        memcpy(argv[0], title, strlen(title) + 1);
    }
    char line[8192];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, line, sizeof line);
    printf("cmdline:");
    fwrite(line, 1, n > 0 ? (size_t)n : 0, stdout);
    printf(":end\n");
    fflush(stdout);
    char *child[] = {"touch", marker_copy, NULL};
    char *env[] = {NULL};
    execve("/usr/bin/touch", child, env);
    return exec_failed("execve");
}
