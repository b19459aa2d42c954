// The CLinuxPacket functions that need _GNU_SOURCE. It is defined here, never in the public
// header (see CLinuxPacket.h). Each function is a thin wrapper with no logic of its own.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include "CLinuxPacket.h"

int lvs_setns(int fd, int nstype) { return setns(fd, nstype); }

int lvs_clone_newnet(void) { return CLONE_NEWNET; }

int lvs_pin_thread_to_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) {
        errno = EINVAL;
        return -1;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // pid 0: the calling thread (sched_setaffinity acts on a thread id on Linux).
    return sched_setaffinity(0, sizeof(set), &set);
}
