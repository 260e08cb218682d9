/*
 * The ceiling for `bun run bench`: the same pub -> broker -> sub chain in C on the system libzmq, with
 * Zeek's 4-frame messages, so the Bun and zeromq.js numbers can be read as a fraction of what libzmq
 * itself does on this machine.
 *
 *   zmqbench broker                               XSUB + XPUB (XPUB_NODROP) on tcp://127.0.0.1:*, zmq_proxy
 *   zmqbench pub <xsub-endpoint> <count> [rate/s]  XPUB (SNDHWM 1000, XPUB_NODROP) -> broker; paced if rate > 0
 *   zmqbench sub <xpub-endpoint> <count>           XSUB subscribed to "bench."
 *   zmqbench pong <xsub-endpoint> <xpub-endpoint>  answers every bench.ping with a bench.pong (same payload)
 *   zmqbench ping <xsub-endpoint> <xpub-endpoint> <count> <rate/s> [warmup]
 *                                                  round trips ping -> broker -> pong -> broker -> ping
 *
 * Talks the JSON lines of bench/proc.ts on stdout: {"type":"ready",...}, then {"type":"result",...}.
 * The publisher says {"type":"armed"} once subscribed and starts on a line on stdin, so the caller
 * can read every process's CPU time right before; pub and sub wait for a line (or EOF) on stdin
 * before they exit, so it can read it again right after.
 * Build: gcc -O2 -o zmqbench zmqbench.c -lzmq
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static const char TOPIC[] = "bench.ping";
static const char PREFIX[] = "bench.";
static const char FORMAT[] = "msgpack-v1";

static volatile sig_atomic_t stop_requested = 0;

/* CLOCK_MONOTONIC in µs: the clock the Node and Bun peers read too, so latencies compare across processes. */
static long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long peak_rss_bytes(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (long long)ru.ru_maxrss * 1024LL;
}

static void die(const char *what) {
    fprintf(stderr, "zmqbench: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* Blocks until a line or EOF arrives on stdin (the orchestrator's "go" and "stop"). */
static void wait_for_line(void) {
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) return;
}

static void set_int(void *sock, int option, int value, const char *what) {
    if (zmq_setsockopt(sock, option, &value, sizeof value) != 0) die(what);
}

/* zmq_proxy only returns when the context is terminated, which a signal handler cannot do safely;
   the broker holds nothing worth flushing, so leaving at once is the clean way out. */
static void exit_now(int sig) {
    (void)sig;
    _exit(0);
}

/* The sub's zmq_msg_recv fails with EINTR (libzmq's own threads block signals), then it reports. */
static void request_stop(int sig) {
    (void)sig;
    stop_requested = 1;
}

static void on_sigterm(void (*handler)(int)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler; /* no SA_RESTART: blocking calls must see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

static int broker(void *ctx) {
    on_sigterm(exit_now);
    void *xsub = zmq_socket(ctx, ZMQ_XSUB);
    void *xpub = zmq_socket(ctx, ZMQ_XPUB);
    set_int(xpub, ZMQ_XPUB_NODROP, 1, "XPUB_NODROP"); /* Zeek's listen_xpub_nodrop default */
    if (zmq_bind(xsub, "tcp://127.0.0.1:*") != 0) die("bind xsub");
    if (zmq_bind(xpub, "tcp://127.0.0.1:*") != 0) die("bind xpub");
    char xsub_ep[256], xpub_ep[256];
    size_t len = sizeof xsub_ep;
    if (zmq_getsockopt(xsub, ZMQ_LAST_ENDPOINT, xsub_ep, &len) != 0) die("xsub endpoint");
    len = sizeof xpub_ep;
    if (zmq_getsockopt(xpub, ZMQ_LAST_ENDPOINT, xpub_ep, &len) != 0) die("xpub endpoint");
    printf("{\"type\":\"ready\",\"xsub\":\"%s\",\"xpub\":\"%s\"}\n", xsub_ep, xpub_ep);
    zmq_proxy(xsub, xpub, NULL);
    return 0;
}

static size_t put_uint(unsigned char *p, uint32_t v) {
    if (v < 0x80) { p[0] = (unsigned char)v; return 1; }
    if (v <= 0xff) { p[0] = 0xcc; p[1] = (unsigned char)v; return 2; }
    if (v <= 0xffff) { p[0] = 0xcd; p[1] = (unsigned char)(v >> 8); p[2] = (unsigned char)v; return 3; }
    p[0] = 0xce;
    for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(v >> (24 - 8 * i));
    return 5;
}

/* ["ping", [seq, "bench", tUs]] as msgpackr packs it: tUs is beyond 32 bits, so a float64. */
static size_t encode_ping(unsigned char *p, uint32_t seq, double t_us) {
    size_t n = 0;
    p[n++] = 0x92;
    p[n++] = 0xa4;
    memcpy(p + n, "ping", 4);
    n += 4;
    p[n++] = 0x93;
    n += put_uint(p + n, seq);
    p[n++] = 0xa5;
    memcpy(p + n, "bench", 5);
    n += 5;
    p[n++] = 0xcb;
    uint64_t bits;
    memcpy(&bits, &t_us, 8);
    for (int i = 0; i < 8; i++) p[n++] = (unsigned char)(bits >> (56 - 8 * i));
    return n;
}

static int pub(void *ctx, const char *endpoint, long count, double rate) {
    void *sock = zmq_socket(ctx, ZMQ_XPUB);
    set_int(sock, ZMQ_SNDHWM, 1000, "SNDHWM");
    /* NODROP: a blocking zmq_send waits at the HWM instead of dropping, like our BLOCK policy. */
    set_int(sock, ZMQ_XPUB_NODROP, 1, "XPUB_NODROP");
    if (zmq_connect(sock, endpoint) != 0) die("connect");
    printf("{\"type\":\"ready\"}\n");

    /* Sending before the subscription has travelled sub -> broker -> here would send into the void. */
    unsigned char sub[256];
    for (;;) {
        int n = zmq_recv(sock, sub, sizeof sub, 0);
        if (n < 0) die("recv subscription");
        if (n >= 1 && sub[0] == 1 && (size_t)(n - 1) <= strlen(TOPIC) && memcmp(TOPIC, sub + 1, n - 1) == 0) break;
    }

    char host[128] = "localhost", sender[256];
    gethostname(host, sizeof host - 1);
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    char suffix[11];
    srand((unsigned)(now_us() ^ getpid()));
    for (int i = 0; i < 10; i++) suffix[i] = alnum[rand() % 36];
    suffix[10] = 0;
    int sender_len = snprintf(sender, sizeof sender, "zeromq_bench-pub_%s_%d_%s", host, (int)getpid(), suffix);

    unsigned char payload[64];
    printf("{\"type\":\"armed\"}\n");
    wait_for_line();
    long long start_us = now_us();
    for (long seq = 0; seq < count; seq++) {
        if (rate > 0) { /* paced: wait until this event is due */
            long long due = start_us + (long long)(seq * 1e6 / rate);
            long long now = now_us();
            if (due > now) usleep((useconds_t)(due - now));
        }
        size_t n = encode_ping(payload, (uint32_t)seq, (double)now_us());
        if (zmq_send(sock, TOPIC, sizeof TOPIC - 1, ZMQ_SNDMORE) < 0 ||
            zmq_send(sock, sender, (size_t)sender_len, ZMQ_SNDMORE) < 0 ||
            zmq_send(sock, FORMAT, sizeof FORMAT - 1, ZMQ_SNDMORE) < 0 || zmq_send(sock, payload, n, 0) < 0)
            die("send");
    }
    long long end_us = now_us();
    printf("{\"type\":\"result\",\"sent\":%ld,\"startUs\":%lld,\"endUs\":%lld,\"peakRssBytes\":%lld}\n", count,
           start_us, end_us, peak_rss_bytes());
    zmq_close(sock); /* default linger (infinite): zmq_ctx_term in main waits until all is delivered */
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int sub(void *ctx, const char *endpoint, long count) {
    on_sigterm(request_stop);
    void *sock = zmq_socket(ctx, ZMQ_XSUB);
    if (zmq_connect(sock, endpoint) != 0) die("connect");
    unsigned char subscription[sizeof PREFIX];
    subscription[0] = 1;
    memcpy(subscription + 1, PREFIX, sizeof PREFIX - 1);
    if (zmq_send(sock, subscription, sizeof subscription, 0) < 0) die("subscribe");
    printf("{\"type\":\"ready\"}\n");

    double *latencies = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    long received = 0, bad_framing = 0, with_latency = 0;
    long long first_us = 0, last_us = 0;
    zmq_msg_t part;
    zmq_msg_init(&part);
    while (received < count && !stop_requested) {
        int frames = 0;
        double t_us = -1;
        int more = 1;
        while (more) {
            if (zmq_msg_recv(&part, sock, 0) < 0) {
                if (zmq_errno() == EINTR && !stop_requested) continue;
                goto done; /* SIGTERM, or EAGAIN: 10 s without a message */
            }
            frames++;
            size_t len = zmq_msg_size(&part);
            const unsigned char *data = zmq_msg_data(&part);
            /* No msgpack decode here (this is the ceiling): the float64 tUs is always the last 9 bytes. */
            if (frames == 4 && len >= 9 && data[len - 9] == 0xcb) {
                uint64_t bits = 0;
                for (int i = 0; i < 8; i++) bits = (bits << 8) | data[len - 8 + i];
                memcpy(&t_us, &bits, 8);
            }
            more = zmq_msg_more(&part);
        }
        long long now = now_us();
        if (frames != 4) {
            bad_framing++;
            continue;
        }
        if (received == 0) {
            first_us = now;
            /* Armed only now: before the first message the publisher may still be starting. */
            set_int(sock, ZMQ_RCVTIMEO, 10000, "RCVTIMEO");
        }
        last_us = now;
        received++;
        if (t_us >= 0) latencies[with_latency++] = (double)now - t_us;
    }
done:
    zmq_msg_close(&part);
    qsort(latencies, (size_t)with_latency, sizeof(double), cmp_double);
    printf("{\"type\":\"result\",\"received\":%ld,\"firstUs\":%lld,\"lastUs\":%lld,\"badFraming\":%ld", received, first_us,
           last_us, bad_framing);
    if (with_latency > 0) {
        long i50 = (long)(with_latency * 0.5), i99 = (long)(with_latency * 0.99);
        if (i99 >= with_latency) i99 = with_latency - 1;
        printf(",\"p50Us\":%.0f,\"p99Us\":%.0f", latencies[i50], latencies[i99]);
    }
    printf(",\"peakRssBytes\":%lld}\n", peak_rss_bytes());
    free(latencies);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(sock);
    return 0;
}

/* Receives one 4-frame message into the 4 buffers; returns the frame count, or -1 on error/timeout. */
static int recv_message(void *sock, zmq_msg_t frames[4]) {
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            for (int i = 0; i < n && i < 4; i++) zmq_msg_close(&frames[i]);
            return -1;
        }
        more = zmq_msg_more(&part);
        if (n < 4) {
            zmq_msg_init(&frames[n]);
            zmq_msg_move(&frames[n], &part);
        }
        zmq_msg_close(&part);
        n++;
    }
    return n;
}

/* A node's two sockets, as Zeek has them: XPUB to the broker's XSUB, XSUB to the broker's XPUB. */
static void node_sockets(void *ctx, const char *xsub_ep, const char *xpub_ep, const char *prefix, void **xpub,
                         void **xsub) {
    *xpub = zmq_socket(ctx, ZMQ_XPUB);
    set_int(*xpub, ZMQ_XPUB_NODROP, 1, "XPUB_NODROP");
    if (zmq_connect(*xpub, xsub_ep) != 0) die("connect xpub");
    *xsub = zmq_socket(ctx, ZMQ_XSUB);
    if (zmq_connect(*xsub, xpub_ep) != 0) die("connect xsub");
    unsigned char subscription[64];
    size_t len = strlen(prefix);
    subscription[0] = 1;
    memcpy(subscription + 1, prefix, len);
    if (zmq_send(*xsub, subscription, len + 1, 0) < 0) die("subscribe");
}

static const char PONG_TOPIC[] = "bench.pong";

static int pong(void *ctx, const char *xsub_ep, const char *xpub_ep) {
    on_sigterm(exit_now);
    void *xpub, *xsub;
    node_sockets(ctx, xsub_ep, xpub_ep, "bench.ping", &xpub, &xsub);
    printf("{\"type\":\"ready\"}\n");
    zmq_msg_t frames[4];
    for (;;) {
        int n = recv_message(xsub, frames);
        if (n < 0) die("recv ping");
        if (n != 4) {
            for (int i = 0; i < n && i < 4; i++) zmq_msg_close(&frames[i]);
            continue;
        }
        /* The same sender, format and payload back, under the pong topic; the payload keeps its timestamp. */
        if (zmq_send(xpub, PONG_TOPIC, sizeof PONG_TOPIC - 1, ZMQ_SNDMORE) < 0) die("send pong");
        zmq_msg_close(&frames[0]);
        for (int i = 1; i < 4; i++)
            if (zmq_msg_send(&frames[i], xpub, i < 3 ? ZMQ_SNDMORE : 0) < 0) die("send pong");
    }
    return 0; /* not reached: SIGTERM ends the pong */
}

/* One round trip: send a ping stamped now, wait for its pong; returns the round trip in µs or -1. */
static double round_trip(void *xpub, void *xsub, const char *sender, int sender_len, uint32_t seq) {
    unsigned char payload[64];
    size_t n = encode_ping(payload, seq, (double)now_us());
    if (zmq_send(xpub, TOPIC, sizeof TOPIC - 1, ZMQ_SNDMORE) < 0 ||
        zmq_send(xpub, sender, (size_t)sender_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(xpub, FORMAT, sizeof FORMAT - 1, ZMQ_SNDMORE) < 0 || zmq_send(xpub, payload, n, 0) < 0)
        die("send ping");
    zmq_msg_t frames[4];
    int got = recv_message(xsub, frames);
    if (got < 0) return -1;
    double rtt = -1;
    if (got == 4) {
        size_t len = zmq_msg_size(&frames[3]);
        const unsigned char *data = zmq_msg_data(&frames[3]);
        if (len >= 9 && data[len - 9] == 0xcb) {
            uint64_t bits = 0;
            double t_us;
            for (int i = 0; i < 8; i++) bits = (bits << 8) | data[len - 8 + i];
            memcpy(&t_us, &bits, 8);
            rtt = (double)now_us() - t_us;
        }
    }
    for (int i = 0; i < got && i < 4; i++) zmq_msg_close(&frames[i]);
    return rtt;
}

static int ping(void *ctx, const char *xsub_ep, const char *xpub_ep, long count, double rate, long warmup) {
    void *xpub, *xsub;
    node_sockets(ctx, xsub_ep, xpub_ep, PONG_TOPIC, &xpub, &xsub);
    printf("{\"type\":\"ready\"}\n");
    unsigned char sub[256];
    for (;;) { /* the pong's subscription has reached us through the broker */
        int n = zmq_recv(xpub, sub, sizeof sub, 0);
        if (n < 0) die("recv subscription");
        if (n >= 1 && sub[0] == 1 && (size_t)(n - 1) <= strlen(TOPIC) && memcmp(TOPIC, sub + 1, n - 1) == 0) break;
    }
    static const char sender[] = "zeromq_bench-ping";
    const int sender_len = sizeof sender - 1;
    /* Until the first pong comes back (our subscription may still be on its way to the pong), then warm-up. */
    set_int(xsub, ZMQ_RCVTIMEO, 10, "RCVTIMEO");
    long long give_up = now_us() + 20000000LL;
    while (round_trip(xpub, xsub, sender, sender_len, 0) < 0)
        if (now_us() > give_up) die("no pong within 20 s");
    set_int(xsub, ZMQ_RCVTIMEO, 1000, "RCVTIMEO");
    for (long i = 0; i < warmup; i++) round_trip(xpub, xsub, sender, sender_len, (uint32_t)i);
    double *rtts = malloc(sizeof(double) * (size_t)(count > 0 ? count : 1));
    long done = 0, lost = 0;
    long long start_us = now_us();
    for (long seq = 0; seq < count; seq++) {
        long long due = start_us + (long long)(seq * 1e6 / rate);
        long long now = now_us();
        if (due > now) usleep((useconds_t)(due - now));
        double rtt = round_trip(xpub, xsub, sender, sender_len, (uint32_t)seq);
        if (rtt < 0) lost++;
        else rtts[done++] = rtt;
    }
    qsort(rtts, (size_t)done, sizeof(double), cmp_double);
    long i50 = (long)(done * 0.5), i99 = (long)(done * 0.99);
    if (i99 >= done) i99 = done - 1;
    printf("{\"type\":\"result\",\"count\":%ld,\"lost\":%ld,\"p50Us\":%.0f,\"p99Us\":%.0f,\"peakRssBytes\":%lld}\n", done,
           lost, done ? rtts[i50] : 0, done ? rtts[i99] : 0, peak_rss_bytes());
    free(rtts);
    int linger = 0;
    zmq_setsockopt(xpub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(xpub);
    zmq_close(xsub);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0); /* every JSON line reaches the orchestrator as soon as it is printed */
    const char *role = argc > 1 ? argv[1] : "";
    int is_broker = strcmp(role, "broker") == 0;
    int is_pub = strcmp(role, "pub") == 0, is_sub = strcmp(role, "sub") == 0;
    int is_ping = strcmp(role, "ping") == 0, is_pong = strcmp(role, "pong") == 0;
    if (!is_broker && !((is_pub || is_sub) && (argc == 4 || (is_pub && argc == 5))) && !(is_pong && argc == 4) &&
        !(is_ping && (argc == 6 || argc == 7))) {
        fprintf(stderr,
                "usage: zmqbench broker | zmqbench pub <xsub-endpoint> <count> [rate/s] | zmqbench sub <xpub-endpoint> "
                "<count>\n       | zmqbench pong <xsub-endpoint> <xpub-endpoint> | zmqbench ping <xsub-endpoint> "
                "<xpub-endpoint> <count> <rate/s> [warmup]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    int rc = is_broker ? broker(ctx)
             : is_pub  ? pub(ctx, argv[2], atol(argv[3]), argc == 5 ? atof(argv[4]) : 0)
             : is_sub  ? sub(ctx, argv[2], atol(argv[3]))
             : is_pong ? pong(ctx, argv[2], argv[3])
                       : ping(ctx, argv[2], argv[3], atol(argv[4]), atof(argv[5]), argc == 7 ? atol(argv[6]) : 0);
    zmq_ctx_term(ctx);
    if (is_pub || is_sub) wait_for_line(); /* the orchestrator reads our CPU time, then says stop */
    return rc;
}
