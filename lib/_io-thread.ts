/**
 * @module The main-thread side of a node's I/O Worker, as one program: it starts the worker, hands it
 * publishes (packed into batches, see `_frames.ts`), log batches and subscription changes through three
 * inproc PAIRs without ever waiting on libzmq, queues locally while the worker is behind (BLOCK: the
 * caller awaits `drain()`; DROP: bounded by the HWMs), takes the batches of received messages the
 * worker posts (`_io-inbox.ts`), and stops it with one message. An event on its own takes main's own
 * turn instead: sent on the XPUB from `publish()` (`_io-direct.ts`), or read from the XSUB by an idle
 * main (`_io-xsub-loan.ts`); with an engine "bun" main runs that connection itself (`_io-engines.ts`).
 * The worker's side is `_io-worker.ts`. Not public.
 */

import { type BatchCursor, BatchWriter } from "./_batch.ts";
import {
  createSharedState,
  DATA_PAIR_HWM,
  type IoCounters,
  type IoWorkerEvent,
  LOG_PAIR_HWM,
  QUIET_MS,
  readIoCounters,
  type SendResult,
  type SharedState,
  Slot,
  workerStart,
} from "./_channel.ts";
import { within } from "./_deadline.ts";
import { Control, logHeader } from "./_frames.ts";
import { DirectXpub } from "./_io-direct.ts";
import { closeEngines, type EngineSinks, type Engines, listenPull, startEngines } from "./_io-engines.ts";
import { Inbox } from "./_io-inbox.ts";
import { PairQueue, Publishes } from "./_io-queue.ts";
import { MessageReader } from "./_io-reader.ts";
import { XsubLoan } from "./_io-xsub-loan.ts";
import { ZapHandler } from "./_zap.ts";
import { Context, DONTWAIT, NativeBuffer, Socket, type SocketHandle, SocketOption } from "./_zmq.ts";
import type { ZeroMQConfig } from "./config.ts";
import { ClusterError } from "./errors.ts";

export type { IoCounters, SendResult } from "./_channel.ts";

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

const encoder = new TextEncoder();
const PRIORITY_TAG = new Uint8Array([Control.Publish]);
let seq = 0;

/** One node's I/O Worker, seen from the main thread. */
export class IoThread {
  #config: ZeroMQConfig | undefined;
  readonly #nodeId: string;
  readonly #handlers: IoHandlers;
  readonly #state: SharedState = createSharedState();
  readonly #events: Publishes;
  readonly #logs: PairQueue;
  /** Topics as bytes: most nodes publish to a few topics, over and over. */
  readonly #topics = new Map<string, Uint8Array>();
  /** Log batches waiting beyond which a new one is dropped (DROP: `logSndhwm`). */
  #logDropLimit = Infinity;
  #ctx: Context | undefined;
  #worker: Worker | undefined;
  #control: Socket | undefined;
  /** Main's own sends on the XPUB (`_io-direct.ts`), from start until stop. */
  #direct: DirectXpub | undefined;
  #lastPublish = Number.NEGATIVE_INFINITY;
  /** Main's turns on the XSUB while it is idle (`_io-xsub-loan.ts`), from start until stop. */
  #loan: XsubLoan | undefined;
  /** Main's own connections and PULL (the engines "bun", `_io-engines.ts`), from start until stop. */
  #engines: Engines = {};
  #handles: { xpub: SocketHandle; xsub: SocketHandle } | undefined;
  /** Problems reported so far, by kind: each is reported once, whichever thread saw it. */
  readonly #reported = new Set<string>();
  #zap: ZapHandler | undefined;
  /** What the worker (or main's own turn on the XSUB) received, processed a slice at a time. */
  readonly #inbox: Inbox;
  #logListen = "";
  #dropReported = false;
  #terminated = Promise.withResolvers<void>();
  #pullClosed = Promise.withResolvers<void>();

  constructor(nodeId: string, handlers: IoHandlers) {
    this.#nodeId = nodeId;
    this.#handlers = handlers;
    this.#events = new Publishes(this.#state);
    this.#logs = new PairQueue(this.#state, Slot.LogWantDrain);
    // Idle: read the next events from the XSUB here (`_io-xsub-loan.ts`); busy: let the worker read them.
    this.#inbox = new Inbox(
      this.#state,
      handlers,
      () => (this.#engines.xsub ? this.#engines.xsub.resume() : this.#loan?.wait()),
      () => this.#loan?.release(),
      () => this.#engines.pull?.logsTaken(),
    );
  }

  /** Whether {@linkcode start} has created the sockets. */
  get started(): boolean {
    return this.#control !== undefined;
  }

  /** Events main sent on the XPUB itself (`_io-direct.ts`) rather than through the worker. */
  get directSends(): number {
    return this.#direct?.sent ?? 0;
  }

  /** The endpoint the PULL socket bound (wildcard port resolved), or empty. */
  get logListenEndpoint(): string {
    return this.#engines.pull?.endpoint ?? this.#logListen;
  }

  /** Starts the worker with `c`'s endpoints and options; resolves once its sockets are connecting. */
  async start(c: ZeroMQConfig, logPolicy: "BLOCK" | "DROP", format: string): Promise<void> {
    this.#config = c;
    const sinks: EngineSinks = {
      received: (buffer) => this.#inbox.received(buffer),
      notice: (subscribe, topic) => this.#handlers.notice(subscribe, topic),
      logDropped: (batches) => this.#handlers.logDropped(batches),
      report: (key, message) => this.#report(key, message),
      handshakeFailed: (message) => this.#handlers.handshakeFailed(message),
    };
    const pull = (this.#engines.pull = listenPull(c, this.#state, sinks));
    // CURVE client keys for the broker and the loggers, when all three are set (Zeek's client mode).
    const client = c.curveServerPublickey && c.curveClientPublickey && c.curveClientSecretkey;
    const curve = client
      ? { serverKey: c.curveServerPublickey, publicKey: c.curveClientPublickey, secretKey: c.curveClientSecretkey }
      : undefined;
    // Under DROP the local queues are bounded by the HWMs (0: unbounded), as the sockets behind them are.
    const limit = (policy: string, hwm: number) => (policy === "DROP" && hwm > 0 ? hwm : Infinity);
    this.#events.dropLimit = limit(c.overflowPolicy, c.xpubSndhwm);
    this.#logDropLimit = limit(logPolicy, c.logSndhwm);
    const ctx = (this.#ctx = new Context({ ioThreads: 1, ipv6: c.ipv6 }));
    const base = `inproc://zeek-zmq-io-${process.pid}-${++seq}`;
    // inproc takes the binding side's HWM as it was at bind time: set it first, or libzmq's 1000 applies
    // (1000 batches: a second of events at saturation). Subscriptions and priority events are few: the
    // control PAIR never makes them wait.
    const hwms = { data: DATA_PAIR_HWM, logs: LOG_PAIR_HWM, control: 0 };
    const [data, logs, control] = (["data", "logs", "control"] as const).map((name) => {
      const socket = ctx.socket("PAIR");
      socket.setOption(SocketOption.LINGER, 0);
      socket.setOption(SocketOption.SNDHWM, hwms[name]);
      socket.bind(`${base}-${name}`);
      return socket;
    }) as [Socket, Socket, Socket];
    // A logger with CURVE admits only the cluster's client key (Zeek starts a ZAP thread likewise).
    const server = c.listenLogEndpoint !== "" && c.curveServerSecretkey !== "" && c.curveClientPublickey !== "";
    if (server) this.#zap = await ZapHandler.start(ctx, [c.curveClientPublickey]);
    const worker = (this.#worker = new Worker(new URL("./_io-worker.ts", import.meta.url).href));
    const ready = Promise.withResolvers<void>();
    worker.onmessage = (e: MessageEvent<IoWorkerEvent>) => this.#onWorker(e.data, ready);
    worker.onerror = (e) => {
      ready.reject(new ClusterError("IO_THREAD_FAILED", `The I/O thread failed: ${e.message}`));
      this.#handlers.report(`io thread failed: ${e.message}`);
      for (const p of [this.#terminated, this.#pullClosed]) p.resolve();
    };
    worker.postMessage(
      workerStart(c, {
        context: ctx.handle,
        shared: this.#state.ints.buffer as SharedArrayBuffer,
        base,
        nodeId: this.#nodeId,
        format,
        curve,
        logOverflowPolicy: logPolicy,
        curveServerKey: server ? c.curveServerSecretkey : "",
        // With onloopQueueHwm 0 (never drop) the Worker stops reading the XSUB at 10 × its HWM of events
        // waiting for main, so that the queue ahead of a busy node stays bounded.
        onloopBackpressureAt: 10 * c.xsubRcvhwm,
      }),
    );
    try {
      await ready.promise;
    } catch (err) {
      pull?.close();
      worker.terminate();
      await this.#zap?.stop();
      ctx.close();
      throw err;
    }
    [this.#events.queue.socket, this.#logs.socket, this.#control] = [data, logs, control];
    const handles = this.#handles;
    if (!handles) return;
    const id = encoder.encode(this.#nodeId);
    this.#engines = { ...startEngines(c, this.#state, id, encoder.encode(format), sinks), pull };
    if (!this.#engines.xpub)
      this.#direct = new DirectXpub(
        Socket.borrow(handles.xpub, "XPUB"),
        control,
        this.#state,
        id,
        encoder.encode(format),
      );
    if (this.#engines.xsub) return;
    const reader = new MessageReader(new BatchWriter(new NativeBuffer(64 * 1024)), {
      state: this.#state,
      idBytes: id,
      maxTopicLength: c.maxTopicLength,
      onloopHwm: c.onloopQueueHwm,
      report: (key, message) => this.#report(key, message),
    });
    this.#loan = new XsubLoan(
      Socket.borrow(handles.xsub, "XSUB"),
      control,
      this.#state,
      reader,
      // As many as the worker hands over in one batch: a loan costs two wake-ups, whatever it carries.
      c.onloopQueueHwm > 0 ? Math.max(1, Math.min(8192, Math.floor(c.onloopQueueHwm / 2))) : 8192,
      (buffer) => this.#inbox.received(buffer),
      (message) => this.#handlers.report(message),
    );
    this.#loan.wait();
  }

  #report(key: string, message: string): void {
    if (this.#reported.has(key)) return;
    if (this.#reported.add(key).size > 1000) this.#reported.clear();
    this.#handlers.report(message);
  }

  /** Events main read from the XSUB itself while idle (`_io-xsub-loan.ts`). */
  get loanedReads(): number {
    return this.#loan?.read ?? 0;
  }

  #onWorker(event: IoWorkerEvent, ready: PromiseWithResolvers<void>): void {
    switch (event.type) {
      case "ready":
        this.#logListen = event.logListen;
        this.#handles = { xpub: event.xpub, xsub: event.xsub };
        return ready.resolve();
      case "failed":
        ready.reject(new ClusterError("IO_THREAD_FAILED", event.message));
        for (const p of [this.#terminated, this.#pullClosed]) p.resolve();
        return;
      case "batch":
        return this.#inbox.received(event.buffer);
      case "drain":
        return this.#events.flush();
      case "log-drain":
        return void this.#logs.flush();
      case "log-dropped":
        return this.#handlers.logDropped(event.batches);
      case "report":
        return this.#report(event.key, event.message);
      case "handshake-failed":
        return this.#handlers.handshakeFailed(event.message);
      case "pull-closed":
        return this.#pullClosed.resolve();
      case "terminated":
        return this.#terminated.resolve();
    }
  }

  /**
   * Hands a publish (`payload[0, length)`) to the worker. `"queued"`: it waits in the local queue (BLOCK: await
   * {@linkcode drain}); `"dropped"`: under DROP the queue was at `xpubSndhwm` (counted in `xpubDrops`).
   */
  publish(topic: string, payload: Uint8Array, length: number, now: boolean, priority = false): SendResult {
    let bytes = this.#topics.get(topic);
    if (!bytes) {
      if (this.#topics.size > 1024) this.#topics.clear();
      this.#topics.set(topic, (bytes = encoder.encode(topic)));
    }
    if (this.#engines.xpub) return this.#engines.xpub.publish(bytes, payload, length, now, priority);
    // The backend's own events skip the data queue: the control PAIR never waits, and the worker sends
    // them ahead of the data batches. An event on its own (none published in the last 50 µs) goes from
    // main on the XPUB itself while nothing published earlier waits (`_io-direct.ts`): one hop fewer.
    const at = performance.now();
    const alone = at - this.#lastPublish >= QUIET_MS;
    this.#lastPublish = at;
    if (alone && now && this.#direct && this.#events.idle && this.#direct.trySend(bytes, payload, length)) {
      return "sent";
    }
    if (priority && now && this.#control?.send([PRIORITY_TAG, bytes, payload.subarray(0, length)], DONTWAIT)) {
      return "sent";
    }
    return this.#events.publish(bytes, payload, length, now);
  }

  /**
   * Under DROP, whether the next event cannot be queued (see `Publishes.full`); it is then counted in
   * `xpubDrops` and the caller does not encode it.
   */
  full(): boolean {
    if (!(this.#engines.xpub ? this.#engines.xpub.full() : this.#events.full())) return false;
    if (!this.#dropReported) this.#handlers.report("xpub: warn: dropped a message due to hwm");
    this.#dropReported = true;
    return true;
  }

  /**
   * Hands log batch `seq` of `records` records (`format`, `payload`, which may wait here uncopied: the
   * writer reuses a batch's bytes only once it is acknowledged) to the worker, like {@linkcode publish};
   * under DROP its queue is bounded by `logSndhwm`. A `seq` other than 0 asks for an acknowledgment.
   */
  sendLog(records: number, seq: number, format: Uint8Array, payload: Uint8Array, now: boolean): SendResult {
    const policy = this.#logDropLimit < Infinity ? "DROP" : "BLOCK"; // pushEngine "bun": at logSndhwm too
    if (this.#engines.push) return this.#engines.push.send(records, seq, format, payload, now, policy);
    const frames = [logHeader(records, seq), format, payload];
    if (now && this.#logs.sendNow(frames)) return "sent";
    if (this.#logs.waiting >= this.#logDropLimit) return "dropped";
    this.#logs.push(frames, 1);
    if (now) this.#logs.flush();
    return "queued";
  }

  /** Hands queued publishes and log batches to the worker as far as its PAIRs take them. */
  flushPending(): void {
    this.#engines.xpub?.flush();
    this.#engines.push?.pump();
    this.#events.flush();
    this.#logs.flush();
  }

  /** Resolves once every locally queued publish has been handed to the worker. */
  drain(): Promise<void> {
    return this.#engines.xpub?.drain() ?? this.#events.drain();
  }

  /** Resolves once every locally queued log batch has been handed to the worker. */
  drainLogs(): Promise<void> {
    return this.#engines.push?.drain() ?? this.#logs.drain();
  }

  /** Sends a subscription notice (`0x01topic` / `0x00topic`) on the XSUB. */
  xsubUpdate(notice: Uint8Array): void {
    if (this.#engines.xsub) return this.#engines.xsub.update(notice);
    this.#control?.send([new Uint8Array([Control.XsubUpdate]), notice], DONTWAIT);
  }

  /** Reads what the PULL socket holds, closes it, and resolves once those batches were handed over. */
  async closePull(): Promise<void> {
    if (!this.#control || this.logListenEndpoint === "") return;
    if (this.#engines.pull) this.#engines.pull.close();
    else this.#control.send([new Uint8Array([Control.ClosePull])], DONTWAIT);
    await within(this.#engines.pull ? Promise.resolve() : this.#pullClosed.promise, 2000);
    await within(this.#inbox.processed(), 2000); // the last batches, a slice at a time
  }

  /** The transport counters. */
  counters(): IoCounters {
    const x = this.#engines.xpub ?? { localDrops: 0, waiting: 0 };
    return readIoCounters(this.#state, this.#events.localDrops + x.localDrops, this.#events.waiting + x.waiting);
  }

  /**
   * Stops the worker with one message: what waits here gets `graceMs` to reach the worker (the rest is
   * dropped and counted), then `Stop` tells the worker to send what its PAIRs hold within the grace.
   * Main closes its PAIRs at once, keeping what they hold for the worker to read; the worker closes its
   * sockets (the XPUB and PUSH keep their linger) and terminates the context off the main thread.
   */
  async stop(graceMs: number): Promise<void> {
    const [worker, ctx, control] = [this.#worker, this.#ctx, this.#control];
    if (!worker || !ctx || !control) return;
    // From here on only the worker uses the XPUB (what waits here goes through it).
    this.#direct?.close();
    this.#direct = undefined;
    this.#loan?.close();
    this.#loan = undefined;
    await closeEngines(this.#engines, graceMs, (message) => this.#handlers.report(message));
    if (!(await within(this.#events.drain(), graceMs))) {
      const lost = this.#events.discard();
      this.#handlers.report(`dropped ${lost} queued publishes at shutdown`);
      this.#events.localDrops += lost;
    }
    if (!(await within(this.#logs.drain(), graceMs))) {
      const dropped = this.#logs.discardLogs();
      this.#handlers.report(`dropped ${dropped.length} queued log batches at shutdown`);
      this.#handlers.logDropped(dropped);
    }
    // The ZAP handler lives in this context too: gone before the worker terminates the context.
    await this.#zap?.stop();
    const stop = new Uint8Array(4);
    new DataView(stop.buffer).setUint32(0, graceMs, true);
    control.send([new Uint8Array([Control.Stop]), stop], DONTWAIT);
    for (const socket of [this.#events.queue.socket, this.#logs.socket, control]) {
      socket?.setOption(SocketOption.LINGER, -1); // what the PAIR holds stays there for the worker
      socket?.close();
    }
    this.#events.queue.socket = this.#logs.socket = this.#control = undefined;
    ctx.handOver();
    const linger = Math.max(0, this.#config?.lingerMs ?? 0);
    if (!(await within(this.#terminated.promise, graceMs + linger + 2000))) {
      this.#handlers.report("the I/O thread did not terminate its context in time");
    }
    worker.terminate();
  }
}
