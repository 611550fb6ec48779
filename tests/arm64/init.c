/*
 * /init of the arm64 test VM (scripts/arm64-vm.sh): mounts /proc and /dev, runs
 * every program in /tests one after the other, prints one result line per
 * program on the console and powers the machine off. The script reads the lines:
 *   CHOOK-ARM64 <program> exit <status>
 *   CHOOK-ARM64-DONE <number of failed programs>
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    struct dirent **names;
    int n, failed = 0, fd;

    mkdir("/dev", 0755);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    fd = open("/dev/console", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
    }
    mkdir("/proc", 0555);
    if (mount("proc", "/proc", "proc", 0, NULL) != 0) perror("mount /proc");
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("CHOOK-ARM64-BOOTED %.2f\n", now());

    n = scandir("/tests", &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        char path[300];
        pid_t pid;
        int status = 0;
        double t0;
        if (names[i]->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/tests/%s", names[i]->d_name);
        t0 = now();
        pid = fork();
        if (pid == 0) {
            execl(path, path, (char *)NULL);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &status, 0) < 0) status = -1;
        printf("CHOOK-ARM64 %s exit %d (%.2f s)\n", names[i]->d_name,
               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), now() - t0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }
    printf("CHOOK-ARM64-DONE %d\n", n < 0 ? -1 : failed);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
