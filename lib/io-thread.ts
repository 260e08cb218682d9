/**
 * @module The main-thread side of a node's I/O Worker: it starts the worker, hands it publishes and
 * subscription changes through two inproc PAIRs without ever waiting on libzmq, queues publishes
 * locally when the worker is behind (BLOCK), receives batches of incoming messages, and stops the
 * worker within bounds. Not part of the public API; `pubsub.ts` builds on it.
 */

import {
  Counter,
  createSharedState,
  CTRL_ABORT,
  CTRL_XSUB_UPDATE,
  DATA_TERMINATE,
  type IoWorkerEvent,
  type IoWorkerStart,
  BatchCursor,
  Kind,
  readCounter,
  type SharedState,
  Slot,
  TERMINATE_CONTEXT,
} from "./channel.ts";
import type { ZeroMQConfig } from "./config.ts";
import { ClusterError } from "./errors.ts";
import { Context, DONTWAIT, type Socket, SocketOption } from "./zmq.ts";

/** Where received traffic goes. */
export interface IoHandlers {
  /** A subscription (`true`) or unsubscription seen on the XPUB, topic bytes without the flag byte. */
  notice(subscribe: boolean, topic: Uint8Array): void;
  /** An event from the XSUB: the cursor stands on a record of `[topic, sender, format, payload]`. */
  event(record: BatchCursor): void;
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
  #ctx: Context | undefined;
  #worker: Worker | undefined;
  #data: Socket | undefined;
  #control: Socket | undefined;
  #pending: Uint8Array[][] = [];
  #batches: [ArrayBuffer, number][] = [];
  #localDrops = 0;
  #drained: (() => void)[] = [];
  #closed = Promise.withResolvers<void>();
  #terminated = Promise.withResolvers<void>();

  constructor(nodeId: string, handlers: IoHandlers) {
    this.#nodeId = nodeId;
    this.#handlers = handlers;
  }

  /** Whether {@linkcode start} has created the sockets. */
  get started(): boolean {
    return this.#data !== undefined;
  }

  /** Starts the worker with `c`'s endpoints and options; resolves once its sockets are connecting. */
  async start(c: ZeroMQConfig, curve: IoWorkerStart["curve"]): Promise<void> {
    this.#config = c;
    const ctx = (this.#ctx = new Context({ ioThreads: 1, ipv6: c.ipv6 }));
    const base = `inproc://zeek-zmq-io-${process.pid}-${++seq}`;
    const data = (this.#data = ctx.socket("PAIR"));
    const control = (this.#control = ctx.socket("PAIR"));
    for (const s of [data, control]) s.setOption(SocketOption.LINGER, 0);
    control.setOption(SocketOption.SNDHWM, 0); // subscriptions are few: never make them wait
    data.bind(`${base}-data`);
    control.bind(`${base}-control`);
    const worker = (this.#worker = new Worker(new URL("./io-worker.ts", import.meta.url).href));
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<IoWorkerEvent>) => this.#onWorker(e.data, ready);
    worker.onerror = (e) => {
      ready.reject(new ClusterError("IO_THREAD_FAILED", `The I/O thread failed: ${e.message}`));
      this.#handlers.report(`io thread failed: ${e.message}`);
      this.#closed.resolve();
      this.#terminated.resolve();
    };
    const start: IoWorkerStart = {
      context: ctx.handle,
      shared: this.#state.ints.buffer as SharedArrayBuffer,
      dataEndpoint: `${base}-data`,
      controlEndpoint: `${base}-control`,
      nodeId: this.#nodeId,
      xpubEndpoint: c.connectXpubEndpoint,
      xsubEndpoint: c.connectXsubEndpoint,
      socketOptions: {
        lingerMs: c.lingerMs,
        xpubSndhwm: c.xpubSndhwm,
        xpubSndbuf: c.xpubSndbuf,
        xsubRcvhwm: c.xsubRcvhwm,
        xsubRcvbuf: c.xsubRcvbuf,
        xpubNodrop: c.connectXpubNodrop,
      },
      curve,
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
      ctx.close();
      throw err;
    }
  }

  #onWorker(event: IoWorkerEvent, ready: PromiseWithResolvers<void>): void {
    switch (event.type) {
      case "ready":
        return ready.resolve();
      case "failed":
        ready.reject(new ClusterError("IO_THREAD_FAILED", event.message));
        this.#closed.resolve();
        return this.#terminated.resolve();
      case "batch":
        return this.#onBatch(event.buffer, event.events);
      case "drain":
        return this.flushPending();
      case "report":
        return this.#handlers.report(event.message);
      case "handshake-failed":
        return this.#handlers.handshakeFailed(event.message);
      case "closed":
        return this.#closed.resolve();
      case "terminated":
        return this.#terminated.resolve();
    }
  }

  // Bun delivers a stream of worker messages ahead of timers, so a busy worker could starve them.
  // Batches are queued here and processed from setImmediate, which lets timers and I/O run between.
  #onBatch(buffer: ArrayBuffer, events: number): void {
    this.#batches.push([buffer, events]);
    if (this.#batches.length === 1) setImmediate(() => this.#processBatches());
  }

  #processBatches(): void {
    for (const [buffer, events] of this.#batches.splice(0)) {
      try {
        const cursor = new BatchCursor(buffer);
        while (cursor.next()) {
          if (cursor.kind === Kind.Event) this.#handlers.event(cursor);
          else this.#handlers.notice(cursor.bytes[cursor.start(0)] === 1, cursor.bytes.subarray(cursor.start(0) + 1, cursor.end(0)));
        }
      } finally {
        Atomics.sub(this.#state.ints, Slot.OnloopDepth, events);
      }
    }
  }

  /**
   * Hands a publish to the worker. Returns `false` when it had to wait in the local queue (BLOCK:
   * await {@linkcode drain}) or, under DROP with the queue at `xpubSndhwm`, was dropped and counted.
   */
  publish(frames: Uint8Array[], now: boolean): boolean {
    if (now && this.#pending.length === 0 && this.#data?.send(frames, DONTWAIT)) return true;
    const c = this.#config;
    const limit = c?.overflowPolicy === "DROP" && c.xpubSndhwm > 0 ? c.xpubSndhwm : Infinity;
    if (this.#pending.length >= limit) {
      this.#localDrops++;
      return false;
    }
    this.#pending.push(frames);
    if (now) this.flushPending();
    return false;
  }

  /** Hands queued publishes to the worker while its PAIR takes them; asks for a wake-up otherwise. */
  flushPending(): void {
    const data = this.#data;
    if (!data) return;
    while (this.#pending.length > 0) {
      // Ask for a wake-up first, then retry: the worker reads the full PAIR later and sees the flag.
      Atomics.store(this.#state.ints, Slot.WantDrain, 1);
      if (!data.send(this.#pending[0]!, DONTWAIT)) {
        // zmq_send processes the worker's "room again" notices at most once a millisecond; reading
        // ZMQ_EVENTS processes them now. Without this a stale EAGAIN could wait for a wake-up forever.
        data.events();
        if (!data.send(this.#pending[0]!, DONTWAIT)) return;
      }
      this.#pending.shift();
    }
    Atomics.store(this.#state.ints, Slot.WantDrain, 0);
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once every locally queued publish has been handed to the worker. */
  drain(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Sends `0x01topic` / `0x00topic` on the XSUB. */
  xsubUpdate(notice: Uint8Array): void {
    this.#control?.send([new Uint8Array([CTRL_XSUB_UPDATE]), notice], DONTWAIT);
  }

  /** The transport counters. */
  counters(): IoCounters {
    const s = this.#state;
    return {
      xpubDrops: readCounter(s, Counter.XpubDrops) + this.#localDrops,
      xpubBlocks: readCounter(s, Counter.XpubBlocks),
      onloopDrops: readCounter(s, Counter.OnloopDrops),
      msgErrors: readCounter(s, Counter.MsgErrors),
      onloopQueueDepth: Atomics.load(s.ints, Slot.OnloopDepth),
      pendingPublishes: this.#pending.length,
    };
  }

  /**
   * Stops the worker: queued publishes get `graceMs` to go out (then they are dropped and counted),
   * the XPUB keeps its linger, and the context is terminated in the worker so the main thread never
   * waits for lingering messages.
   */
  async stop(graceMs: number): Promise<void> {
    const worker = this.#worker;
    const ctx = this.#ctx;
    if (!worker || !ctx || !this.#data || !this.#control) return;
    if (!(await settle(this.drain(), graceMs))) {
      this.#localDrops += this.#pending.length;
      this.#handlers.report(`dropped ${this.#pending.length} queued publishes at shutdown`);
      this.#pending = [];
    }
    this.#data.send([DATA_TERMINATE], DONTWAIT);
    if (!(await settle(this.#closed.promise, graceMs))) {
      this.#control.send([new Uint8Array([CTRL_ABORT])], DONTWAIT);
      await settle(this.#closed.promise, 1000);
    }
    this.#data = this.#control = undefined;
    ctx.handOver();
    worker.postMessage(TERMINATE_CONTEXT);
    if (!(await settle(this.#terminated.promise, Math.max(0, this.#config?.lingerMs ?? 0) + 2000))) {
      this.#handlers.report("the I/O thread did not terminate its context in time");
    }
    worker.terminate();
  }
}
