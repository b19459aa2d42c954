// CPrivileges: the capability system calls lvsd uses to give up what it does not need.
// prctl and syscall are variadic, which Swift cannot call. Wrap only; the policy (which
// capabilities, when) is lvsd's (Sources/lvsd/Capabilities.swift).
#ifndef SWIFTLVS_CPRIVILEGES_H
#define SWIFTLVS_CPRIVILEGES_H

#include <stdint.h>

/// The highest capability number this kernel knows (CAP_LAST_CAP at run time: the bounding
/// set answers EINVAL above it), or -1 with errno set.
int lvs_last_capability(void);

/// Drops every capability whose bit is clear in `keep` from the calling thread's bounding
/// set (prctl PR_CAPBSET_DROP; needs CAP_SETPCAP). Returns 0, or -1 with errno set.
int lvs_drop_bounding(uint64_t keep);

/// Clears the calling thread's ambient set, then sets its effective and permitted sets to
/// (current permitted ∩ keep) and its inheritable set to empty (capset, version 3).
/// Capabilities are per thread: call it before the process starts its threads.
/// Returns 0, or -1 with errno set.
int lvs_limit_capabilities(uint64_t keep);

/// The calling thread's effective, permitted and bounding sets as bit masks.
/// Returns 0, or -1 with errno set.
int lvs_current_capabilities(uint64_t *effective, uint64_t *permitted, uint64_t *bounding);

#endif
