/**
 * @module How a node takes part in logging: a writer on every node with somewhere to send logs (local on
 * a logger, PUSH to the loggers elsewhere) in the node's `logSerializer`, a receiver on loggers, the
 * acknowledgment events between them, and the order in which they stop. A logger of this library says
 * that it acknowledges by subscribing to `<internalTopicPrefix>log-acks.<name>.` before it starts, so a
 * writer knows, when a logger of its layout comes up, whether it is one (a Zeek logger never
 * subscribes). Not part of the public API; `pubsub.ts` creates it.
 */

import type { BatchCursor } from "./_batch.ts";
import type { SendResult } from "./_io-thread.ts";
import { isLogSink } from "./layout.ts";
import { encodeBatch, encodeZeekBatch, LOG_FORMAT, type LogBatch, ZEEK_LOG_FORMAT } from "./logformat.ts";
import { LogReceiver, type LogReceiverOptions, type LogReceiverStats } from "./logpull.ts";
import { LogWriter, type LogWriterOptions, type LogWriterStats } from "./logpush.ts";
import type { NodeBus, NodeFeature } from "./node-bus.ts";
import { EVENTS } from "./topics.ts";

/** Options for writing logs (every node) and receiving them (loggers). */
export interface LoggingOptions extends LogWriterOptions, LogReceiverOptions {}

/** The node's I/O, as far as logs go. */
export interface LogPort {
  /** Hands a batch to the I/O worker for the PUSH socket (`now`: the node is live, else it waits). */
  sendLog(records: number, seq: number, format: Uint8Array, payload: Uint8Array, now: boolean): SendResult;
  /** Resolves once every locally queued batch is with the I/O worker. */
  drainLogs(): Promise<void>;
  /** Stops taking log messages from the PULL socket, once what it holds has been handled. */
  closePull(): Promise<void>;
  /** Whether the I/O worker runs. */
  readonly started: boolean;
}

/** What logging needs from the node beyond the bus (whose `publish` works while the node stops). */
export interface NodeInternals {
  io: LogPort;
  /** Counts and reports a malformed message. */
  msgError(kind: string, message: string): void;
  /** Whether publishes go out now (the node is running or stopping). */
  live(): boolean;
  /** The node's `logSerializer` option, as given (validated here). */
  logSerializer: string | undefined;
}

const SERIALIZERS: Record<string, (batch: LogBatch) => Uint8Array> = {
  [ZEEK_LOG_FORMAT]: encodeZeekBatch,
  [LOG_FORMAT]: encodeBatch,
};

/** The `logSerializer` option checked: Zeek's `Cluster::log_serializer` default unless set. */
function logSerializer(value: unknown): string {
  if (value === undefined) return ZEEK_LOG_FORMAT;
  if (typeof value !== "string")
    throw new TypeError(`Invalid option 'logSerializer': expected a string, got ${typeof value}`);
  if (!Object.hasOwn(SERIALIZERS, value))
    throw new RangeError(
      `Invalid option 'logSerializer': expected "${ZEEK_LOG_FORMAT}" or "${LOG_FORMAT}", got '${value}'`,
    );
  return value;
}

/** How long a logger that came up has to say it acknowledges before it counts as one that never does. */
const SILENT_AFTER_MS = 1000;
const NO_RECEIVER_STATS: LogReceiverStats = Object.freeze({
  logBatchesReceived: 0,
  logRecordsReceived: 0,
  logDuplicateBatches: 0,
  logFailedRecords: 0,
});

/** A node's writer and receiver. */
export class NodeLogging implements NodeFeature {
  /** Batches and sends this node's records; undefined when it has nowhere to send them. */
  readonly writer: LogWriter | undefined;
  /** Receives records, on a logger (or the manager when it is the logger). */
  readonly receiver: LogReceiver | undefined;
  readonly #node: NodeBus;
  readonly #internals: NodeInternals;
  readonly #timers = new Set<Timer>();

  constructor(node: NodeBus, internals: NodeInternals, options: LoggingOptions) {
    this.#node = node;
    this.#internals = internals;
    const serializer = logSerializer(internals.logSerializer);
    const formatBytes = new TextEncoder().encode(serializer);
    const { files, sink, dir, format, rotateInterval, rotateSize, maxOpenFiles, ...writerOptions } = options;
    const receiverOptions = Object.fromEntries(
      Object.entries({ files, sink, dir, format, rotateInterval, rotateSize, maxOpenFiles }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    const c = node.config;
    this.receiver =
      c.listenLogEndpoint === ""
        ? undefined
        : new LogReceiver(receiverOptions, {
            ack: (sender, seqs) => node.publish(this.#ackTopic(sender), EVENTS.logAck, [node.name, seqs]),
            malformed: (kind, message) => internals.msgError(kind, message),
            report: (level, message, key) => node.report(level, message, key),
          });
    if (this.receiver) node.subscribe(this.#acksTopic(node.name)); // before start: writers see it before node_up
    if (!this.receiver && c.connectLogEndpoints.length === 0) return;
    const receiver = this.receiver;
    const writer = (this.writer = new LogWriter(
      {
        send: (records, seq, payload) => internals.io.sendLog(records, seq, formatBytes, payload, internals.live()),
        encode: SERIALIZERS[serializer]!,
        drain: () => internals.io.drainLogs(),
        report: (message, key) => node.report("warning", message, key),
        ...(receiver ? { local: (batch) => receiver.accept(batch, node.id) } : {}),
      },
      writerOptions,
    ));
    if (receiver) return;
    // Acknowledgments come on a topic of this writer's own, also when it is not a layout node.
    if (writer.options.acknowledge) node.subscribe(this.#ackTopic(node.id));
    node.on(EVENTS.logAck, (_logger: string, seqs: number[]) => Array.isArray(seqs) && writer.onAck(seqs));
    node.on(EVENTS.logStopped, () => writer.onLoggerStopped());
    node.on(EVENTS.nodeDown, (name: string) => node.layout && isLogSink(node.layout, name) && writer.onLoggerDown());
    node.on(EVENTS.nodeUp, (name: string) => {
      if (!node.layout || !isLogSink(node.layout, name)) return;
      if (node.hasSubscription(this.#acksTopic(name))) return writer.loggerUp(name, true);
      // A joining node learns the cluster's subscriptions from the broker's replay, which need not keep
      // their order: give the logger's own notice a moment before taking it for one that never answers.
      writer.loggerUndecided(name);
      const timer = setTimeout(
        () => writer.loggerUp(name, node.hasSubscription(this.#acksTopic(name))),
        SILENT_AFTER_MS,
      );
      timer.unref?.();
      this.#timers.add(timer);
    });
    const acksPrefix = this.#acksTopic("");
    node.on(EVENTS.subscription, (topic: string) => {
      if (topic.startsWith(acksPrefix) && topic.endsWith("."))
        writer.loggerUp(topic.slice(acksPrefix.length, -1), true);
    });
  }

  /** The topic a logger of this library subscribes to, saying that it acknowledges. */
  #acksTopic(name: string): string {
    return `${this.#node.config.internalTopicPrefix}log-acks.${name}.`;
  }

  /** Where loggers send acknowledgments and `log_stopped` to the writer with node id `id`. */
  #ackTopic(id: string): string {
    return `${this.#node.config.internalTopicPrefix}${id}.log.`;
  }

  /** Starts the writer's flush timer; batches made before are sent now. */
  start(): void {
    this.writer?.start();
  }

  /** A log message arrived on the PULL socket. */
  handle(record: BatchCursor): void | Promise<void> {
    return this.receiver?.handle(record);
  }

  /** The counters of both sides. */
  stats(): LogWriterStats & LogReceiverStats {
    return { ...(this.writer?.stats() ?? LogWriter.emptyStats()), ...(this.receiver?.stats() ?? NO_RECEIVER_STATS) };
  }

  /**
   * Writers send what they buffered and wait for the loggers' acknowledgments. A logger then takes
   * what its PULL socket holds, writes and acknowledges it, and says it is gone, so writers send again
   * whatever it never wrote.
   */
  async stop(graceMs: number): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    await this.writer?.close(graceMs);
    if (!this.receiver) return;
    if (this.#internals.io.started) await this.#internals.io.closePull();
    this.receiver.close();
    for (const sender of this.receiver.senders)
      this.#node.publish(this.#ackTopic(sender), EVENTS.logStopped, [this.#node.name]);
  }
}
