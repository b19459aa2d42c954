// The drain benchmark's generator: 60-byte Ethernet frames (64 on the wire with the FCS),
// IPv4/UDP with valid header and UDP checksums, one per flow of a numbered flow space,
// sent through a TPACKET_V3 TX ring with PACKET_QDISC_BYPASS.
//
//   drain-gen --if IF --dst-mac MAC [--src-mac MAC] --service IP:PORT [--server IP:PORT]
//             [--clients A.B.C.D] [--flows F] [--count N] [--first K] [--stride S]
//             [--rate PPS] [--direction to-service|from-server]
//
// Flow i is client (--clients + i % 65536):(1024 + i / 65536). Frame k belongs to flow
// (K + k * S) mod F, so --stride 1 walks the flows in order (filling a table) and a large
// stride coprime with F spreads consecutive frames over the whole table (cache misses
// as real traffic makes them). to-service: client → service (what a director receives
// from clients); from-server: server → client (a NAT real server's replies).
// --rate paces the sending (0: as fast as the kernel takes them).
#define _GNU_SOURCE
#include "drain-common.h"

static const char *program = "drain-gen";

static void usage(void) {
    fprintf(stderr,
            "usage: %s --if IF --dst-mac MAC [--src-mac MAC] --service IP:PORT [--server IP:PORT]\n"
            "          [--clients A.B.C.D] [--flows F] [--count N] [--first K] [--stride S] [--rate PPS]\n"
            "          [--direction to-service|from-server]\n",
            program);
    exit(2);
}

static int parse_endpoint(const char *text, uint32_t *address, uint16_t *port) {
    char buffer[64];
    snprintf(buffer, sizeof buffer, "%s", text);
    char *colon = strrchr(buffer, ':');
    if (!colon) return -1;
    *colon = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, buffer, &a) != 1) return -1;
    long p = strtol(colon + 1, NULL, 10);
    if (p <= 0 || p > 65535) return -1;
    *address = ntohl(a.s_addr);
    *port = (uint16_t)p;
    return 0;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum) {
    for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1) sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)); put16(p + 2, (uint16_t)v); }

enum { FRAME = 60, PAYLOAD = FRAME - 14 - 20 - 8 };

/// Writes the 60-byte frame: Ethernet, IPv4 (no options, DF clear, TTL 64), UDP, zero payload.
static void build(uint8_t *f, const uint8_t dst_mac[6], const uint8_t src_mac[6],
                  uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint16_t id) {
    memset(f, 0, FRAME);
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + PAYLOAD);
    put16(ip + 4, id);
    ip[8] = 64;
    ip[9] = 17;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    uint8_t *udp = ip + 20;
    put16(udp, sport);
    put16(udp + 2, dport);
    put16(udp + 4, 8 + PAYLOAD);
    uint32_t pseudo = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 17 + 8 + PAYLOAD;
    uint16_t c = fold(sum16(udp, 8 + PAYLOAD, pseudo));
    put16(udp + 6, c == 0 ? 0xffff : c);
}

int main(int argc, char **argv) {
    const char *interface = NULL;
    uint8_t dst_mac[6], src_mac[6];
    int have_dst = 0, have_src = 0, have_service = 0, have_server = 0, from_server = 0;
    uint32_t service = 0, server = 0, clients = 0xC6130000u;  // 198.19.0.0
    uint16_t service_port = 0, server_port = 0;
    uint64_t flows = 1000000, count = 500000, first = 0, stride = 1;
    double rate = 0;
    if ((argc - 1) % 2) usage();  // every option takes a value
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--if")) interface = v;
        else if (!strcmp(a, "--dst-mac")) { if (drain_parse_mac(v, dst_mac)) drain_fail(program, "bad --dst-mac"); have_dst = 1; }
        else if (!strcmp(a, "--src-mac")) { if (drain_parse_mac(v, src_mac)) drain_fail(program, "bad --src-mac"); have_src = 1; }
        else if (!strcmp(a, "--service")) { if (parse_endpoint(v, &service, &service_port)) drain_fail(program, "bad --service IP:PORT"); have_service = 1; }
        else if (!strcmp(a, "--server")) { if (parse_endpoint(v, &server, &server_port)) drain_fail(program, "bad --server IP:PORT"); have_server = 1; }
        else if (!strcmp(a, "--clients")) {
            struct in_addr ca;
            if (inet_pton(AF_INET, v, &ca) != 1) drain_fail(program, "bad --clients address");
            clients = ntohl(ca.s_addr);
        }
        else if (!strcmp(a, "--flows")) flows = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--count")) count = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--first")) first = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--stride")) stride = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--rate")) rate = atof(v);
        else if (!strcmp(a, "--direction")) {
            if (!strcmp(v, "from-server")) from_server = 1;
            else if (strcmp(v, "to-service")) usage();
        }
        else usage();
    }
    if (!interface || !have_dst || !have_service || (from_server && !have_server)) usage();
    if (flows == 0 || flows > 65536ull * 64000ull) drain_fail(program, "--flows must be 1 to 4,194,304,000");
    if (rate < 0) drain_fail(program, "--rate must be 0 or more");

    void *map;
    int ifindex;
    int fd = drain_open_socket(program, interface, 0, 1, 0, &map, &ifindex);
    if (!have_src) {
        struct ifreq ifr = {0};
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", interface);
        if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) drain_die(program, "SIOCGIFHWADDR");
        memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
    }

    const uint32_t per_block = DRAIN_TX_BLOCK_SIZE / DRAIN_TX_FRAME_SIZE;
    const uint32_t slots = per_block * DRAIN_TX_BLOCKS;
    // Unpaced, one kick per full TX ring: the kernel then delivers 2048 frames in one system
    // call (no preemption inside it), so the receiver's RX blocks fill before their 2 ms
    // retire timer closes them half empty, even on a busy machine. Paced, small bursts.
    const uint32_t batch = rate > 0 ? 256 : slots;
    uint32_t head = 0;
    uint64_t sent = 0, flow = first % flows;
    const uint64_t start = drain_now_ns();
    while (sent < count) {
        if (rate > 0) {
            uint64_t due = start + (uint64_t)((double)sent * 1e9 / rate);
            uint64_t now = drain_now_ns();
            if (due > now) {
                struct timespec ts = {.tv_sec = (time_t)((due - now) / 1000000000ull), .tv_nsec = (long)((due - now) % 1000000000ull)};
                nanosleep(&ts, NULL);
            }
        }
        uint32_t queued = 0;
        while (queued < batch && sent + queued < count) {
            uint8_t *slot = (uint8_t *)map + (size_t)(head / per_block) * DRAIN_TX_BLOCK_SIZE
                + (size_t)(head % per_block) * DRAIN_TX_FRAME_SIZE;
            struct tpacket3_hdr *t = (struct tpacket3_hdr *)slot;
            if (drain_frame_status(t) != TP_STATUS_AVAILABLE) {
                // The kernel still owns this slot: push what is queued and wait for it.
                send(fd, NULL, 0, 0);
                if (drain_frame_status(t) != TP_STATUS_AVAILABLE) { usleep(100); continue; }
            }
            uint32_t client = clients + (uint32_t)(flow % 65536);
            uint16_t client_port = (uint16_t)(1024 + flow / 65536);
            uint8_t *d = slot + DRAIN_TX_DATA_OFFSET;
            if (from_server) build(d, dst_mac, src_mac, server, server_port, client, client_port, (uint16_t)sent);
            else build(d, dst_mac, src_mac, client, client_port, service, service_port, (uint16_t)sent);
            drain_frame_send(t, FRAME);
            head = head + 1 == slots ? 0 : head + 1;
            queued++;
            flow = (flow + stride) % flows;
        }
        if (send(fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS) drain_die(program, "send (kick)");
        sent += queued;
    }
    // A blocking kick waits until the kernel has taken every queued frame.
    send(fd, NULL, 0, 0);
    double seconds = (double)(drain_now_ns() - start) / 1e9;
    printf("%s: sent %llu frames (flows %llu, first %llu, stride %llu) in %.3f s, %.0f kpps\n", program,
           (unsigned long long)sent, (unsigned long long)flows, (unsigned long long)(first % flows),
           (unsigned long long)stride, seconds, seconds > 0 ? (double)sent / seconds / 1e3 : 0.0);
    return 0;
}
