// The drain benchmark's stopwatch: resumes a SIGSTOPped forwarder whose RX ring is full
// and times how fast the frames it forwards arrive at the sink.
//
//   drain-timer --pid PID --counter /sys/class/net/IF/statistics/rx_packets
//               [--quiet-ms 200] [--timeout 10]
//
// Run in the sink's network namespace (`ip netns exec` mounts that namespace's sysfs).
// Refuses unless PID is stopped (state T). Reads the counter and the forwarder's CPU time
// (its process CPU clock, clock_getcpuclockid: all threads, in ns, exact even while it
// runs, unlike /proc/PID/schedstat, which lags a running task by up to a scheduler tick;
// utime+stime from /proc/PID/stat in clock ticks as a cross-check), sends SIGCONT, then
// polls the counter every 50 µs. Each time it rises, the time and the forwarder's CPU
// time are noted; when it has not risen for --quiet-ms the drain is over:
//
//   packets N seconds S kpps K cpu_ns C cpu_ns_per_packet X ticks T
//
// where seconds run from SIGCONT to the last rise and cpu_ns is the CPU time spent up to
// that moment. Exits 1 when no frame arrived.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include "drain-common.h"

static const char *program = "drain-timer";

static uint64_t read_number(int fd) {
    char buffer[64];
    ssize_t n = pread(fd, buffer, sizeof buffer - 1, 0);
    if (n <= 0) drain_die(program, "read counter");
    buffer[n] = 0;
    return strtoull(buffer, NULL, 10);
}

/// The process's CPU time so far, all threads, in ns.
static uint64_t cpu_ns(clockid_t clock) {
    struct timespec ts;
    if (clock_gettime(clock, &ts) < 0) return 0;  // the process has exited
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/// State letter and utime+stime (clock ticks) from /proc/PID/stat.
static char proc_state(int pid, uint64_t *ticks) {
    char path[64], buffer[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buffer, sizeof buffer - 1);
    close(fd);
    if (n <= 0) return 0;
    buffer[n] = 0;
    char *p = strrchr(buffer, ')');  // the command name may hold spaces and parentheses
    if (!p || p[1] != ' ') return 0;
    char state = p[2];
    unsigned long long utime = 0, stime = 0;
    // After ") S": ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime
    if (sscanf(p + 4, "%*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2 && ticks)
        *ticks = utime + stime;
    return state;
}

int main(int argc, char **argv) {
    int pid = 0;
    const char *counter = NULL;
    double quiet_ms = 200, timeout = 10;
    if ((argc - 1) % 2) drain_fail(program, "every option takes a value");
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (!strcmp(a, "--pid")) pid = atoi(v);
        else if (!strcmp(a, "--counter")) counter = v;
        else if (!strcmp(a, "--quiet-ms")) quiet_ms = atof(v);
        else if (!strcmp(a, "--timeout")) timeout = atof(v);
        else drain_fail(program, "usage: drain-timer --pid PID --counter PATH [--quiet-ms MS] [--timeout S]");
    }
    if (pid <= 0 || !counter) drain_fail(program, "usage: drain-timer --pid PID --counter PATH [--quiet-ms MS] [--timeout S]");

    uint64_t ticks0 = 0, ticks1 = 0;
    char state = proc_state(pid, &ticks0);
    if (state != 'T') {
        fprintf(stderr, "%s: process %d is in state '%c', not stopped (T); SIGSTOP it and wait first\n", program, pid, state ? state : '?');
        return 3;
    }
    int counter_fd = open(counter, O_RDONLY);
    if (counter_fd < 0) drain_die(program, counter);

    clockid_t clock;
    int error = clock_getcpuclockid(pid, &clock);
    if (error) { errno = error; drain_die(program, "clock_getcpuclockid"); }

    const uint64_t base = read_number(counter_fd);
    const uint64_t cpu0 = cpu_ns(clock);
    const uint64_t t0 = drain_now_ns();
    if (kill(pid, SIGCONT) < 0) drain_die(program, "kill SIGCONT");

    uint64_t last = base, t_last = t0, cpu_last = cpu0;
    const uint64_t quiet = (uint64_t)(quiet_ms * 1e6), limit = (uint64_t)(timeout * 1e9);
    const struct timespec nap = {.tv_sec = 0, .tv_nsec = 50000};
    for (;;) {
        nanosleep(&nap, NULL);
        uint64_t c = read_number(counter_fd);
        uint64_t now = drain_now_ns();
        if (c != last) {
            last = c;
            t_last = now;
            cpu_last = cpu_ns(clock);
        } else if (now - t_last > quiet) {
            break;
        }
        if (now - t0 > limit) {
            fprintf(stderr, "%s: still rising after %.0f s; stopping the measurement\n", program, timeout);
            break;
        }
    }
    proc_state(pid, &ticks1);
    const uint64_t packets = last - base;
    const double seconds = (double)(t_last - t0) / 1e9;
    const uint64_t cpu = cpu_last - cpu0;
    printf("packets %llu seconds %.6f kpps %.1f cpu_ns %llu cpu_ns_per_packet %.1f ticks %llu\n",
           (unsigned long long)packets, seconds, seconds > 0 ? (double)packets / seconds / 1e3 : 0.0,
           (unsigned long long)cpu, packets ? (double)cpu / (double)packets : 0.0,
           (unsigned long long)(ticks1 - ticks0));
    return packets == 0 ? 1 : 0;
}
