// See CHealth.h. _GNU_SOURCE stays in this file (MACHINE-NOTES: it breaks the module in a header).
#define _GNU_SOURCE
#include "CHealth.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

int lvs_hc_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t lvs_hc_spawn(const char *path, char *const argv[], char *const envp[],
                   int set_ids, uid_t uid, gid_t gid, const gid_t *groups, int group_count,
                   int *pidfd) {
    *pidfd = -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        // The child: async-signal-safe calls only until execve.
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, NULL);
        }
        // Own process group: a timeout kills the script and everything it started (kill(-pid)).
        setpgid(0, 0);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 2) close(null);
        }
        // Checker sockets and the daemon's descriptors must not leak into scripts.
        if (syscall(SYS_close_range, 3, ~0U, 0) != 0) {
            for (int fd = 3; fd < 1024; fd++) close(fd);
        }
        if (set_ids) {
            if (setgroups((size_t)group_count, groups) != 0 && errno != EPERM) _exit(126);
            if (setgid(gid) != 0) _exit(126);
            if (setuid(uid) != 0) _exit(126);
        }
        execve(path, argv, envp);
        _exit(127);
    }
    *pidfd = lvs_hc_pidfd_open(pid);
    return pid;
}
