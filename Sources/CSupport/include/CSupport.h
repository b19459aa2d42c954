// CSupport: the few CPU intrinsics and memory calls Swift cannot spell. Wrap only; no logic
// beyond alignment arithmetic here.
#ifndef SWIFTLVS_CSUPPORT_H
#define SWIFTLVS_CSUPPORT_H

#include <stddef.h>

/// Asks the CPU to start loading the cache line at `address` for a read soon
/// (__builtin_prefetch, rw = 0, high temporal locality). Never faults, even on a bad address.
/// Swift has no prefetch; the batch path uses it to overlap one packet's table misses
/// with the next packets' work, as DPVS and VPP do.
static inline void lvs_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Maps `bytes` (rounded up to 2 MiB) of zeroed anonymous memory aligned to 2 MiB and asks
/// for transparent huge pages on it (madvise MADV_HUGEPAGE: this machine's THP mode is
/// `madvise`, so without the call a big table gets none). Sets `*huge` to 1 when the kernel
/// accepted the advice. Returns NULL when the mapping fails. Free with `lvs_unmap_huge`.
void *lvs_map_huge(size_t bytes, int *huge);

/// Unmaps a region `lvs_map_huge(bytes, ...)` returned.
void lvs_unmap_huge(void *address, size_t bytes);

#endif
