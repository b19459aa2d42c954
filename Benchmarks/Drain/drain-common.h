// Shared by the drain benchmark's C programs (reference-forwarder.c, drain-gen.c,
// drain-timer.c): argument parsing, AF_PACKET TPACKET_V3 ring setup and the ring status
// words with acquire/release ordering. Header-only so each program is one `cc -O2` call.
//
// Ring layout follows the kernel's Documentation/networking/packet_mmap.rst and
// net/packet/af_packet.c: RX blocks handed over whole (block_status TP_STATUS_USER), TX
// slots of fixed size whose data starts at TPACKET3_HDRLEN - sizeof(struct sockaddr_ll)
// (48) with tp_next_offset 0, kicked with send(fd, NULL, 0, ...).
#ifndef DRAIN_COMMON_H
#define DRAIN_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DRAIN_TX_DATA_OFFSET (TPACKET3_HDRLEN - sizeof(struct sockaddr_ll))

// lvsd's RingGeometry.receiveDefault and .transmitDefault (Sources/PacketIO/RingGeometry.swift).
#define DRAIN_RX_BLOCK_SIZE (1u << 18)
#define DRAIN_RX_BLOCKS 64u
#define DRAIN_RX_FRAME_SIZE 2048u
#define DRAIN_RX_RETIRE_MS 2u
#define DRAIN_TX_BLOCK_SIZE (1u << 18)
#define DRAIN_TX_BLOCKS 16u
#define DRAIN_TX_FRAME_SIZE 2048u

static inline void drain_die(const char *program, const char *what) {
    fprintf(stderr, "%s: %s: %s\n", program, what, strerror(errno));
    exit(1);
}

static inline void drain_fail(const char *program, const char *what) {
    fprintf(stderr, "%s: %s\n", program, what);
    exit(2);
}

static inline uint64_t drain_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// "aa:bb:cc:dd:ee:ff" → 6 bytes; 0 on success.
static inline int drain_parse_mac(const char *text, uint8_t mac[6]) {
    unsigned v[6];
    char tail;
    if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6) return -1;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255) return -1;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

static inline uint32_t drain_block_status(struct tpacket_block_desc *b) {
    return __atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
}

static inline void drain_block_release(struct tpacket_block_desc *b) {
    __atomic_store_n(&b->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

static inline uint32_t drain_frame_status(struct tpacket3_hdr *f) {
    return __atomic_load_n(&f->tp_status, __ATOMIC_ACQUIRE);
}

static inline void drain_frame_send(struct tpacket3_hdr *f, uint32_t length) {
    f->tp_len = length;
    f->tp_snaplen = length;
    f->tp_next_offset = 0;
    __atomic_store_n(&f->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
}

/// A raw AF_PACKET socket with TPACKET_V3 rings, bound to `interface`. `protocol` 0 binds
/// for sending only (the socket then receives nothing). Returns the fd; `*map` gets the
/// mapping (RX ring first, then TX ring, as the kernel lays them out).
static inline int drain_open_socket(const char *program, const char *interface, int rx, int tx,
                                    uint16_t protocol, void **map, int *ifindex_out) {
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) drain_die(program, "socket(AF_PACKET)");
    int version = TPACKET_V3;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0) drain_die(program, "PACKET_VERSION");
    size_t bytes = 0;
    if (rx) {
        struct tpacket_req3 req = {
            .tp_block_size = DRAIN_RX_BLOCK_SIZE, .tp_block_nr = DRAIN_RX_BLOCKS,
            .tp_frame_size = DRAIN_RX_FRAME_SIZE,
            .tp_frame_nr = DRAIN_RX_BLOCK_SIZE / DRAIN_RX_FRAME_SIZE * DRAIN_RX_BLOCKS,
            .tp_retire_blk_tov = DRAIN_RX_RETIRE_MS,
        };
        if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0) drain_die(program, "PACKET_RX_RING");
        bytes += (size_t)DRAIN_RX_BLOCK_SIZE * DRAIN_RX_BLOCKS;
    }
    if (tx) {
        int loss = 1;  // skip a malformed frame instead of parking the ring (as lvsd does)
        if (setsockopt(fd, SOL_PACKET, PACKET_LOSS, &loss, sizeof loss) < 0) drain_die(program, "PACKET_LOSS");
        struct tpacket_req3 req = {
            .tp_block_size = DRAIN_TX_BLOCK_SIZE, .tp_block_nr = DRAIN_TX_BLOCKS,
            .tp_frame_size = DRAIN_TX_FRAME_SIZE,
            .tp_frame_nr = DRAIN_TX_BLOCK_SIZE / DRAIN_TX_FRAME_SIZE * DRAIN_TX_BLOCKS,
        };
        if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) drain_die(program, "PACKET_TX_RING");
        bytes += (size_t)DRAIN_TX_BLOCK_SIZE * DRAIN_TX_BLOCKS;
    }
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, fd, 0);
    if (m == MAP_FAILED) m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) drain_die(program, "mmap rings");
    *map = m;
    int one = 1;
    if (tx && setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) drain_die(program, "PACKET_QDISC_BYPASS");
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) drain_die(program, "PACKET_IGNORE_OUTGOING");
    int buffer = 8 << 20;  // lvsd's SO_RCVBUFFORCE / SO_SNDBUFFORCE
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer, sizeof buffer) < 0) drain_die(program, "SO_RCVBUFFORCE");
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer, sizeof buffer) < 0) drain_die(program, "SO_SNDBUFFORCE");
    int ifindex = (int)if_nametoindex(interface);
    if (ifindex == 0) drain_die(program, interface);
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(protocol), .sll_ifindex = ifindex};
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) drain_die(program, "bind");
    if (ifindex_out) *ifindex_out = ifindex;
    return fd;
}

#endif
