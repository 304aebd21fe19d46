/* CVE-2019-5736 probe, run as a container's process (static, no libc from the rootfs needed).
 *
 *   exe_hunter SECONDS REPORT DEV:INO...
 *
 * For SECONDS, scans /proc for any other process whose /proc/PID/exe it can open and whose file is one of
 * the host's DEV:INO (the runtime binary, its interpreter). On a hit it writes "REACHED pid dev:ino" to
 * REPORT and checks whether the host file could be reopened for writing ("WRITABLE ro|rw" / "NOT-WRITABLE
 * errno ro|rw", ro|rw: the mount it was reached through). It never writes to the file. REPORT gets "DONE" at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#ifndef O_PATH
#define O_PATH 010000000
#endif

static unsigned long long devs[16], inos[16];
static int ntargets;

static int is_target(const struct stat *st) {
    for (int i = 0; i < ntargets; i++)
        if ((unsigned long long)st->st_dev == devs[i] && (unsigned long long)st->st_ino == inos[i]) return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int seconds = atoi(argv[1]);
    FILE *report = fopen(argv[2], "w");
    if (!report) return 2;
    setvbuf(report, NULL, _IOLBF, 0);
    for (int i = 3; i < argc && ntargets < 16; i++, ntargets++)
        sscanf(argv[i], "%llu:%llu", &devs[ntargets], &inos[ntargets]);
    fprintf(report, "READY\n");
    pid_t self = getpid();
    time_t end = time(NULL) + seconds;
    while (time(NULL) < end) {
        DIR *proc = opendir("/proc");
        if (!proc) return 3;
        struct dirent *entry;
        while ((entry = readdir(proc))) {
            int pid = atoi(entry->d_name);
            if (pid <= 0 || pid == self) continue;
            char path[64];
            snprintf(path, sizeof path, "/proc/%d/exe", pid);
            int fd = open(path, O_PATH | O_CLOEXEC);
            if (fd < 0) continue;
            struct stat st;
            if (fstat(fd, &st) == 0 && is_target(&st)) {
                fprintf(report, "REACHED %d %llu:%llu\n", pid, (unsigned long long)st.st_dev,
                        (unsigned long long)st.st_ino);
                char again[64];
                snprintf(again, sizeof again, "/proc/self/fd/%d", fd);
                int w = open(again, O_WRONLY | O_CLOEXEC);  /* no O_TRUNC, and nothing is written */
                /* "Text file busy" only lasts while some process runs the file: say also whether the
                 * mount it was reached through is read-only, which lasts. */
                struct statvfs vfs;
                const char *mount = fstatvfs(fd, &vfs) == 0 ? ((vfs.f_flag & ST_RDONLY) ? "ro" : "rw") : "?";
                if (w >= 0) { fprintf(report, "WRITABLE %s\n", mount); close(w); }
                else fprintf(report, "NOT-WRITABLE %s %s\n", strerror(errno), mount);
            }
            close(fd);
        }
        closedir(proc);
    }
    fprintf(report, "DONE\n");
    return 0;
}
