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

// The child's last words: async-signal-safe (write, _exit).
static void lvs_hc_give_up(int fd, int step, int error, int status) {
    lvs_hc_spawn_failure failure = { step, error };
    ssize_t ignored = write(fd, &failure, sizeof(failure));
    (void)ignored;
    _exit(status);
}

pid_t lvs_hc_spawn(const char *path, char *const argv[], char *const envp[],
                   int set_ids, uid_t uid, gid_t gid, const gid_t *groups, int group_count,
                   int *pidfd, int *errfd) {
    *pidfd = -1;
    *errfd = -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(pipefd[0]);
        close(pipefd[1]);
        errno = saved;
        return -1;
    }
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
        // The error pipe's write end goes to descriptor 3 (close-on-exec), everything above is closed.
        int report = pipefd[1];
        if (report != 3) {
            if (dup3(report, 3, O_CLOEXEC) < 0) _exit(126);
            report = 3;
        }
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            if (null > 3) close(null);
        }
        // Checker sockets and the daemon's descriptors must not leak into scripts.
        if (syscall(SYS_close_range, 4, ~0U, 0) != 0) {
            for (int fd = 4; fd < 1024; fd++) close(fd);
        }
        if (set_ids) {
            // Groups first (they need the privilege setuid gives up), then gid, then uid. Every
            // failure is fatal: running on with root's groups or ids is what must not happen.
            if (setgroups((size_t)group_count, groups) != 0) lvs_hc_give_up(report, LVS_HC_STEP_SETGROUPS, errno, 126);
            if (setgid(gid) != 0) lvs_hc_give_up(report, LVS_HC_STEP_SETGID, errno, 126);
            if (setuid(uid) != 0) lvs_hc_give_up(report, LVS_HC_STEP_SETUID, errno, 126);
        }
        execve(path, argv, envp);
        lvs_hc_give_up(report, LVS_HC_STEP_EXEC, errno, 127);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, fcntl(pipefd[0], F_GETFL) | O_NONBLOCK);
    *errfd = pipefd[0];
    *pidfd = lvs_hc_pidfd_open(pid);
    return pid;
}
