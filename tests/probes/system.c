#include "probe.h"
int main(int argc, char **argv) {
    int status = system(touch_command(marker_arg(argc, argv), ""));
    printf("system status=%d errno=%d\n", status, errno);
    return status == 0 ? 0 : REFUSED;
}
