/* Becomes `PROGRAM ARGS...` with the execve system call itself, past every libc hook, keeping
 * its pid and passing its own environment on. */
#include "probe.h"
#include <sys/syscall.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: raw_exec PROGRAM [ARG...]\n");
        return 2;
    }
    syscall(SYS_execve, argv[1], argv + 1, environ);
    return exec_failed("SYS_execve");
}
