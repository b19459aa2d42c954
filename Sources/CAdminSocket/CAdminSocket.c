#define _GNU_SOURCE
#include "CAdminSocket.h"

#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

int lvs_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *pid = credentials.pid;
    *uid = credentials.uid;
    *gid = credentials.gid;
    return 0;
}

int lvs_thread_setresuid(uid_t ruid, uid_t euid, uid_t suid) {
    return (int)syscall(SYS_setresuid, ruid, euid, suid);
}

int lvs_thread_setresgid(gid_t rgid, gid_t egid, gid_t sgid) {
    return (int)syscall(SYS_setresgid, rgid, egid, sgid);
}
