// CLinuxPacket: the AF_PACKET (TPACKET_V3) kernel interface, for PacketIO only.
//
// Include and wrap only; no logic. `import Glibc` has none of <linux/if_packet.h> or
// <linux/if_ether.h>, so this header brings in their structs and integer macros, and wraps
// what Swift's importer drops (function-like macros, atomics). Every symbol is prefixed `lvs_`.
//
// No `_GNU_SOURCE` here: defining it in a public header makes clang's module for this target
// conflict with Glibc's (`fd_set`). Functions that need it live in CLinuxPacket.c.
#ifndef SWIFTLVS_CLINUXPACKET_H
#define SWIFTLVS_CLINUXPACKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
// Classic BPF (struct sock_filter, struct sock_fprog, BPF_* opcodes, SKF_AD_*) for the
// PACKET_FANOUT_CBPF program FanoutProgram.swift assembles.
#include <linux/filter.h>

// MARK: Layout Swift relies on
// PacketIO reads ring headers through these structs and computes the TX data offset from
// these sizes; a different layout would make it read garbage, so refuse to build instead.
_Static_assert(sizeof(struct sockaddr_ll) == 20, "sockaddr_ll is 20 bytes");
_Static_assert(sizeof(struct tpacket3_hdr) == 48, "tpacket3_hdr is 48 bytes");
_Static_assert(offsetof(struct tpacket3_hdr, tp_status) == 20, "tp_status at offset 20");
_Static_assert(sizeof(struct tpacket_block_desc) == 48, "tpacket_block_desc is 48 bytes");
_Static_assert(offsetof(struct tpacket_block_desc, hdr.bh1.block_status) == 8,
               "block_status at offset 8");
_Static_assert(sizeof(struct tpacket_req3) == 28, "tpacket_req3 is seven 32-bit words");
_Static_assert(sizeof(struct tpacket_stats_v3) == 12, "tpacket_stats_v3 is three 32-bit words");
_Static_assert(TPACKET3_HDRLEN == 68, "TPACKET3_HDRLEN is 68");
// FanoutProgram encodes classic BPF instructions as these 8-byte records, in this order.
_Static_assert(sizeof(struct sock_filter) == 8, "sock_filter is 8 bytes");
_Static_assert(offsetof(struct sock_filter, jt) == 2 && offsetof(struct sock_filter, jf) == 3 &&
               offsetof(struct sock_filter, k) == 4, "sock_filter is code, jt, jf, k");
_Static_assert(TPACKET3_HDRLEN - sizeof(struct sockaddr_ll) == 48,
               "TPACKET_V3 TX frame data starts at offset 48");

_Static_assert(sizeof(struct tpacket2_hdr) == 32, "tpacket2_hdr is 32 bytes");
_Static_assert(offsetof(struct tpacket2_hdr, tp_status) == 0, "tpacket2_hdr: tp_status at offset 0");
_Static_assert(TPACKET2_HDRLEN == 52, "TPACKET2_HDRLEN is 52");
_Static_assert(TPACKET2_HDRLEN - sizeof(struct sockaddr_ll) == 32,
               "TPACKET_V2 TX frame data starts at offset 32");

// MARK: Macros Swift cannot import

/// TPACKET_ALIGN(x): rounds up to TPACKET_ALIGNMENT (16). A function-like macro, which
/// Swift's importer drops; ring frame sizes must be multiples of it.
static inline uint32_t lvs_tpacket_align(uint32_t x) { return TPACKET_ALIGN(x); }

/// TPACKET3_HDRLEN (68): built from sizeof and TPACKET_ALIGN, so not importable.
static inline uint32_t lvs_tpacket3_hdrlen(void) { return (uint32_t)TPACKET3_HDRLEN; }

/// TPACKET2_HDRLEN (52), not importable for the same reason.
static inline uint32_t lvs_tpacket2_hdrlen(void) { return (uint32_t)TPACKET2_HDRLEN; }

/// Where frame data starts in a TPACKET_V2 TX ring frame (32), as for V3 below.
static inline uint32_t lvs_tpacket2_tx_data_offset(void) {
    return (uint32_t)(TPACKET2_HDRLEN - sizeof(struct sockaddr_ll));
}

/// Where frame data starts in a TPACKET_V3 TX ring frame (48): the kernel's tpacket_snd
/// reads data at tp_hdrlen - sizeof(struct sockaddr_ll) unless PACKET_TX_HAS_OFF is set.
static inline uint32_t lvs_tpacket3_tx_data_offset(void) {
    return (uint32_t)(TPACKET3_HDRLEN - sizeof(struct sockaddr_ll));
}

// MARK: Fanout

/// PACKET_FANOUT_FLAG_IGNORE_OUTGOING (Linux 6.2): a fanout group's members share one packet
/// hook, so the socket option PACKET_IGNORE_OUTGOING has no effect on them; the group needs
/// this flag instead. Debian 12's UAPI headers (6.1) predate it; the value is the kernel's.
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000
#endif

// MARK: Ring status words
// The kernel and user space hand ring blocks (RX) and frames (TX) back and forth through a
// 32-bit status word in shared memory. Reading the owner must be an acquire (so the frame
// bytes the kernel wrote before setting TP_STATUS_USER are visible to our reads), and handing
// it back must be a release (so our reads and writes of the frame finish before the kernel
// reuses it). Swift has no atomic access to a word in foreign shared memory, so these are
// `__atomic` builtins: a plain mov on x86-64, ldar/stlr on arm64, inlined into Swift.
//
// The block header fields sit inside a C union, which Swift imports as computed properties:
// no MemoryLayout offsets and a copy of the whole header on every read. These accessors
// read the one field in place.

/// Acquire-load of an RX block's owner word (TP_STATUS_KERNEL or TP_STATUS_USER | flags).
static inline uint32_t lvs_block_status_acquire(const struct tpacket_block_desc *block) {
    return __atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}

/// Hands an RX block back to the kernel with a release-store of TP_STATUS_KERNEL.
static inline void lvs_block_release_to_kernel(struct tpacket_block_desc *block) {
    __atomic_store_n(&block->hdr.bh1.block_status, (uint32_t)TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

/// Frames in a block the kernel has handed to user space (valid after the acquire above).
static inline uint32_t lvs_block_packet_count(const struct tpacket_block_desc *block) {
    return block->hdr.bh1.num_pkts;
}

/// Byte offset of the first frame header from the block start.
static inline uint32_t lvs_block_first_packet_offset(const struct tpacket_block_desc *block) {
    return block->hdr.bh1.offset_to_first_pkt;
}

/// Acquire-load of a TPACKET_V2 frame's status word, RX (TP_STATUS_KERNEL or USER | flags)
/// or TX (TP_STATUS_AVAILABLE, SEND_REQUEST, ...): V2 keeps one status word per frame, so a
/// frame reaches user space as soon as it is written, with no block timer.
static inline uint32_t lvs_v2_status_acquire(const struct tpacket2_hdr *frame) {
    return __atomic_load_n(&frame->tp_status, __ATOMIC_ACQUIRE);
}

/// Release-store of a TPACKET_V2 frame's status: TP_STATUS_KERNEL hands an RX frame back,
/// TP_STATUS_SEND_REQUEST queues a TX frame after its bytes are written.
static inline void lvs_v2_status_release(struct tpacket2_hdr *frame, uint32_t status) {
    __atomic_store_n(&frame->tp_status, status, __ATOMIC_RELEASE);
}

/// Acquire-load of a TX frame's status (TP_STATUS_AVAILABLE, SEND_REQUEST, SENDING, ...).
static inline uint32_t lvs_frame_status_acquire(const struct tpacket3_hdr *frame) {
    return __atomic_load_n(&frame->tp_status, __ATOMIC_ACQUIRE);
}

/// Release-store of a TX frame's status: TP_STATUS_SEND_REQUEST after its bytes are written.
static inline void lvs_frame_status_release(struct tpacket3_hdr *frame, uint32_t status) {
    __atomic_store_n(&frame->tp_status, status, __ATOMIC_RELEASE);
}

// MARK: Functions that need _GNU_SOURCE (defined in CLinuxPacket.c)

/// setns(2) for the calling thread only. Needs _GNU_SOURCE, which Glibc's module lacks.
/// Returns 0, or -1 with errno set.
int lvs_setns(int fd, int nstype);

/// The CLONE_NEWNET constant for lvs_setns (also behind _GNU_SOURCE in <sched.h>).
int lvs_clone_newnet(void);

/// Pins the calling thread to one CPU: sched_setaffinity and CPU_SET both need _GNU_SOURCE,
/// and CPU_SET is a macro. Returns 0, or -1 with errno set (EINVAL for a CPU out of range).
int lvs_pin_thread_to_cpu(int cpu);

#endif
