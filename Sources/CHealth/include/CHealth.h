// CHealth: process spawning for MISC_CHECK and notify scripts. Wrap only: the fork/exec
// sequence must run without touching the Swift runtime between fork and exec, so it lives in C.
#ifndef SWIFTLVS_CHEALTH_H
#define SWIFTLVS_CHEALTH_H

#include <stdint.h>
#include <sys/types.h>

/// What the child reports through the error pipe when it gives up before running the script:
/// the step that failed and its errno (the child's stdio is /dev/null, so this is its only voice).
typedef struct {
    int32_t step;
    int32_t error;
} lvs_hc_spawn_failure;

enum {
    LVS_HC_STEP_SETGROUPS = 1,
    LVS_HC_STEP_SETGID = 2,
    LVS_HC_STEP_SETUID = 3,
    LVS_HC_STEP_EXEC = 4,
};

/// Starts `path` (absolute) with `argv`/`envp` (NULL-terminated) in its own process group,
/// stdin/stdout/stderr on /dev/null, descriptors above 2 closed, the signal mask and
/// dispositions reset, and, when `set_ids` is non-zero, the supplementary groups, gid and uid
/// given (keepalived notify.c set_script_env). `envp` is used as given: the caller builds a
/// clean environment instead of passing lvsd's own.
///
/// Any failure of setgroups, setgid or setuid aborts the child before exec (exit 126): a
/// script must never run with more privilege than asked because a drop failed. The child then
/// writes an `lvs_hc_spawn_failure` to the error pipe; a failed exec writes one too (exit 127).
///
/// Only async-signal-safe calls run between fork and exec (the caller is multithreaded).
///
/// Returns the child's pid (> 0) or -1 with errno set. `*pidfd` receives a pidfd for the child
/// (poll it for exit), or -1 if the kernel has none (then poll with waitpid(WNOHANG)).
/// `*errfd` receives the non-blocking, close-on-exec read end of the error pipe: empty at EOF
/// when the script was started, one `lvs_hc_spawn_failure` when it was not.
pid_t lvs_hc_spawn(const char *path, char *const argv[], char *const envp[],
                   int set_ids, uid_t uid, gid_t gid, const gid_t *groups, int group_count,
                   int *pidfd, int *errfd);

/// pidfd_open(2): glibc 2.36 wraps it only behind _GNU_SOURCE headers.
int lvs_hc_pidfd_open(pid_t pid);

#endif
