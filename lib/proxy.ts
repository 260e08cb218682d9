/**
 * @module The central broker (Zeek's "proxy thread"): an XSUB and an XPUB socket bound on the listen
 * endpoints and joined by `zmq_proxy_steerable`, which runs in a Worker so the event loop stays free.
 * Any ZeroMQ peer can use it: it only offers plain XPUB and XSUB sockets.
 */

import { within } from "./_deadline.ts";
import type { ProxyWorkerEvent, ProxyWorkerStart } from "./_proxy-worker.ts";
import { ZapHandler } from "./_zap.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "./_zmq.ts";
import { DISCONNECT_EVENTS, parseMonitorMessage } from "./_zmq-limits.ts";
import { resolveConfig, type ZeroMQConfig, type ZeroMQOptions } from "./config.ts";
import { ClusterError } from "./errors.ts";

/** The endpoints a running broker is bound to, wildcard ports resolved. */
export interface BrokerEndpoints {
  /** The XSUB endpoint: nodes connect their XPUB here (their `connectXpubEndpoint`). */
  xsub: string;
  /** The XPUB endpoint: nodes connect their XSUB here (their `connectXsubEndpoint`). */
  xpub: string;
}

/** Traffic counters of one side of the broker, per frame as libzmq counts them. */
export interface ProxySideStatistics {
  /** Frames received. */
  messagesReceived: number;
  /** Bytes received. */
  bytesReceived: number;
  /** Frames sent. */
  messagesSent: number;
  /** Bytes sent. */
  bytesSent: number;
}

/** What the broker lost or cut off, counted since it was created (across restarts). */
export interface BrokerCounters {
  /**
   * `zeek_cluster_zeromq_proxy_xpub_overflows_total`: without `listenXpubNodrop`, the times a message
   * found a subscriber's queue full (for 10 ms) and went to the others only. Each lost at least that
   * message for that subscriber; libzmq then skips the subscriber silently until it has caught up to
   * half its HWM, so this is a lower bound of the drops, 0 exactly when nothing was dropped. Always 0
   * with NODROP, where the broker waits instead.
   */
  xpubOverflows: number;
  /**
   * `zeek_cluster_zeromq_proxy_disconnects_total{socket="xsub"}`: publisher connections that ended (a
   * node gone, a frame beyond `maxMessageSize`).
   */
  xsubDisconnects: number;
  /**
   * `…{socket="xpub"}`: subscriber connections that ended (a node gone or silent beyond the heartbeat
   * bound, a subscription beyond `maxTopicLength`).
   */
  xpubDisconnects: number;
}

/** The 8 counters of `zmq_proxy_steerable`'s `STATISTICS` command. */
export interface ProxyStatistics {
  /** The XSUB side: events arriving from publishers, subscriptions going out to them. */
  frontend: ProxySideStatistics;
  /** The XPUB side: events going out to subscribers, subscriptions arriving from them. */
  backend: ProxySideStatistics;
}

const STOP_GRACE_MS = 1000;
const STATS_TIMEOUT_MS = 1000;
const STATS_CACHE_MS = 10;
/** How often the main thread reads the broker's socket monitors (they queue without limit meanwhile). */
const MONITOR_READ_MS = 250;
let brokerSeq = 0;

interface Running {
  ctx: Context;
  worker: Worker;
  control: Socket;
  zap: ZapHandler | undefined;
  endpoints: BrokerEndpoints;
  /** The PAIRs reading the XSUB's and the XPUB's socket monitor, on this thread. */
  monitors: { xsub: Socket; xpub: Socket };
  monitorTimer: Timer;
  /** Resolves when the worker has left the proxy and closed its sockets. */
  stopped: Promise<void>;
  hasStopped: () => boolean;
}

/**
 * The central XPUB/XSUB broker.
 *
 * @example A broker on ephemeral ports
 * ```ts
 * import { Broker } from "./proxy.ts";
 *
 * const broker = new Broker({ listenXsubEndpoint: "tcp://127.0.0.1:*", listenXpubEndpoint: "tcp://127.0.0.1:*" });
 * const { xsub, xpub } = await broker.start();
 * console.log(`publishers connect to ${xsub}, subscribers to ${xpub}`);
 * await broker.stop();
 * ```
 */
export class Broker {
  /** The configuration the broker uses (listen endpoints, `proxyIoThreads`, `listenXpubNodrop`, `ipv6`). */
  readonly config: ZeroMQConfig;
  #running: Running | undefined;
  #starting: Promise<BrokerEndpoints> | undefined;
  #stopping: Promise<void> | undefined;
  #stats: { at: number; value: Promise<ProxyStatistics> } | undefined;
  // After the first start, wildcard ports are pinned so a restart binds where nodes already connect.
  #bindTo: BrokerEndpoints;
  /** Written by the broker's thread: [0] = overflows without NODROP. */
  readonly #overflows = new SharedArrayBuffer(8);
  readonly #disconnects = { xsub: 0, xpub: 0 };

  /**
   * @param options Zeek's options; the broker reads the listen endpoints, `proxyIoThreads`,
   * `listenXpubNodrop`, `ipv6`, `debugFlags`, the CURVE server keys, `maxMessageSize`, `maxTopicLength`
   * and the heartbeat options. Environment overrides apply.
   */
  constructor(options: ZeroMQOptions = {}) {
    this.config = resolveConfig(options);
    this.#bindTo = { xsub: this.config.listenXsubEndpoint, xpub: this.config.listenXpubEndpoint };
  }

  /** The bound endpoints while running. */
  get endpoints(): BrokerEndpoints | undefined {
    return this.#running?.endpoints;
  }

  /**
   * Where a node in this process connects to reach this broker, once it runs: its XPUB to the XSUB, its
   * XSUB to the XPUB, wildcard hosts as loopback.
   */
  get connectEndpoints(): { connectXpubEndpoint: string; connectXsubEndpoint: string } | undefined {
    const ep = this.endpoints;
    const reachable = (endpoint: string) =>
      endpoint.replace(/^tcp:\/\/0\.0\.0\.0:/, "tcp://127.0.0.1:").replace(/^tcp:\/\/\[::\]:/, "tcp://[::1]:");
    return ep && { connectXpubEndpoint: reachable(ep.xsub), connectXsubEndpoint: reachable(ep.xpub) };
  }

  /** Whether the broker is forwarding. */
  get running(): boolean {
    return this.#running !== undefined && this.#stopping === undefined;
  }

  /**
   * Binds both sockets and starts forwarding (Zeek's `spawn_zmq_proxy_thread()`). Resolves once both
   * are bound; rejects with a {@linkcode ClusterError} naming the endpoint if a bind fails (e.g.
   * `EADDRINUSE`). Starting again after {@linkcode stop} binds the same endpoints, wildcard ports
   * included.
   */
  start(): Promise<BrokerEndpoints> {
    if (this.#running && !this.#stopping) return Promise.resolve(this.#running.endpoints);
    this.#starting ??= (async () => {
      await this.#stopping;
      try {
        return await this.#spawn();
      } finally {
        this.#starting = undefined;
      }
    })();
    return this.#starting;
  }

  async #spawn(): Promise<BrokerEndpoints> {
    const c = this.config;
    const ctx = new Context({ ioThreads: c.proxyIoThreads, ipv6: c.ipv6 });
    // Zeek's rule: a CURVE server needs its secret key and the one client key it will accept.
    const curve = c.curveServerSecretkey !== "" && c.curveClientPublickey !== "";
    let zap: ZapHandler | undefined;
    try {
      zap = curve ? await ZapHandler.start(ctx, [c.curveClientPublickey]) : undefined;
    } catch (err) {
      ctx.close();
      throw err;
    }
    const worker = new Worker(new URL("./_proxy-worker.ts", import.meta.url).href);
    const seq = ++brokerSeq;
    const start: ProxyWorkerStart = {
      context: ctx.handle,
      xsub: this.#bindTo.xsub,
      xpub: this.#bindTo.xpub,
      xpubNodrop: c.listenXpubNodrop,
      control: `inproc://zeek-zmq-proxy-control-${process.pid}-${seq}`,
      curveSecretKey: curve ? c.curveServerSecretkey : "",
      debug: (c.debugFlags & 2) !== 0,
      limits: {
        maxMessageSize: c.maxMessageSize,
        heartbeatIvl: c.heartbeatIvl,
        heartbeatTtl: c.heartbeatTtl,
      },
      maxTopicLength: c.maxTopicLength,
      overflows: this.#overflows,
      monitor: `inproc://zeek-zmq-proxy-monitor-${process.pid}-${seq}`,
      queues: {
        xsubRcvhwm: c.listenXsubRcvhwm,
        xsubRcvbuf: c.listenXsubRcvbuf,
        xpubSndhwm: c.listenXpubSndhwm,
        xpubSndbuf: c.listenXpubSndbuf,
      },
    };
    let onStopped!: () => void;
    let hasStopped = false;
    const stopped = new Promise<void>((resolve) => (onStopped = resolve)).then(() => {
      hasStopped = true;
    });
    const first = new Promise<ProxyWorkerEvent>((resolve) => {
      worker.onmessage = (event: MessageEvent<ProxyWorkerEvent>) => {
        if (event.data.type === "stopped") {
          if (event.data.reason === "error") console.error(`[zeromq] proxy thread failed: ${event.data.message}`);
          onStopped();
        }
        resolve(event.data);
      };
      worker.onerror = (event) => {
        resolve({ type: "stopped", reason: "error", message: event.message });
        onStopped();
      };
    });
    worker.postMessage(start);
    const reply = await first;
    if (reply.type !== "bound") {
      worker.terminate();
      await zap?.stop();
      ctx.close();
      const message =
        reply.type === "bind-failed" ? reply.message : `Broker thread failed: ${reply.message ?? reply.reason}`;
      throw new ClusterError(reply.type === "bind-failed" ? "PROXY_BIND_FAILED" : "PROXY_FAILED", message);
    }
    const control = ctx.socket("REQ");
    control.setOption(SocketOption.LINGER, 0);
    // RELAXED + CORRELATE: a new request may follow one whose reply never came (a stalled broker).
    control.setOption(SocketOption.REQ_RELAXED, 1);
    control.setOption(SocketOption.REQ_CORRELATE, 1);
    control.connect(start.control);
    const monitor = (side: "xsub" | "xpub") => {
      const pair = ctx.socket("PAIR");
      pair.setOption(SocketOption.LINGER, 0);
      pair.setOption(SocketOption.RCVHWM, 0); // read every MONITOR_READ_MS: none may be dropped uncounted
      pair.connect(`${start.monitor}-${side}`);
      return pair;
    };
    const monitors = { xsub: monitor("xsub"), xpub: monitor("xpub") };
    const monitorTimer = setInterval(() => this.#readMonitors(), MONITOR_READ_MS).unref();
    const endpoints = { xsub: reply.xsub, xpub: reply.xpub };
    this.#bindTo = endpoints;
    this.#running = {
      ctx,
      worker,
      control,
      zap,
      endpoints,
      monitors,
      monitorTimer,
      stopped,
      hasStopped: () => hasStopped,
    };
    return endpoints;
  }

  #readMonitors(): void {
    const monitors = this.#running?.monitors;
    if (!monitors) return;
    for (const side of ["xsub", "xpub"] as const) {
      for (
        let m = parseMonitorMessage(monitors[side].recv(DONTWAIT));
        m;
        m = parseMonitorMessage(monitors[side].recv(DONTWAIT))
      )
        if (m.event & DISCONNECT_EVENTS) this.#disconnects[side]++;
    }
  }

  /** The broker's overflows (without NODROP) and the connections it lost, since it was created. Never blocks. */
  counters(): BrokerCounters {
    this.#readMonitors();
    return {
      xpubOverflows: Number(Atomics.load(new BigInt64Array(this.#overflows), 0)),
      xsubDisconnects: this.#disconnects.xsub,
      xpubDisconnects: this.#disconnects.xpub,
    };
  }

  /**
   * Reads the 8 traffic counters through the control socket. Results are reused for 10 ms so
   * frequent scrapes stay cheap. Never blocks the event loop; rejects with `PROXY_UNRESPONSIVE` if
   * the broker does not answer within a second (it is stalled on a full subscriber with NODROP).
   */
  statistics(): Promise<ProxyStatistics> {
    const now = performance.now();
    if (this.#stats && now - this.#stats.at < STATS_CACHE_MS) return this.#stats.value;
    const value = this.#queryStatistics();
    this.#stats = { at: now, value };
    value.catch(() => (this.#stats = undefined));
    return value;
  }

  async #queryStatistics(): Promise<ProxyStatistics> {
    const running = this.#running;
    if (!running || this.#stopping) throw new ClusterError("PROXY_NOT_RUNNING", "The broker is not running");
    running.control.send(["STATISTICS"], DONTWAIT);
    const deadline = performance.now() + STATS_TIMEOUT_MS;
    for (;;) {
      const frames = running.control.recv(DONTWAIT);
      if (frames) return parseStatistics(frames);
      if (performance.now() > deadline) {
        throw new ClusterError(
          "PROXY_UNRESPONSIVE",
          `The broker did not answer STATISTICS within ${STATS_TIMEOUT_MS} ms`,
        );
      }
      await Bun.sleep(1);
    }
  }

  /**
   * Stops forwarding and releases the sockets, the Worker and the context, after which the process
   * can exit by itself. Sends `TERMINATE` on the control socket; a broker stuck in a blocking send is
   * interrupted by shutting its context down after a second. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => undefined);
      const running = this.#running;
      if (!running) return;
      this.#readMonitors();
      clearInterval(running.monitorTimer);
      running.control.send(["TERMINATE"], DONTWAIT);
      if (!(await within(running.stopped, STOP_GRACE_MS))) {
        running.ctx.shutdown();
        await within(running.stopped, STOP_GRACE_MS);
      }
      running.worker.terminate();
      await running.zap?.stop();
      if (running.hasStopped()) {
        running.ctx.close();
      } else {
        // zmq_ctx_term would wait forever for the worker's sockets; leave the context to the OS.
        for (const socket of [running.control, running.monitors.xsub, running.monitors.xpub]) socket.close();
        console.error("[zeromq] proxy thread did not stop; its context is left open");
      }
      this.#running = undefined;
      this.#stats = undefined;
    })().finally(() => (this.#stopping = undefined));
    return this.#stopping;
  }
}

function parseStatistics(frames: Uint8Array[]): ProxyStatistics {
  if (frames.length !== 8 || frames.some((f) => f.length !== 8)) {
    throw new ClusterError(
      "PROXY_BAD_STATISTICS",
      `Expected 8 frames of 8 bytes from STATISTICS, got ${frames.length}`,
    );
  }
  // libzmq memcpy()s each uint64_t, so the frames are in host byte order.
  const n = frames.map((f) => Number(new BigUint64Array(f.slice().buffer)[0]));
  const side = (i: number): ProxySideStatistics => ({
    messagesReceived: n[i]!,
    bytesReceived: n[i + 1]!,
    messagesSent: n[i + 2]!,
    bytesSent: n[i + 3]!,
  });
  return { frontend: side(0), backend: side(4) };
}
