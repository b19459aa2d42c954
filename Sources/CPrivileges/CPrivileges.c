#include "CPrivileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int lvs_last_capability(void) {
    int cap = 0;
    while (cap < 64 && prctl(PR_CAPBSET_READ, (unsigned long)(cap + 1), 0, 0, 0) >= 0) cap++;
    if (cap == 0 && prctl(PR_CAPBSET_READ, 0UL, 0, 0, 0) < 0) return -1;
    return cap;
}

int lvs_drop_bounding(uint64_t keep) {
    int last = lvs_last_capability();
    if (last < 0) return -1;
    for (int cap = 0; cap <= last; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) != 1) continue;
        if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) != 0) return -1;
    }
    return 0;
}

static int get_sets(struct __user_cap_data_struct data[2]) {
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    return (int)syscall(SYS_capget, &header, data);
}

int lvs_limit_capabilities(uint64_t keep) {
    // Ambient capabilities survive execve of an unprivileged program; none is wanted.
    // EINVAL: a kernel older than 4.3, which has no ambient set.
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    struct __user_cap_data_struct data[2];
    if (get_sets(data) != 0) return -1;
    uint64_t permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    uint64_t wanted = permitted & keep;
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(wanted >> (32 * i));
        data[i].permitted = (uint32_t)(wanted >> (32 * i));
        data[i].inheritable = 0;
    }
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    return (int)syscall(SYS_capset, &header, data);
}

int lvs_current_capabilities(uint64_t *effective, uint64_t *permitted, uint64_t *bounding) {
    struct __user_cap_data_struct data[2];
    if (get_sets(data) != 0) return -1;
    *effective = (uint64_t)data[0].effective | ((uint64_t)data[1].effective << 32);
    *permitted = (uint64_t)data[0].permitted | ((uint64_t)data[1].permitted << 32);
    int last = lvs_last_capability();
    if (last < 0) return -1;
    uint64_t set = 0;
    for (int cap = 0; cap <= last; cap++) {
        if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) == 1) set |= 1ULL << cap;
    }
    *bounding = set;
    return 0;
}
