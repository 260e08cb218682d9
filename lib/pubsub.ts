/**
 * @module A cluster node: Zeek's publish/subscribe over the central broker. It publishes events to
 * topics, subscribes to topic prefixes, calls handlers by event name, observes the cluster's
 * subscriptions, and runs discovery (node_up / node_down) when it belongs to a layout. All sockets live
 * in the node's I/O Worker; nothing here waits on libzmq.
 */

import { hostname } from "node:os";
import { resolveConfig, type ZeroMQConfig, type ZeroMQOptions } from "./config.ts";
import { Discovery } from "./discovery.ts";
import { ClusterError } from "./errors.ts";
import type { BatchCursor } from "./channel.ts";
import { type IoCounters, IoThread } from "./io-thread.ts";
import { type ClusterLayout, nodeConfig, type NodeType, validateLayout, type ValidLayout } from "./layout.ts";
import type { LogStream } from "./logformat.ts";
import type { LogReceiver, LogReceiverStats } from "./logpull.ts";
import type { LogWriter, LogWriterStats } from "./logpush.ts";
import { type LoggingOptions, NodeLogging } from "./node-logging.ts";
import { Broker } from "./proxy.ts";
import { decodeEvent, encodeEvent, type EventArgs, type EventInput, type EventType, isEventType, sameEvent } from "./events.ts";
import { type EventFormat, type EventMetadata, getFormat } from "./serializer.ts";
import { type MetricsOptions, NodeMetrics } from "./telemetry.ts";
import { BACKEND_EVENTS, EVENTS, nodeidTopic, nodeTopic, POOL_TOPICS, ROLE_TOPICS } from "./topics.ts";

/** Receives the backend's warnings and errors (Zeek's reporter). */
export type Reporter = (level: "warning" | "error", message: string) => void;

/** Options of a {@linkcode ClusterNode}: its identity plus any of Zeek's options. */
export interface NodeOptions extends ZeroMQOptions {
  /** The node's name (Zeek's `Cluster::node`). */
  name: string;
  /** The layout the node belongs to: settings are derived from it and discovery runs. @default {undefined: a pub/sub participant that is not a cluster node} */
  layout?: ClusterLayout;
  /** The role when there is no layout, for its role and pool topics. @default {the layout's type, else none} */
  type?: NodeType;
  /**
   * The format published events are encoded in (Zeek's `Cluster::event_serializer`): `broker-bin-v1`,
   * `broker-json-v1`, `msgpack-v1`, or one registered with `registerFormat`. Events arriving in any
   * known format are decoded whatever this says. @default {"broker-bin-v1"}
   */
  eventSerializer?: string;
  /**
   * The format log batches are sent in (Zeek's `Cluster::log_serializer`): `zeek-bin-serializer`, which
   * Zeek loggers read, or `msgpack-log-v1`. Loggers accept both. @default {"zeek-bin-serializer"}
   */
  logSerializer?: string;
  /** How long `start()` waits until the node can publish (the broker echoed its subscription), in ms. @default {10000} */
  readyTimeout?: number;
  /** Where warnings and errors go. @default {lines on stderr prefixed with "[zeromq] "} */
  reporter?: Reporter;
  /** Where environment overrides are read from. @default {process.env} */
  env?: Record<string, string | undefined>;
  /** Logging: how this node writes logs and, on a logger, where received records go. @default {Zeek's defaults; files in ./logs} */
  logging?: LoggingOptions;
  /** Metrics: what to count and where to serve `/metrics` (a `port`, 0 for a free one, or the layout's `metricsPort`). @default {counted; served only with a port} */
  metrics?: MetricsOptions;
}

export type { LoggingOptions } from "./node-logging.ts";

/** The event being handled, available as `node.current` while its handlers run. */
export interface EventContext {
  /** The topic it was published to. */
  topic: string;
  /** The sender's node id. */
  sender: string;
  /** Its metadata, if any. */
  metadata: EventMetadata | undefined;
}

/** Counters of a node, named after Zeek's metrics. */
export interface NodeStats extends IoCounters, LogWriterStats, LogReceiverStats {
  /** `zeek_cluster_core_outgoing_events_total`: events serialized for publishing. */
  outgoingEvents: number;
  /** `zeek_cluster_core_incoming_events_total`: events received and decoded. */
  incomingEvents: number;
}

/** A handler; it receives the event's arguments. */
export type EventHandler<A extends unknown[] = unknown[]> = (...args: A) => unknown;

/**
 * Zeek's node id: `zeromq_<name>_<host>_<pid>_N<random>`.
 *
 * @example A fresh id for every start of a node
 * ```ts
 * import { makeNodeId } from "./pubsub.ts";
 *
 * console.log(makeNodeId("worker-1")); // e.g. "zeromq_worker-1_myhost_4242_NkX3bT0qL9wZr2Va"
 * ```
 */
export function makeNodeId(name: string): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const random = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => alphabet[b % 62]).join("");
  return `zeromq_${name}_${hostname()}_${process.pid}_N${random}`;
}

const defaultReporter: Reporter = (level, message) => console.error(`[zeromq] ${level}: ${message}`);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const NODE_OPTIONS = new Set(["name", "layout", "type", "eventSerializer", "logSerializer", "readyTimeout", "reporter", "env", "logging", "metrics"]);

type State = "new" | "starting" | "running" | "stopping" | "stopped";

/**
 * A cluster node (or a pub/sub participant that is not one).
 *
 * @example Two nodes of a layout talking through a broker the manager runs
 * ```ts ignore
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const layout = {
 *   nodes: {
 *     manager: { type: "manager", ip: "127.0.0.1", port: 27762 },
 *     "worker-1": { type: "worker", ip: "127.0.0.1" },
 *   },
 * } as const;
 * const manager = new ClusterNode({ name: "manager", layout });
 * manager.on("ping", (n: number) => console.log("ping", n));
 * await manager.start(); // also starts the broker: the manager runs it
 * const worker = new ClusterNode({ name: "worker-1", layout });
 * worker.on("Cluster::node_up", (name: string) => worker.publish(worker.nodeTopic(name), "ping", [1]));
 * await worker.start();
 * ```
 */
export class ClusterNode {
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
  readonly #logging: NodeLogging;
  /** The node's metrics (`await node.metrics.render()`) and its `/metrics` server. */
  readonly metrics: NodeMetrics;
  readonly #format: EventFormat;
  readonly #formatBytes: Uint8Array;
  readonly #types = new Map<string, EventType>();
  readonly #readyTimeout: number;
  readonly #reporter: Reporter;
  readonly #handlers = new Map<string, Set<EventHandler<never[]>>>();
  readonly #seenTopics = new Set<string>();
  readonly #readyWaiters = new Map<string, () => void>();
  readonly #topicBytes = new Map<string, Uint8Array>();
  readonly #beforeStart: Uint8Array[] = [];
  readonly #io: IoThread;
  #broker: Broker | undefined;
  #state: State = "new";
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #shuttingDown: Promise<void> | undefined;
  #current: EventContext | undefined;
  #outgoing = 0;
  #incoming = 0;
  #msgErrors = 0;
  #readySeq = 0;
  #failStart: ((err: ClusterError) => void) | undefined;
  #reported = new Set<string>();

  /** @param options The node's name and options; see {@linkcode NodeOptions}. */
  constructor(options: NodeOptions) {
    if (typeof options !== "object" || options === null) throw new TypeError(`Invalid options: expected an object, got ${options}`);
    const { name, layout, type, eventSerializer = "broker-bin-v1", logSerializer, readyTimeout = 10_000, reporter = defaultReporter, env = process.env, logging = {}, metrics = {} } = options;
    if (typeof name !== "string") throw new TypeError(`Invalid option 'name': expected a string, got ${typeof name}`);
    if (name === "" || /[\s\0-\x1f]/.test(name)) throw new RangeError(`Invalid option 'name': expected a name without spaces, got '${name}'`);
    if (!Number.isInteger(readyTimeout) || readyTimeout <= 0) {
      throw new RangeError(`Invalid option 'readyTimeout': expected a positive integer of ms, got ${readyTimeout}`);
    }
    const zeromq: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(options)) if (!NODE_OPTIONS.has(key)) zeromq[key] = value;
    this.layout = layout ? validateLayout(layout) : undefined;
    this.config = layout ? nodeConfig(layout, name, zeromq, env) : resolveConfig(zeromq, env);
    const layoutType = this.layout?.nodes[name]?.type;
    if (type !== undefined && layoutType !== undefined && type !== layoutType) {
      throw new RangeError(`Invalid option 'type': node '${name}' is a ${layoutType} in the layout, got '${type}'`);
    }
    this.type = layoutType ?? type;
    const found = getFormat(eventSerializer);
    if (!found) throw new RangeError(`Invalid option 'eventSerializer': no format named '${eventSerializer}' is registered`);
    this.#format = found;
    this.#formatBytes = encoder.encode(found.name);
    this.name = name;
    this.id = makeNodeId(name);
    this.#readyTimeout = readyTimeout;
    this.#reporter = reporter;
    for (const type of Object.values(BACKEND_EVENTS)) this.#declare(type);
    this.#io = new IoThread(this.id, {
      notice: (on, topic) => this.#onNotice(on, decoder.decode(topic)),
      event: (record) => this.#onEvent(record),
      report: (message) => this.report("warning", message),
      handshakeFailed: (message) => {
        // Zeek makes this fatal; here a starting node fails to start, a running one reports it once.
        this.report("error", message, `handshake-${message}`);
        this.#failStart?.(new ClusterError("HANDSHAKE_FAILED", message));
      },
      log: (record) => this.#logging.handle(record),
      logDropped: (batches) => this.#logging.writer?.onDropped(batches),
    });
    this.discovery = this.layout ? new Discovery(this, this.layout) : undefined;
    this.#logging = new NodeLogging(this, {
      io: this.#io,
      send: (topic, name, args) => this.#send(topic, name, args),
      msgError: (kind, message) => this.#msgError(kind, message),
      live: () => this.#state === "running" || this.#state === "stopping",
      logSerializer,
    }, logging);
    const { port, hostname, ...telemetry } = metrics;
    const metricsPort = port ?? this.layout?.nodes[name]?.metricsPort;
    this.metrics = new NodeMetrics(this, telemetry, metricsPort === undefined ? undefined : { port: metricsPort, ...(hostname ? { hostname } : {}) });
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
  get state(): State {
    return this.#state;
  }

  /** The event whose handlers are running, or `undefined` outside a handler. */
  get current(): EventContext | undefined {
    return this.#current;
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
   * there are known and a publish right away reaches them.
   *
   * @throws {ClusterError} `NODE_NOT_READY` if that takes longer than `readyTimeout`; the node is stopped.
   */
  start(): Promise<void> {
    this.#starting ??= this.#start().catch(async (err: unknown) => {
      await this.#shutdown();
      throw err;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#state !== "new") throw new ClusterError("NODE_STOPPED", `Node '${this.name}' was stopped; create a new one`);
    this.#state = "starting";
    const c = this.config;
    let config = c;
    if (c.runProxyThread) {
      // This node hosts the broker, so it connects to what the broker bound (wildcard ports resolved).
      const ep = await (this.#broker = new Broker(c)).start();
      config = { ...c, connectXpubEndpoint: reachable(ep.xsub), connectXsubEndpoint: reachable(ep.xpub) };
    }
    const client = c.curveServerPublickey && c.curveClientPublickey && c.curveClientSecretkey;
    const curve = client ? { serverKey: c.curveServerPublickey, publicKey: c.curveClientPublickey, secretKey: c.curveClientSecretkey } : undefined;
    await this.#io.start(config, curve, this.logWriter?.options.overflowPolicy ?? "BLOCK", this.#format.name);
    this.metrics.startServer();
    for (const notice of this.#beforeStart.splice(0)) this.#io.xsubUpdate(notice);
    if (this.type !== undefined) {
      const own = [this.nodeTopic(this.name), this.nodeidTopic(this.id), ROLE_TOPICS[this.type]];
      if (this.type !== "manager") own.push(POOL_TOPICS[this.type]);
      for (const topic of own) this.subscribe(topic);
    }
    await this.#awaitReady();
    this.#state = "running";
    this.discovery?.start();
    this.#io.flushPending();
    this.logWriter?.start();
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
  log(stream: LogStream, record: Record<string, unknown>, path?: string): boolean {
    if (!this.logWriter) {
      throw new ClusterError("NO_LOG_ENDPOINTS", `Cannot write to '${stream?.id}': node '${this.name}' is no logger and has no connectLogEndpoints`);
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
    const echoed = new Promise<void>((resolve) => this.#readyWaiters.set(topic, resolve));
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      this.#failStart = reject;
      timer = setTimeout(() => {
        const where = `${this.config.connectXpubEndpoint} / ${this.config.connectXsubEndpoint}`;
        reject(new ClusterError("NODE_NOT_READY", `Node '${this.name}' is not ready after ${this.#readyTimeout} ms: the broker (${where}) did not echo its subscription`));
      }, this.#readyTimeout);
    });
    this.subscribe(topic);
    try {
      await Promise.race([echoed, timeout]);
    } finally {
      clearTimeout(timer);
      this.#failStart = undefined;
      this.#readyWaiters.delete(topic);
      this.unsubscribe(topic);
    }
  }

  /**
   * Stops the node: publishes still queued get `max(lingerMs, 1 s)` to go out (then they are dropped
   * and counted), the sockets close (the XPUB keeps its linger), and the broker stops if this node runs
   * it. Other nodes see this node's node-id topic go away and raise node_down. Idempotent.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#state === "starting") await this.#starting?.catch(() => undefined);
      await this.#shutdown();
    })();
    return this.#stopping;
  }

  #shutdown(): Promise<void> {
    this.#shuttingDown ??= (async () => {
      if (this.#state === "running") this.raise(EVENTS.zeekDone, []);
      this.#state = "stopping";
      this.discovery?.stop();
      const grace = this.config.lingerMs < 0 ? 30_000 : Math.max(this.config.lingerMs, 1000);
      await this.metrics.stopServer();
      await this.#logging.stop(grace);
      await this.#io.stop(grace);
      await this.#broker?.stop();
      this.#state = "stopped";
    })();
    return this.#shuttingDown;
  }

  /** Subscribes to a topic prefix. Works before `start()` (it is sent once connected) and never blocks. */
  subscribe(prefix: string): void {
    this.#xsubUpdate(1, prefix, "subscribe");
  }

  /** Removes one subscription to a topic prefix. */
  unsubscribe(prefix: string): void {
    this.#xsubUpdate(0, prefix, "unsubscribe");
  }

  #xsubUpdate(flag: 0 | 1, prefix: string, what: string): void {
    if (typeof prefix !== "string") throw new TypeError(`Cannot ${what}: expected a topic prefix string, got ${typeof prefix}`);
    const notice = new Uint8Array([flag, ...encoder.encode(prefix)]);
    if (this.#state === "new" || this.#state === "starting" && !this.#io.started) this.#beforeStart.push(notice);
    else if (this.#state === "starting" || this.#state === "running") this.#io.xsubUpdate(notice);
  }

  /**
   * Calls `handler` with the arguments of every event named `name`, whether it arrived from another
   * node or was raised here (`Cluster::node_up` …). Returns a function that removes the handler.
   */
  on<E extends EventType>(event: E, handler: (args: EventArgs<E>) => unknown): () => void;
  on<A extends unknown[]>(name: string, handler: EventHandler<A>): () => void;
  on(event: string | EventType, handler: (...args: never[]) => unknown): () => void {
    const name = typeof event === "string" ? event : isEventType(event) ? this.#declare(event).name : undefined;
    if (name === undefined) throw new TypeError(`Invalid event: expected a name or a defineEvent() declaration, got ${String(event)}`);
    if (typeof handler !== "function") throw new TypeError(`Invalid handler for '${name}': expected a function`);
    let fn = handler as EventHandler<never[]>;
    if (typeof event !== "string") {
      // A declared event's handler gets its arguments by parameter name.
      const params = event.params;
      fn = ((...args: unknown[]) => {
        const named: Record<string, unknown> = {};
        for (let i = 0; i < params.length; i++) named[params[i]!.name] = args[i];
        return (handler as (args: Record<string, unknown>) => unknown)(named);
      }) as EventHandler<never[]>;
    }
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(fn);
    return () => set.delete(fn);
  }

  /**
   * Declares an event for this node (done by `on` and `publish` with a declaration): from then on its
   * arguments are checked and encoded with their Zeek types, also when published or handled by name.
   *
   * @throws {RangeError} a different declaration under the same name.
   */
  #declare(type: EventType): EventType {
    const known = this.#types.get(type.name);
    if (known && known !== type && !sameEvent(known, type)) {
      throw new RangeError(`Invalid event '${type.name}': declared twice with different parameters`);
    }
    if (!known) this.#types.set(type.name, type);
    return type;
  }

  /** Raises an event locally, as if it had arrived: its handlers run now. */
  raise(name: string, args: unknown[], context?: EventContext): void {
    const handlers = this.#handlers.get(name);
    if (!handlers?.size) return;
    const previous = this.#current;
    this.#current = context;
    try {
      for (const handler of handlers) {
        try {
          const result = (handler as EventHandler)(...args);
          if (result instanceof Promise) result.catch((err: unknown) => this.#handlerFailed(name, err));
        } catch (err: unknown) {
          this.#handlerFailed(name, err);
        }
      }
    } finally {
      this.#current = previous;
    }
  }

  #handlerFailed(name: string, err: unknown): void {
    this.report("error", `handler for '${name}' failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  }

  /**
   * Publishes an event to a topic (Zeek's `Cluster::publish`). It reaches every node subscribed to a
   * prefix of the topic. Returns `false` when the event had to wait in the local queue because the I/O
   * thread is behind: under BLOCK, `await node.drain()` before publishing more; under DROP, events
   * beyond `xpubSndhwm` queued locally are dropped and counted in `xpubDrops`.
   *
   * @throws {TypeError} a topic or name that is not a string, args that are not an array, or a value the format cannot encode.
   */
  publish<E extends EventType>(topic: string, event: E, args: EventInput<E>, metadata?: EventMetadata): boolean;
  publish(topic: string, name: string, args?: unknown[], metadata?: EventMetadata): boolean;
  publish(topic: string, event: string | EventType, args: unknown[] | Readonly<Record<string, unknown>> = [], metadata?: EventMetadata): boolean {
    if (this.#state === "stopping" || this.#state === "stopped") {
      throw new ClusterError("NODE_STOPPED", `Cannot publish '${typeof event === "string" ? event : event?.name}': node '${this.name}' is ${this.#state}`);
    }
    return this.#send(topic, event, args, metadata);
  }

  // publish() without the state check: the backend's own events still go out while stopping.
  #send(topic: string, event: string | EventType, args: unknown[] | Readonly<Record<string, unknown>>, metadata?: EventMetadata): boolean {
    if (typeof topic !== "string") throw new TypeError(`Cannot publish: expected a topic string, got ${typeof topic}`);
    const declared = typeof event !== "string" && isEventType(event);
    const name = declared ? event.name : event;
    if (typeof name !== "string" || name === "") throw new TypeError(`Cannot publish to '${topic}': expected an event name, got ${String(name)}`);
    const type = declared ? this.#declare(event) : this.#types.get(name);
    if (!declared && !Array.isArray(args)) throw new TypeError(`Cannot publish '${name}': expected an array of arguments, got ${typeof args}`);
    let values = args;
    if (type && Array.isArray(args)) {
      // A declared event published by name takes positional arguments.
      if (args.length !== type.params.length) throw new TypeError(`Cannot publish '${name}': it has ${type.params.length} parameters, got ${args.length} arguments`);
      const named: Record<string, unknown> = {};
      type.params.forEach((p, i) => (named[p.name] = args[i]));
      values = named;
    }
    const { bytes: payload, length } = encodeEvent(this.#format, name, values, type, metadata);
    this.#outgoing++;
    if (this.metrics.events.active) this.metrics.events.outgoing(topic, name, length);
    let topicBytes = this.#topicBytes.get(topic);
    if (!topicBytes) {
      if (this.#topicBytes.size > 1024) this.#topicBytes.clear();
      this.#topicBytes.set(topic, (topicBytes = encoder.encode(topic)));
    }
    return this.#io.publish(topicBytes, payload, length, this.#state === "running" || this.#state === "stopping") === "sent";
  }

  /** Resolves once every event waiting in the local queue has been handed to the I/O thread. */
  drain(): Promise<void> {
    return this.#io.drain();
  }

  /** The node's counters. */
  stats(): NodeStats {
    const io = this.#io.counters();
    return { ...io, ...this.#logging.stats(), msgErrors: io.msgErrors + this.#msgErrors, outgoingEvents: this.#outgoing, incomingEvents: this.#incoming };
  }

  /** Reports a problem through the node's reporter. With a `key`, only the first report of that kind is passed on. */
  report(level: "warning" | "error", message: string, key?: string): void {
    if (key !== undefined) {
      if (this.#reported.has(key)) return;
      this.#reported.add(key);
    }
    this.#reporter(level, message);
  }

  #onNotice(subscribe: boolean, topic: string): void {
    if (subscribe) {
      this.#readyWaiters.get(topic)?.();
      if (this.#seenTopics.has(topic)) return; // Zeek raises the event the first time a topic is seen
      this.#seenTopics.add(topic);
      this.raise(EVENTS.subscription, [topic]);
    } else {
      this.#seenTopics.delete(topic);
      this.raise(EVENTS.unsubscription, [topic]);
    }
  }

  /** Whether a topic is currently subscribed somewhere in the cluster, as this node's XPUB has seen. */
  hasSubscription(topic: string): boolean {
    return this.#seenTopics.has(topic);
  }

  #onEvent(record: BatchCursor): void {
    const fmt = record.frameEquals(2, this.#formatBytes) ? this.#format : getFormat(decoder.decode(record.frame(2)));
    if (!fmt) return this.#msgError("format", `Wrong format: '${decoder.decode(record.frame(2))}' is not a registered format`);
    let event;
    try {
      event = decodeEvent(fmt, record.bytes, record.start(3), record.end(3), this.#typeOf);
    } catch (err: unknown) {
      return this.#msgError("decode", `Failed to unserialize message: ${decoder.decode(record.frame(0))}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.#incoming++;
    if (this.metrics.events.active) this.metrics.events.incoming(decoder.decode(record.frame(0)), event.name, record.end(3) - record.start(3));
    if (!this.#handlers.get(event.name)?.size) return;
    this.raise(event.name, event.args, new ReceivedEvent(record, event.metadata));
  }

  readonly #typeOf = (name: string): EventType | undefined => this.#types.get(name);

  #msgError(kind: string, message: string): void {
    this.#msgErrors++;
    this.report("warning", message, `msg-error-${kind}`);
  }
}

/** A bound endpoint as a connect address: wildcard hosts become loopback. */
function reachable(endpoint: string): string {
  return endpoint.replace(/^tcp:\/\/0\.0\.0\.0:/, "tcp://127.0.0.1:").replace(/^tcp:\/\/\[::\]:/, "tcp://[::1]:");
}

/** The context of a received event; topic and sender are decoded only if a handler asks. */
class ReceivedEvent implements EventContext {
  readonly #bytes: Uint8Array;
  readonly #topicStart: number;
  readonly #topicEnd: number;
  readonly #senderStart: number;
  readonly #senderEnd: number;
  readonly metadata: EventMetadata | undefined;

  constructor(record: BatchCursor, metadata: EventMetadata | undefined) {
    this.#bytes = record.bytes;
    this.#topicStart = record.start(0);
    this.#topicEnd = record.end(0);
    this.#senderStart = record.start(1);
    this.#senderEnd = record.end(1);
    this.metadata = metadata;
  }

  get topic(): string {
    return decoder.decode(this.#bytes.subarray(this.#topicStart, this.#topicEnd));
  }

  get sender(): string {
    return decoder.decode(this.#bytes.subarray(this.#senderStart, this.#senderEnd));
  }
}
