// rate: a constant-rate (open-model) HTTP/1.1 load generator for the latency benchmarks.
//
// Why a small C program: Debian has no wrk2, vegeta or k6. hey paces each worker separately, so its
// workers fire in synchronized bursts; wrk is closed-loop (a slow answer delays the next request and
// hides itself: coordinated omission); the Node open-loop client shares an event loop with its own
// bookkeeping and stalls under load. This program does what wrk2 does and nothing else:
//
//   * request i is *due* at t0 + i / rate, whatever happened to earlier requests;
//   * it is sent on an idle keep-alive connection as soon as it is due (a timerfd wakes the loop with
//     1 µs timer slack); if every connection is busy it waits in line, and the wait counts;
//   * its latency is measured from the time it was due, not from when it was sent, so a stall of the
//     target (or of this client) shows in the tail instead of silently lowering the rate.
//
// One thread, epoll, non-blocking sockets, minimal response parsing (status line, content-length,
// chunked), keep-alive with reconnect on close. Output on stdout, one line:
//   RATE <due> <done> <failed> <non2xx> <p50> <p90> <p99> <p999> <max> <maxLagUs>
// latencies in µs; maxLagUs is how late the client itself sent a request when a connection was free
// (its own health: it should stay far below the latencies it reports).
//
//   cc -O2 -o rate rate.c && ./rate 127.0.0.1 8080 5000 10 64 /api/products
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;
  int busy;          // a request is in flight
  int64_t due;       // due time of the request in flight (ns)
  char buf[65536];
  size_t len;
} conn;

static struct sockaddr_in addr;
static int ep;

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int open_conn(conn *c, int idx) {
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) { close(c->fd); c->fd = -1; return -1; }
  fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)idx };
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  c->busy = 0;
  c->len = 0;
  return 0;
}

static void close_conn(conn *c) {
  if (c->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); }
  c->fd = -1;
  c->busy = 0;
  c->len = 0;
}

// Returns the length of one complete response at the start of buf, 0 if incomplete, -1 if malformed.
static long complete(const char *buf, size_t len, int *status) {
  const char *end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return 0;
  if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0) return -1;
  *status = atoi(buf + 9);
  size_t head = (size_t)(end - buf) + 4;
  long clen = -1;
  int chunked = 0;
  for (const char *p = memchr(buf, '\n', head); p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
    p++;
    if (strncasecmp(p, "content-length:", 15) == 0) clen = atol(p + 15);
    else if (strncasecmp(p, "transfer-encoding:", 18) == 0 && memmem(p, (size_t)(end - p) < 64 ? (size_t)(end - p) : 64, "chunked", 7)) chunked = 1;
  }
  if (*status == 204 || *status == 304) return (long)head;
  if (!chunked) {
    if (clen < 0) return -1; // a close-delimited body: not used by any target here
    return head + (size_t)clen <= len ? (long)(head + (size_t)clen) : 0;
  }
  size_t pos = head;
  for (;;) {
    const char *nl = memmem(buf + pos, len - pos, "\r\n", 2);
    if (!nl) return 0;
    long size = strtol(buf + pos, NULL, 16);
    pos = (size_t)(nl - buf) + 2;
    if (size == 0) return pos + 2 <= len ? (long)(pos + 2) : 0; // no trailers
    pos += (size_t)size + 2;
    if (pos > len) return 0;
  }
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 7) {
    fprintf(stderr, "usage: rate HOST PORT RATE SECONDS CONNECTIONS PATH [HEADER]\n");
    return 2;
  }
  const char *host = argv[1];
  int port = atoi(argv[2]);
  double rate = atof(argv[3]);
  double seconds = atof(argv[4]);
  int nconn = atoi(argv[5]);
  const char *path = argv[6];
  const char *extra = argc > 7 ? argv[7] : NULL;
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &addr.sin_addr);
  ep = epoll_create1(0);
  conn *conns = calloc((size_t)nconn, sizeof(conn));
  int *idle = malloc(sizeof(int) * (size_t)nconn); // a stack: the most recently used connection first
  int nidle = 0;
  for (int i = 0; i < nconn; i++) {
    if (open_conn(&conns[i], i) < 0) { perror("connect"); return 1; }
    idle[nidle++] = i;
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
  struct epoll_event tev = { .events = EPOLLIN, .data.u32 = UINT32_MAX };
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  long total = (long)(rate * seconds);
  int64_t *lat = malloc(sizeof(int64_t) * (size_t)(total > 0 ? total : 1));
  int64_t *dueOf = malloc(sizeof(int64_t) * (size_t)(total > 0 ? total : 1)); // for RATE_DUMP
  long issued = 0, done = 0, errors = 0, non2xx = 0;
  int64_t maxLag = 0;
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  char req[1024];
  int64_t t0 = now_ns() + 1000000;
  int64_t deadline = t0 + (int64_t)(seconds * 1e9) + 5000000000LL; // 5 s for stragglers
  struct epoll_event evs[256];

  while (done + errors < total && now_ns() < deadline) {
    int64_t t = now_ns();
    // Send every request that is due, while a connection is idle.
    while (issued < total && nidle > 0) {
      int64_t due = t0 + (int64_t)((double)issued * 1e9 / rate);
      if (due > t) break;
      int i = idle[--nidle];
      conn *c = &conns[i];
      if (c->fd < 0 && open_conn(c, i) < 0) { errors++; issued++; idle[nidle++] = i; continue; }
      rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
      int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%d\r\nx-user-id: user-%lu\r\n%s%s\r\n",
        path, host, port, (unsigned long)(rng % 100000 + 1), extra ? extra : "", extra ? "\r\n" : "");
      if (t - due > maxLag && nidle + 1 == nconn) maxLag = t - due; // only when not queueing behind busy connections
      c->busy = 1;
      c->due = due;
      issued++;
      if (write(c->fd, req, (size_t)n) != n) { errors++; close_conn(c); idle[nidle++] = i; }
    }
    // Sleep until the next request is due (or a response arrives).
    if (issued < total && nidle > 0) {
      int64_t due = t0 + (int64_t)((double)issued * 1e9 / rate);
      struct itimerspec its = { .it_value = { .tv_sec = due / 1000000000, .tv_nsec = due % 1000000000 } };
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    int k = epoll_wait(ep, evs, 256, 100);
    for (int e = 0; e < k; e++) {
      uint32_t i = evs[e].data.u32;
      if (i == UINT32_MAX) { uint64_t x; (void)!read(tfd, &x, sizeof x); continue; }
      conn *c = &conns[i];
      ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (c->busy) errors++;
        close_conn(c);
        idle[nidle++] = (int)i; // reopened lazily
        continue;
      }
      c->len += (size_t)r;
      int status = 0;
      long m = complete(c->buf, c->len, &status);
      if (m == 0 && c->len < sizeof c->buf) continue;
      if (m <= 0 || !c->busy) { if (c->busy) errors++; close_conn(c); idle[nidle++] = (int)i; continue; }
      dueOf[done] = c->due - t0;
      lat[done++] = now_ns() - c->due;
      if (status < 200 || status >= 300) non2xx++;
      memmove(c->buf, c->buf + m, c->len - (size_t)m);
      c->len -= (size_t)m;
      c->busy = 0;
      idle[nidle++] = (int)i;
    }
  }
  // RATE_DUMP=file writes "due_us latency_us" per request, to see when a tail happened.
  const char *dump = getenv("RATE_DUMP");
  if (dump) {
    FILE *f = fopen(dump, "w");
    for (long i = 0; f && i < done; i++) fprintf(f, "%ld %ld\n", (long)(dueOf[i] / 1000), (long)(lat[i] / 1000));
    if (f) fclose(f);
  }
  qsort(lat, (size_t)done, sizeof(int64_t), cmp64);
#define P(q) (done ? lat[(long)((double)(done - 1) * (q))] / 1000 : 0)
  // Requests that never completed (errors, or still unanswered at the deadline) all count as failed.
  printf("RATE %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld\n", total, done, total - done, non2xx,
    (long)P(0.5), (long)P(0.9), (long)P(0.99), (long)P(0.999), (long)(done ? lat[done - 1] / 1000 : 0), (long)(maxLag / 1000));
  return 0;
}
