/**
 * @module A cluster node: Zeek's publish/subscribe over the central broker. The node is a small core
 * (handlers, publishing, subscriptions, the ready handshake, its lifecycle) that its features plug into
 * through the {@linkcode NodeBus}: discovery (node_up / node_down) when it belongs to a layout, logging,
 * and metrics. All sockets live in the node's I/O Worker; nothing here waits on libzmq.
 *
 * The path of one event out: `publish()` → `encodeEvent` (events.ts, the format's encoder) → the I/O
 * thread's queue (_io-thread.ts) → the I/O Worker → the XPUB socket. In: the worker's batch →
 * `_event-path.ts` → `decodeEvent` → the handlers (`_handlers.ts`).
 */

import { within } from "./_deadline.ts";
import { EventPath } from "./_event-path.ts";
import { Notice, noticeFrame } from "./_frames.ts";
import { type EventContext, Handlers } from "./_handlers.ts";
import { IoThread } from "./_io-thread.ts";
import { Lifecycle, type NodeState } from "./_lifecycle.ts";
import { NodeLogging } from "./_node-logging.ts";
import { type NodeOptions, resolveNodeOptions } from "./_node-options.ts";
import { notReadyError } from "./_not-ready.ts";
import { SeenTopics } from "./_subscriptions.ts";
import type { ZeroMQConfig } from "./config.ts";
import { Discovery } from "./discovery.ts";
import { ClusterError } from "./errors.ts";
import type { EventArgs, EventInput, EventType } from "./events.ts";
import type { NodeType, ValidLayout } from "./layout.ts";
import type { LogFields, LogRecord, LogStream } from "./logformat.ts";
import type { LogReceiver } from "./logpull.ts";
import type { LogWriter } from "./logpush.ts";
import type { EventHandler, NodeBus, NodeStats, Reporter } from "./node-bus.ts";
import { Broker } from "./proxy.ts";
import type { EventFormat, EventMetadata } from "./serializer.ts";
import { NodeMetrics } from "./telemetry.ts";
import { BACKEND_EVENTS, EVENTS, makeNodeId, nodeidTopic, nodeTopic, ownTopics } from "./topics.ts";

export type { EventContext } from "./_handlers.ts";
export type { NodeState } from "./_lifecycle.ts";
export type { LoggingOptions } from "./_node-logging.ts";
export type { NodeOptions } from "./_node-options.ts";
export type { EventHandler, NodeStats, Reporter } from "./node-bus.ts";

const decoder = new TextDecoder();

/**
 * A cluster node (or a pub/sub participant that is not one).
 *
 * @example Two nodes of a layout talking through a broker the manager runs
 * ```ts
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const manager_ = { type: "manager", ip: "127.0.0.1", port: 27762 } as const;
 * const layout = { nodes: { manager: manager_, "worker-1": { type: "worker", ip: "127.0.0.1" } } } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports instead of Zeek's fixed ones
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * const ping = new Promise<number>((resolve) => manager.on("ping", resolve));
 * await manager.start(); // also starts the broker: the manager runs it
 * const { xsub, xpub } = manager.broker!.endpoints!; // where it listens, for the other nodes
 * const worker = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * worker.on("Cluster::node_up", (name: string) => worker.publish(worker.nodeTopic(name), "ping", [1]));
 * await worker.start();
 * console.log(await ping); // 1
 * await worker.stop();
 * await manager.stop();
 * ```
 */
export class ClusterNode implements NodeBus {
  /** The node's name. */
  readonly name: string;
  /** The node's unique id (Zeek's `Cluster::node_id()`). */
  readonly id: string;
  /** The node's role, if it has one. */
  readonly type: NodeType | undefined;
  /** The node's configuration. */
  readonly config: ZeroMQConfig;
  /** The layout, when the node belongs to one. */
  readonly layout: ValidLayout | undefined;
  /** The hello protocol, when the node belongs to a layout. */
  readonly discovery: Discovery | undefined;
  /** The node's metrics (`await node.metrics.render()`) and its `/metrics` server. */
  readonly metrics: NodeMetrics;
  readonly #logging: NodeLogging;
  readonly #life: Lifecycle;
  readonly #handlers: Handlers;
  readonly #format: EventFormat;
  readonly #events: EventPath;
  readonly #readyTimeout: number;
  readonly #reporter: Reporter;
  readonly #reported = new Set<string>(); // the keys of the last 1,000 kinds reported (see report())
  readonly #seen: SeenTopics;
  readonly #beforeStart: Uint8Array[] = [];
  readonly #io: IoThread;
  #broker: Broker | undefined;
  #readySeq = 0;
  #stoppedDrops = 0;
  #failStart: ((err: ClusterError) => void) | undefined;

  /** @param options The node's name and options; see {@linkcode NodeOptions}. */
  constructor(options: NodeOptions) {
    const { name, layout, type, config, format, logSerializer, readyTimeout, reporter, logging, metrics } =
      resolveNodeOptions(options);
    this.layout = layout;
    this.config = config;
    this.type = type;
    this.#format = format;
    this.name = name;
    this.id = makeNodeId(name);
    this.#readyTimeout = readyTimeout;
    this.#reporter = reporter;
    this.#life = new Lifecycle(name, () => this.raise(EVENTS.zeekDone, []));
    this.#seen = new SeenTopics((event, args) => this.raise(event, args));
    this.#handlers = new Handlers((message) => this.report("error", message));
    for (const backendEvent of Object.values(BACKEND_EVENTS)) this.#handlers.declare(backendEvent);
    this.#events = new EventPath(format, this.#handlers, {
      publish: (topic, payload, length, priority) =>
        this.#io.publish(topic, payload, length, this.#life.live, priority) === "sent",
      full: () => this.#io.full(),
      telemetry: () => this.metrics.events,
      report: (level, message, key) => this.report(level, message, key),
    });
    this.#io = new IoThread(this.id, {
      notice: (on, topic) => this.#seen.notice(on, decoder.decode(topic)),
      event: (record) => this.#events.receive(record),
      report: (message) => this.report("warning", message),
      handshakeFailed: (message) => {
        // Zeek makes this fatal; here a starting node fails to start, a running one reports it once.
        this.report("error", message, `handshake-${message}`);
        this.#failStart?.(new ClusterError("HANDSHAKE_FAILED", message));
      },
      log: (record) => this.#logging.handle(record),
      logDropped: (batches) => this.#logging.writer?.onDropped(batches),
    });
    // The features get a bus whose publish still works while the node stops (the backend's own events).
    const bus: NodeBus = {
      name,
      id: this.id,
      type: this.type,
      config: this.config,
      layout: this.layout,
      on: (event, handler) => this.on(event, handler),
      raise: (event, args) => this.raise(event, args),
      publish: (topic, event, args) => this.#events.send(topic, event, args, undefined, true),
      subscribe: (prefix) => this.subscribe(prefix),
      hasSubscription: (topic) => this.hasSubscription(topic),
      report: (level, message, key) => this.report(level, message, key),
    };
    this.discovery = this.layout ? new Discovery(bus, this.layout) : undefined;
    this.#logging = new NodeLogging(
      bus,
      {
        io: this.#io,
        msgError: (kind, message) => this.#events.malformed(kind, message),
        live: () => this.#life.live,
        logSerializer,
      },
      logging,
    );
    const { port, hostname, ...telemetry } = metrics;
    const metricsPort = port ?? this.layout?.nodes[name]?.metricsPort;
    this.metrics = new NodeMetrics(
      bus,
      {
        stats: () => this.stats(),
        nodesUp: () => this.discovery?.up.size ?? 0,
        broker: () => this.#broker,
      },
      telemetry,
      metricsPort === undefined ? undefined : { port: metricsPort, ...(hostname ? { hostname } : {}) },
    );
  }

  /** Batches and sends this node's log records; undefined when it has nowhere to send them. */
  get logWriter(): LogWriter | undefined {
    return this.#logging.writer;
  }

  /** Receives log records, on a logger (or the manager when it is the logger). */
  get logReceiver(): LogReceiver | undefined {
    return this.#logging.receiver;
  }

  /** The lifecycle state. */
  get state(): NodeState {
    return this.#life.state;
  }

  /** The event whose handlers are running, or `undefined` outside a handler. */
  get current(): EventContext | undefined {
    return this.#handlers.current;
  }

  /** The broker this node runs (the manager of a layout does), once started. */
  get broker(): Broker | undefined {
    return this.#broker;
  }

  /** `Cluster::node_topic(name)` with this node's prefix. */
  nodeTopic(name: string): string {
    return nodeTopic(name, this.config.nodeTopicPrefix);
  }

  /** `Cluster::nodeid_topic(id)` with this node's prefix. */
  nodeidTopic(id: string): string {
    return nodeidTopic(id, this.config.nodeidTopicPrefix);
  }

  /**
   * Connects to the broker (starting it first when `runProxyThread` is set) and resolves once the node
   * can publish: the broker has echoed a subscription of its own, so the subscriptions of nodes already
   * there are known and a publish right away reaches them. Then its features start: discovery, logging.
   *
   * @throws {ClusterError} `NODE_NOT_READY` if that takes longer than `readyTimeout`; the node is stopped.
   */
  start(): Promise<void> {
    return this.#life.start(() => this.#start());
  }

  async #start(): Promise<void> {
    const c = this.config;
    let config = c;
    if (c.runProxyThread) {
      // This node hosts the broker, so it connects to what the broker bound (wildcard ports resolved).
      const broker = (this.#broker = new Broker(c));
      this.#life.started(() => broker.stop());
      await broker.start();
      config = { ...c, ...broker.connectEndpoints };
    }
    // What is still queued gets max(lingerMs, 1 s) to go out when the node stops.
    const grace = c.lingerMs < 0 ? 30_000 : Math.max(c.lingerMs, 1000);
    this.#life.started(() => this.#io.stop(grace));
    await this.#io.start(config, this.logWriter?.options.overflowPolicy ?? "BLOCK", this.#format.name);
    this.metrics.start();
    this.#life.started(() => this.metrics.stop());
    for (const notice of this.#beforeStart.splice(0)) this.#io.xsubUpdate(notice);
    for (const topic of ownTopics(this.name, this.id, this.type, c)) this.subscribe(topic);
    await this.#awaitReady();
    this.#io.flushPending();
    for (const feature of [this.discovery, this.#logging]) {
      if (!feature) continue;
      await feature.start();
      this.#life.started(() => feature.stop(grace));
    }
    this.raise(EVENTS.zeekInit, []);
  }

  /** Where this node's PULL socket listens for log writes (wildcard port resolved), or empty. */
  get logEndpoint(): string {
    return this.#io.logListenEndpoint;
  }

  /**
   * Writes a log record (Zeek's `Log::write`): checked against the stream, batched, and sent to the
   * loggers (or written here, on a logger). Returns `false` when records are held back (BLOCK: await
   * `node.logWriter.drain()` before writing more).
   *
   * @throws {TypeError} a record that does not match the stream, naming the stream and the field.
   * @throws {ClusterError} `NO_LOG_ENDPOINTS` when this node has no logger to send to.
   */
  log<F extends LogFields>(stream: LogStream<F>, record: LogRecord<F>, path?: string): boolean {
    if (!this.logWriter) {
      throw new ClusterError(
        "NO_LOG_ENDPOINTS",
        `Cannot write to '${stream?.id}': node '${this.name}' is no logger and has no connectLogEndpoints`,
      );
    }
    return this.logWriter.write(stream, record, path);
  }

  /**
   * Sends every buffered log record and resolves with `true` once the loggers have written them (or
   * what could not be sent was dropped and counted); `false` if `timeoutMs` passed first.
   */
  flushLogs(timeoutMs?: number): Promise<boolean> {
    return this.logWriter?.flush(timeoutMs) ?? Promise.resolve(true);
  }

  async #awaitReady(): Promise<void> {
    const topic = `${this.config.internalTopicPrefix}${this.id}.${++this.#readySeq}.`;
    const echoed = this.#seen.echo(topic);
    // A failed handshake ends the wait at once (a running node only reports it).
    const failed = new Promise<never>((_, reject) => (this.#failStart = reject));
    const { connectXpubEndpoint: xsub, connectXsubEndpoint: xpub } = this.config;
    this.subscribe(topic);
    try {
      // Not ready in time: the error says whether anything listens where the node waited.
      if (!(await within(Promise.race([echoed.promise, failed]), this.#readyTimeout)))
        throw await notReadyError(this.name, this.#readyTimeout, xsub, xpub);
    } finally {
      this.#failStart = undefined;
      echoed.cancel();
      this.unsubscribe(topic);
    }
  }

  /**
   * Stops what started, last first: logging (it flushes and waits for acknowledgments), discovery, the
   * metrics server, the I/O (queued publishes get `max(lingerMs, 1 s)`, then are dropped and counted) and
   * the broker this node runs. The others raise node_down. Idempotent.
   */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  /** Subscribes to a topic prefix. Works before `start()` (it is sent once connected) and never blocks. */
  subscribe(prefix: string): void {
    this.#xsubUpdate(Notice.Subscribe, prefix, "subscribe");
  }

  /** Removes one subscription to a topic prefix. */
  unsubscribe(prefix: string): void {
    this.#xsubUpdate(Notice.Unsubscribe, prefix, "unsubscribe");
  }

  #xsubUpdate(flag: 0 | 1, prefix: string, what: string): void {
    if (typeof prefix !== "string")
      throw new TypeError(`Cannot ${what}: expected a topic prefix, got ${typeof prefix}`);
    const notice = noticeFrame(flag, prefix);
    const state = this.#life.state;
    if (state === "new" || (state === "starting" && !this.#io.started)) this.#beforeStart.push(notice);
    else if (state === "starting" || state === "running") this.#io.xsubUpdate(notice);
  }

  /**
   * Calls `handler` with the arguments of every event named `name`, whether it arrived from another
   * node or was raised here (`Cluster::node_up` …); with a declaration (`defineEvent`), by parameter
   * name and typed. Returns a function that removes the handler.
   */
  on<E extends EventType>(event: E, handler: (args: EventArgs<E>) => unknown): () => void;
  on<A extends unknown[]>(name: string, handler: EventHandler<A>): () => void;
  on(event: string | EventType, handler: (...args: never[]) => unknown): () => void {
    return this.#handlers.on(event as string, handler as EventHandler<never[]>);
  }

  /** Raises an event locally, as if it had arrived: its handlers run now. */
  raise(name: string, args: unknown[], context?: EventContext): void {
    this.#handlers.raise(name, args, context);
  }

  /**
   * Publishes an event to a topic (Zeek's `Cluster::publish`). It reaches every node subscribed to a
   * prefix of the topic. With a declaration (`defineEvent`), the arguments go by parameter name and are
   * checked and encoded with their Zeek types. Returns `false` when the event had to wait in the local
   * queue because the I/O thread is behind: under BLOCK, `await node.drain()` before publishing more;
   * under DROP, events beyond `xpubSndhwm` queued locally are dropped and counted in `xpubDrops`.
   * Once `stop()` has begun (a handler of an event still arriving) it drops the event, counts it in
   * `stoppedDrops` and warns once, also `false`.
   *
   * @throws {TypeError} a topic or name that is not a string, args that do not fit, or a value the format cannot carry; nothing is sent.
   */
  publish<E extends EventType>(topic: string, event: E, args: EventInput<E>, metadata?: EventMetadata): boolean;
  publish(topic: string, name: string, args?: unknown[], metadata?: EventMetadata): boolean;
  publish(
    topic: string,
    event: string | EventType,
    args: unknown[] | Readonly<Record<string, unknown>> = [],
    metadata?: EventMetadata,
  ): boolean {
    const state = this.#life.state;
    if (state === "stopping" || state === "stopped") {
      // A handler of an event that arrived while the node stops: dropped and counted, one line, no stack.
      const what = `'${typeof event === "string" ? event : event?.name}' published while node '${this.name}' is ${state}`;
      this.report("warning", `dropped ${what} (counted in stoppedDrops)`, "publish-stopped");
      return (this.#stoppedDrops++, false);
    }
    // The features publish through the bus, which skips this check: the backend's own events go out while stopping.
    return this.#events.send(topic, event, args, metadata);
  }

  /** Resolves once every event waiting in the local queue has been handed to the I/O thread. */
  drain(): Promise<void> {
    return this.#io.drain();
  }

  /** The node's counters. */
  stats(): NodeStats {
    const io = this.#io.counters();
    return {
      ...io,
      ...this.#logging.stats(),
      msgErrors: io.msgErrors + this.#events.msgErrors,
      outgoingEvents: this.#events.outgoing,
      incomingEvents: this.#events.incoming,
      stoppedDrops: this.#stoppedDrops,
    };
  }

  /** Reports through the node's reporter; with a `key`, once per kind (of the last 1,000 kinds remembered). */
  report(level: "warning" | "error", message: string, key?: string): void {
    if (key !== undefined) {
      if (this.#reported.has(key)) return;
      if (this.#reported.add(key).size > 1000) this.#reported.delete(this.#reported.values().next().value!);
    }
    this.#reporter(level, message);
  }

  /** Whether a topic is currently subscribed somewhere in the cluster, as this node's XPUB has seen. */
  hasSubscription(topic: string): boolean {
    return this.#seen.has(topic);
  }
}
