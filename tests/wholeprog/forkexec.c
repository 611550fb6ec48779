/*
 * A program that makes processes in every way libc offers, in a loop: fork and
 * exec, fork without exec, vfork and exec, posix_spawn, posix_spawnp with file
 * actions, system() and popen(). Each child prints one line; the parent waits
 * for it and prints how it ended, so the output is the same on every run.
 *
 *   wp_forkexec ROUNDS      the loop
 *   wp_forkexec child WHAT  what the exec'd children run (prints WHAT)
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char self[4096];

static void report(const char *what, int round, pid_t pid)
{
    int status;
    if (pid < 0) {
        printf("%s %d: could not start\n", what, round);
        return;
    }
    if (waitpid(pid, &status, 0) != pid) {
        printf("%s %d: waitpid failed\n", what, round);
        return;
    }
    if (WIFEXITED(status))
        printf("%s %d: exit %d\n", what, round, WEXITSTATUS(status));
    else
        printf("%s %d: signal %d\n", what, round, WTERMSIG(status));
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "child") == 0) {
        printf("  child says %s\n", argv[2]);
        return (int)strlen(argv[2]) % 7;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s ROUNDS\n", argv[0]);
        return 2;
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    int rounds = atoi(argv[1]);
    for (int r = 0; r < rounds; r++) {
        char word[64];
        fflush(stdout);

        snprintf(word, sizeof word, "fork-exec-%d", r);
        pid_t pid = fork();
        if (pid == 0) {
            execl(self, self, "child", word, (char *)NULL);
            _exit(127);
        }
        report("fork+exec", r, pid);

        pid = fork();
        if (pid == 0) {
            printf("  forked child %d computes %ld\n", r, strtol("12345", NULL, 10) * r);
            exit(r % 5);
        }
        report("fork", r, pid);

        snprintf(word, sizeof word, "vfork-%d", r);
        char *vargv[] = {self, "child", word, NULL};
        pid = vfork();
        if (pid == 0) {
            execve(self, vargv, environ);
            _exit(127);
        }
        report("vfork+exec", r, pid);

        snprintf(word, sizeof word, "spawn-%d", r);
        char *sargv[] = {self, "child", word, NULL};
        if (posix_spawn(&pid, self, NULL, NULL, sargv, environ) != 0) pid = -1;
        report("posix_spawn", r, pid);

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        char *pargv[] = {"echo", "spawnp to stderr", NULL};
        if (posix_spawnp(&pid, "echo", &fa, &attr, pargv, environ) != 0) pid = -1;
        report("posix_spawnp", r, pid);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);

        fflush(stdout);
        int st = system("echo system says hello; exit 3");
        printf("system %d: %d\n", r, WIFEXITED(st) ? WEXITSTATUS(st) : -1);

        FILE *p = popen("echo popen line one; echo popen line two", "r");
        char line[128];
        while (p && fgets(line, sizeof line, p)) printf("  read: %s", line);
        printf("pclose %d: %d\n", r, p ? pclose(p) : -1);
    }
    return 0;
}
