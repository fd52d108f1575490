#include "probe.h"
int main(int argc, char **argv) {
    FILE *out = popen(touch_command(marker_arg(argc, argv), " && echo popen-output"), "r");
    if (!out) {
        printf("popen failed errno=%d\n", errno);
        return REFUSED;
    }
    char line[256] = "";
    if (!fgets(line, sizeof line, out))
        line[0] = 0;
    int status = pclose(out);
    printf("popen ok status=%d output=%s", status, line);
    return status == 0 ? 0 : REFUSED;
}
