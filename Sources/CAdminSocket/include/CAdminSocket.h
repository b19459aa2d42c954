// CAdminSocket: what lvsd's control socket needs from glibc that Swift cannot import.
// Wrap only; no logic here.
#ifndef SWIFTLVS_CADMINSOCKET_H
#define SWIFTLVS_CADMINSOCKET_H

#include <sys/types.h>

/// The credentials of the process at the other end of a connected Unix socket
/// (getsockopt SO_PEERCRED). `struct ucred` is only declared under _GNU_SOURCE, which a
/// public header must not define (see MACHINE-NOTES), so the call lives in the .c file.
/// Returns 0, or -1 with errno set.
int lvs_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);

/// setresuid/setresgid for the calling thread only: the raw system calls, which change one
/// thread's credentials, where glibc's wrappers change every thread's. Tests use them to
/// act as another user on a dedicated thread without forking a threaded process.
/// Returns 0, or -1 with errno set.
int lvs_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid);
int lvs_thread_setresgid(gid_t rgid, gid_t egid, gid_t sgid);

#endif
