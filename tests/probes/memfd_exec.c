/* Copies /bin/rm into a memfd and starts it with fexecve as `tidy -rf TARGET` (argv[1]): a
 * program with no file name at all, which only its content identifies. */
#include "probe.h"
#include <sys/mman.h>

int main(int argc, char **argv) {
    const char *target = marker_arg(argc, argv);
    int in = open("/bin/rm", O_RDONLY | O_CLOEXEC);
    int fd = memfd_create("tidy", 0);
    if (in < 0 || fd < 0) {
        perror("open or memfd_create");
        return 2;
    }
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(fd, buf, (size_t)n) != n) {
            perror("write");
            return 2;
        }
    }
    char *args[] = {"tidy", "-rf", (char *)target, NULL};
    fexecve(fd, args, environ);
    return exec_failed("fexecve");
}
