// The drain benchmark's yardstick: the least a TPACKET_V3 ring forwarder can do per frame.
//
//   reference-forwarder --in IF --out IF --dst-mac MAC [--src-mac MAC] [--duration SECONDS]
//                       [--kick-every N]
//
// Receives on --in through an RX ring with lvsd's default geometry (64 blocks of 256 KiB,
// 2048-byte frames, 2 ms block timeout), copies each frame of a ready block into the next
// slot of a TX ring on --out (16 blocks of 256 KiB, 2048-byte slots: lvsd's default) with
// the destination MAC set to --dst-mac and the source MAC to --src-mac (default: --out's
// own), kicks the TX ring once per block (send(fd, NULL, 0, MSG_DONTWAIT), as lvsd's
// TXRing.flush does) and hands the block back. PACKET_QDISC_BYPASS and
// PACKET_IGNORE_OUTGOING as lvsd sets them. Nothing else: no parsing, no table.
// --kick-every N also kicks after every N frames inside a block (lvsd kicks once per
// 32-frame batch), to measure what the kick frequency alone costs.
//
// Runs until SIGTERM/SIGINT or --duration; prints "ready" once its sockets are bound and,
// at exit, the frames forwarded and the kernel's RX ring drop count (PACKET_STATISTICS).
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include "drain-common.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static const char *program = "reference-forwarder";

static void usage(void) {
    fprintf(stderr, "usage: %s --in IF --out IF --dst-mac MAC [--src-mac MAC] [--duration SECONDS] [--kick-every N]\n", program);
    exit(2);
}

int main(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    uint8_t dst_mac[6], src_mac[6];
    int have_dst = 0, have_src = 0;
    double duration = 0;
    long kick_every = 0;
    if ((argc - 1) % 2) usage();  // every option takes a value
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--in")) in = v;
        else if (!strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--dst-mac")) { if (drain_parse_mac(v, dst_mac)) drain_fail(program, "bad --dst-mac"); have_dst = 1; }
        else if (!strcmp(a, "--src-mac")) { if (drain_parse_mac(v, src_mac)) drain_fail(program, "bad --src-mac"); have_src = 1; }
        else if (!strcmp(a, "--duration")) duration = atof(v);
        else if (!strcmp(a, "--kick-every")) kick_every = atol(v);
        else usage();
    }
    if (!in || !out || !have_dst) usage();

    struct sigaction sa = {.sa_handler = on_signal};  // no SA_RESTART: poll returns EINTR
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    void *rx_map, *tx_map;
    int rx_fd = drain_open_socket(program, in, 1, 0, ETH_P_ALL, &rx_map, NULL);
    int tx_fd = drain_open_socket(program, out, 0, 1, 0, &tx_map, NULL);
    if (!have_src) {
        // The --out interface's own MAC, as lvsd writes its interface's MAC as the source.
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", out);
        if (ioctl(tx_fd, SIOCGIFHWADDR, &ifr) < 0) drain_die(program, "SIOCGIFHWADDR");
        memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
    }
    uint8_t macs[12];
    memcpy(macs, dst_mac, 6);
    memcpy(macs + 6, src_mac, 6);

    const uint32_t tx_per_block = DRAIN_TX_BLOCK_SIZE / DRAIN_TX_FRAME_SIZE;
    const uint32_t tx_slots = tx_per_block * DRAIN_TX_BLOCKS;
    const uint32_t tx_capacity = DRAIN_TX_FRAME_SIZE - DRAIN_TX_DATA_OFFSET;
    uint32_t block = 0, head = 0;
    uint64_t forwarded = 0, too_large = 0, tx_full = 0, kick_errors = 0;
    const uint64_t deadline = duration > 0 ? drain_now_ns() + (uint64_t)(duration * 1e9) : UINT64_MAX;
    struct pollfd pfd = {.fd = rx_fd, .events = POLLIN};
    printf("%s: ready, %s -> %s\n", program, in, out);
    fflush(stdout);

    while (!stop_requested) {
        struct tpacket_block_desc *b =
            (struct tpacket_block_desc *)((uint8_t *)rx_map + (size_t)block * DRAIN_RX_BLOCK_SIZE);
        if (!(drain_block_status(b) & TP_STATUS_USER)) {
            if (drain_now_ns() >= deadline) break;
            poll(&pfd, 1, 50);
            continue;
        }
        uint32_t n = b->hdr.bh1.num_pkts;
        struct tpacket3_hdr *f = (struct tpacket3_hdr *)((uint8_t *)b + b->hdr.bh1.offset_to_first_pkt);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t len = f->tp_snaplen;
            const uint8_t *data = (const uint8_t *)f + f->tp_mac;
            if (len < 14 || len > tx_capacity) {
                too_large++;
            } else {
                uint8_t *slot = (uint8_t *)tx_map + (size_t)(head / tx_per_block) * DRAIN_TX_BLOCK_SIZE
                    + (size_t)(head % tx_per_block) * DRAIN_TX_FRAME_SIZE;
                struct tpacket3_hdr *t = (struct tpacket3_hdr *)slot;
                int spins = 0;
                while (drain_frame_status(t) != TP_STATUS_AVAILABLE && spins < 1000) {
                    // Full: kick what is queued; the kernel frees slots as it sends.
                    send(tx_fd, NULL, 0, MSG_DONTWAIT);
                    spins++;
                }
                if (drain_frame_status(t) != TP_STATUS_AVAILABLE) {
                    tx_full++;
                } else {
                    uint8_t *d = slot + DRAIN_TX_DATA_OFFSET;
                    memcpy(d, data, len);
                    memcpy(d, macs, 12);
                    drain_frame_send(t, len);
                    head = head + 1 == tx_slots ? 0 : head + 1;
                    forwarded++;
                    if (kick_every > 0 && forwarded % (uint64_t)kick_every == 0) send(tx_fd, NULL, 0, MSG_DONTWAIT);
                }
            }
            f = (struct tpacket3_hdr *)((uint8_t *)f + f->tp_next_offset);
        }
        // One kick per block: every frame the block held goes out in one system call.
        if (send(tx_fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS) kick_errors++;
        drain_block_release(b);
        block = block + 1 == DRAIN_RX_BLOCKS ? 0 : block + 1;
    }

    struct tpacket_stats_v3 st = {0};
    socklen_t sl = sizeof st;
    getsockopt(rx_fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
    printf("%s: forwarded %llu frames, too-large %llu, tx-ring-full %llu, kick-errors %llu, rx-ring-drops %u\n",
           program, (unsigned long long)forwarded, (unsigned long long)too_large, (unsigned long long)tx_full,
           (unsigned long long)kick_errors, st.tp_drops);
    return 0;
}
