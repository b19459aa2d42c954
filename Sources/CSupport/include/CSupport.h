// CSupport: the few CPU intrinsics Swift cannot spell. Wrap only; no logic here.
#ifndef SWIFTLVS_CSUPPORT_H
#define SWIFTLVS_CSUPPORT_H

/// Asks the CPU to start loading the cache line at `address` for a read soon
/// (__builtin_prefetch, rw = 0, high temporal locality). Never faults, even on a bad address.
/// Swift has no prefetch; the batch path uses it to overlap one packet's table misses
/// with the next packets' work, as DPVS and VPP do.
static inline void lvs_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
