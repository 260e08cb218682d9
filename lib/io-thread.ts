/**
 * @module The main-thread side of a node's I/O Worker: it starts the worker, hands it publishes, log
 * batches and subscription changes through inproc PAIRs without ever waiting on libzmq, queues locally
 * when the worker is behind (BLOCK), receives batches of incoming messages, and stops the worker within
 * bounds. Not part of the public API; `pubsub.ts` builds on it.
 */

import {
  BatchCursor,
  Counter,
  createSharedState,
  CTRL_ABORT,
  CTRL_CLOSE_PULL,
  CTRL_XSUB_UPDATE,
  DATA_PAIR_HWM,
  DATA_TERMINATE,
  type IoWorkerEvent,
  type IoWorkerStart,
  Kind,
  readCounter,
  type SharedState,
  Slot,
  TERMINATE_CONTEXT,
} from "./channel.ts";
import type { ZeroMQConfig } from "./config.ts";
import { ClusterError } from "./errors.ts";
import { Outbox, PublishOutbox, type SendResult } from "./outbox.ts";
import { ZapHandler } from "./zap.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "./zmq.ts";

/** Where received traffic goes. */
export interface IoHandlers {
  /** A subscription (`true`) or unsubscription seen on the XPUB, topic bytes without the flag byte. */
  notice(subscribe: boolean, topic: Uint8Array): void;
  /** An event from the XSUB: the cursor stands on a record of `[topic, sender, format, payload]`. */
  event(record: BatchCursor): void;
  /** A log message from the PULL: the cursor stands on `["log-write", sender, format, payload]`; may be async. */
  log(record: BatchCursor): void | Promise<void>;
  /** Log batches, as [seq, records], that were dropped before reaching a logger. */
  logDropped(batches: [number, number][]): void;
  /** A problem the worker reports once per kind. */
  report(message: string): void;
  /** A connection to the broker failed its handshake (CURVE on one side only, a wrong key). */
  handshakeFailed(message: string): void;
}

/** Transport counters (Zeek's metric names in the comments). */
export interface IoCounters {
  /** `zeek_cluster_zeromq_xpub_drops_total` */
  xpubDrops: number;
  /** `zeek_cluster_zeromq_xpub_blocks_total` */
  xpubBlocks: number;
  /** `zeek_cluster_zeromq_onloop_drops_total` */
  onloopDrops: number;
  /** Malformed messages seen by the worker (part of `zeek_cluster_zeromq_msg_errors_total`). */
  msgErrors: number;
  /** Events handed to the main thread and not processed yet. */
  onloopQueueDepth: number;
  /** Publishes waiting in the local queue for the worker. */
  pendingPublishes: number;
  /** Times a log batch had to wait for a logger (BLOCK). */
  logBlocks: number;
}

/** Stop reading the XSUB when this many events wait for main and the onloop HWM is 0 (never drop). */
const ONLOOP_BACKPRESSURE_AT = 10_000;
let seq = 0;

function settle(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: Timer | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
}

/** One node's I/O Worker, seen from the main thread. */
export class IoThread {
  #config: ZeroMQConfig | undefined;
  readonly #nodeId: string;
  readonly #handlers: IoHandlers;
  readonly #state: SharedState = createSharedState();
  readonly #events: PublishOutbox;
  readonly #logs: Outbox;
  #ctx: Context | undefined;
  #worker: Worker | undefined;
  #control: Socket | undefined;
  #zap: ZapHandler | undefined;
  #batches: [ArrayBuffer, number, number][] = [];
  #logListen = "";
  #closed = Promise.withResolvers<void>();
  #terminated = Promise.withResolvers<void>();
  #pullClosed = Promise.withResolvers<void>();

  constructor(nodeId: string, handlers: IoHandlers) {
    this.#nodeId = nodeId;
    this.#handlers = handlers;
    this.#events = new PublishOutbox(this.#state, Slot.WantDrain);
    this.#logs = new Outbox(this.#state, Slot.LogWantDrain);
  }

  /** Whether {@linkcode start} has created the sockets. */
  get started(): boolean {
    return this.#events.socket !== undefined;
  }

  /** The endpoint the PULL socket bound (wildcard port resolved), or empty. */
  get logListenEndpoint(): string {
    return this.#logListen;
  }

  /** Starts the worker with `c`'s endpoints and options; resolves once its sockets are connecting. */
  async start(c: ZeroMQConfig, curve: IoWorkerStart["curve"], logPolicy: "BLOCK" | "DROP", format: string): Promise<void> {
    this.#config = c;
    // Under DROP the local queues are bounded by the HWMs (0: unbounded), as the sockets behind them are.
    const limit = (policy: string, hwm: number) => (policy === "DROP" && hwm > 0 ? hwm : Infinity);
    this.#events.dropLimit = limit(c.overflowPolicy, c.xpubSndhwm);
    this.#logs.dropLimit = limit(logPolicy, c.logSndhwm);
    const ctx = (this.#ctx = new Context({ ioThreads: 1, ipv6: c.ipv6 }));
    const base = `inproc://zeek-zmq-io-${process.pid}-${++seq}`;
    const [data, logs, control] = ["data", "logs", "control"].map((name) => {
      const socket = ctx.socket("PAIR");
      socket.setOption(SocketOption.LINGER, 0);
      socket.bind(`${base}-${name}`);
      return socket;
    }) as [Socket, Socket, Socket];
    control.setOption(SocketOption.SNDHWM, 0); // subscriptions are few: never make them wait
    data.setOption(SocketOption.SNDHWM, DATA_PAIR_HWM);
    // A logger with CURVE admits only the cluster's client key (Zeek starts a ZAP thread likewise).
    const server = c.listenLogEndpoint !== "" && c.curveServerSecretkey !== "" && c.curveClientPublickey !== "";
    if (server) this.#zap = await ZapHandler.start(ctx, [c.curveClientPublickey]);
    const worker = (this.#worker = new Worker(new URL("./io-worker.ts", import.meta.url).href));
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<IoWorkerEvent>) => this.#onWorker(e.data, ready);
    worker.onerror = (e) => {
      ready.reject(new ClusterError("IO_THREAD_FAILED", `The I/O thread failed: ${e.message}`));
      this.#handlers.report(`io thread failed: ${e.message}`);
      for (const p of [this.#closed, this.#terminated, this.#pullClosed]) p.resolve();
    };
    const start: IoWorkerStart = {
      context: ctx.handle,
      shared: this.#state.ints.buffer as SharedArrayBuffer,
      dataEndpoint: `${base}-data`,
      logEndpoint: `${base}-logs`,
      controlEndpoint: `${base}-control`,
      nodeId: this.#nodeId,
      format,
      xpubEndpoint: c.connectXpubEndpoint,
      xsubEndpoint: c.connectXsubEndpoint,
      logConnect: c.connectLogEndpoints,
      logListen: c.listenLogEndpoint,
      logOverflowPolicy: logPolicy,
      socketOptions: {
        lingerMs: c.lingerMs,
        xpubSndhwm: c.xpubSndhwm,
        xpubSndbuf: c.xpubSndbuf,
        xsubRcvhwm: c.xsubRcvhwm,
        xsubRcvbuf: c.xsubRcvbuf,
        xpubNodrop: c.connectXpubNodrop,
        logSndhwm: c.logSndhwm,
        logRcvhwm: c.logRcvhwm,
        logSndbuf: c.logSndbuf,
        logRcvbuf: c.logRcvbuf,
        logImmediate: c.logImmediate,
      },
      curve,
      curveServerKey: server ? c.curveServerSecretkey : "",
      overflowPolicy: c.overflowPolicy,
      onloopQueueHwm: c.onloopQueueHwm,
      onloopBackpressureAt: ONLOOP_BACKPRESSURE_AT,
      pollMaxMessages: c.pollMaxMessages,
      debug: (c.debugFlags & 1) !== 0,
    };
    worker.postMessage(start);
    try {
      await ready.promise;
    } catch (err) {
      worker.terminate();
      await this.#zap?.stop();
      ctx.close();
      throw err;
    }
    [this.#events.socket, this.#logs.socket, this.#control] = [data, logs, control];
  }

  #onWorker(event: IoWorkerEvent, ready: PromiseWithResolvers<void>): void {
    switch (event.type) {
      case "ready":
        this.#logListen = event.logListen;
        return ready.resolve();
      case "failed":
        ready.reject(new ClusterError("IO_THREAD_FAILED", event.message));
        for (const p of [this.#closed, this.#terminated, this.#pullClosed]) p.resolve();
        return;
      case "batch":
        this.#batches.push([event.buffer, event.events, event.logs]);
        if (this.#batches.length === 1) setImmediate(() => this.#processBatches());
        return;
      case "drain":
        return this.#events.flush();
      case "log-drain":
        return this.#logs.flush();
      case "log-dropped":
        return this.#handlers.logDropped(event.batches);
      case "report":
        return this.#handlers.report(event.message);
      case "handshake-failed":
        return this.#handlers.handshakeFailed(event.message);
      case "pull-closed":
        return this.#pullClosed.resolve();
      case "closed":
        return this.#closed.resolve();
      case "terminated":
        return this.#terminated.resolve();
    }
  }

  // Bun delivers a stream of worker messages ahead of timers, so a busy worker could starve them.
  // Batches are queued here and processed from setImmediate, which lets timers and I/O run between.
  #processBatches(): void {
    for (const [buffer, events, logs] of this.#batches.splice(0)) {
      const pendingLogs: Promise<void>[] = [];
      try {
        const cursor = new BatchCursor(buffer);
        while (cursor.next()) {
          if (cursor.kind === Kind.Event) this.#handlers.event(cursor);
          else if (cursor.kind === Kind.Log) {
            const done = this.#handlers.log(cursor);
            if (done) pendingLogs.push(done);
          } else this.#handlers.notice(cursor.bytes[cursor.start(0)] === 1, cursor.bytes.subarray(cursor.start(0) + 1, cursor.end(0)));
        }
      } finally {
        Atomics.sub(this.#state.ints, Slot.OnloopDepth, events);
        // Log batches count as waiting until their sink is done with them: that is the logger's backpressure.
        Promise.allSettled(pendingLogs).then(() => Atomics.sub(this.#state.ints, Slot.LogDepth, logs));
      }
    }
  }

  /**
   * Hands a publish (`payload[0, length)`) to the worker. `"queued"`: it waits in the local queue (BLOCK: await
   * {@linkcode drain}); `"dropped"`: under DROP the queue was at `xpubSndhwm` (counted in `xpubDrops`).
   */
  publish(topic: Uint8Array, payload: Uint8Array, length: number, now: boolean): SendResult {
    return this.#events.publish(topic, payload, length, now);
  }

  /**
   * Hands log batch `seq` of `records` records (`format`, `payload`) to the worker, like
   * {@linkcode publish}; under DROP its local queue is bounded by `logSndhwm`. A `seq` other than 0 asks
   * the logger for an acknowledgment (frame 0 becomes `log-write;seq=<seq>`).
   */
  sendLog(records: number, seq: number, format: Uint8Array, payload: Uint8Array, now: boolean): SendResult {
    const header = new Uint8Array(8);
    const view = new DataView(header.buffer);
    view.setUint32(0, records, true);
    view.setUint32(4, seq, true);
    return this.#logs.send([header, format, payload], now);
  }

  /** Hands queued publishes and log batches to the worker as far as its PAIRs take them. */
  flushPending(): void {
    this.#events.flush();
    this.#logs.flush();
  }

  /** Resolves once every locally queued publish has been handed to the worker. */
  drain(): Promise<void> {
    return this.#events.drain();
  }

  /** Resolves once every locally queued log batch has been handed to the worker. */
  drainLogs(): Promise<void> {
    return this.#logs.drain();
  }

  /** Sends `0x01topic` / `0x00topic` on the XSUB. */
  xsubUpdate(notice: Uint8Array): void {
    this.#control?.send([new Uint8Array([CTRL_XSUB_UPDATE]), notice], DONTWAIT);
  }

  /** Reads what the PULL socket holds, closes it, and resolves once those batches were handed over. */
  async closePull(): Promise<void> {
    if (!this.#control || this.#logListen === "") return;
    this.#control.send([new Uint8Array([CTRL_CLOSE_PULL])], DONTWAIT);
    await settle(this.#pullClosed.promise, 2000);
    await new Promise((resolve) => setImmediate(resolve)); // let the last batch be processed
  }

  /** The transport counters. */
  counters(): IoCounters {
    const s = this.#state;
    return {
      xpubDrops: readCounter(s, Counter.XpubDrops) + this.#events.localDrops,
      xpubBlocks: readCounter(s, Counter.XpubBlocks),
      onloopDrops: readCounter(s, Counter.OnloopDrops),
      msgErrors: readCounter(s, Counter.MsgErrors),
      onloopQueueDepth: Atomics.load(s.ints, Slot.OnloopDepth),
      pendingPublishes: this.#events.waiting,
      logBlocks: readCounter(s, Counter.LogBlocks),
    };
  }

  /**
   * Stops the worker: queued publishes get `graceMs` to go out (then they are dropped and counted),
   * the XPUB and PUSH keep their linger, and the context is terminated in the worker so the main thread
   * never waits for lingering messages.
   */
  async stop(graceMs: number): Promise<void> {
    const [worker, ctx, data, control] = [this.#worker, this.#ctx, this.#events.socket, this.#control];
    if (!worker || !ctx || !data || !control) return;
    if (!(await settle(this.#events.drain(), graceMs))) {
      const lost = this.#events.discard();
      this.#handlers.report(`dropped ${lost} queued publishes at shutdown`);
      this.#events.localDrops += lost;
    }
    if (!(await settle(this.#logs.drain(), graceMs))) {
      const logs = this.#logs;
      this.#handlers.report(`dropped ${logs.pending.length} queued log batches at shutdown`);
      const header = (f: Uint8Array[]) => new DataView(f[0]!.buffer);
      this.#handlers.logDropped(logs.pending.map((f): [number, number] => [header(f).getUint32(4, true), header(f).getUint32(0, true)]));
      logs.pending = [];
    }
    data.send([DATA_TERMINATE], DONTWAIT);
    if (!(await settle(this.#closed.promise, graceMs))) {
      control.send([new Uint8Array([CTRL_ABORT])], DONTWAIT);
      await settle(this.#closed.promise, 1000);
    }
    this.#events.socket = this.#logs.socket = this.#control = undefined;
    await this.#zap?.stop();
    ctx.handOver();
    worker.postMessage(TERMINATE_CONTEXT);
    if (!(await settle(this.#terminated.promise, Math.max(0, this.#config?.lingerMs ?? 0) + 2000))) {
      this.#handlers.report("the I/O thread did not terminate its context in time");
    }
    worker.terminate();
  }
}
