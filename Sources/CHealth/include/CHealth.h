// CHealth: process spawning for MISC_CHECK and notify scripts. Wrap only: the fork/exec
// sequence must run without touching the Swift runtime between fork and exec, so it lives in C.
#ifndef SWIFTLVS_CHEALTH_H
#define SWIFTLVS_CHEALTH_H

#include <sys/types.h>

/// Starts `path` (absolute) with `argv`/`envp` (NULL-terminated) in its own process group,
/// stdin/stdout/stderr on /dev/null, descriptors above 2 closed, the signal mask and
/// dispositions reset, and, when `set_ids` is non-zero, the supplementary groups, gid and uid
/// of the configured `user` (keepalived check_misc.c runs scripts as that user).
///
/// Only async-signal-safe calls run between fork and exec (the caller is multithreaded); the
/// child exits with 127 when exec fails, as a shell would.
///
/// Returns the child's pid (> 0) or -1 with errno set. `*pidfd` receives a pidfd for the child
/// (poll it for exit), or -1 if the kernel has none (then poll with waitpid(WNOHANG)).
pid_t lvs_hc_spawn(const char *path, char *const argv[], char *const envp[],
                   int set_ids, uid_t uid, gid_t gid, const gid_t *groups, int group_count,
                   int *pidfd);

/// pidfd_open(2): glibc 2.36 wraps it only behind _GNU_SOURCE headers.
int lvs_hc_pidfd_open(pid_t pid);

#endif
