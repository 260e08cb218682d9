/**
 * @module Receiving logs on a logger node (or the manager when it is the logger): batches arrive on the
 * PULL socket in Zeek's `zeek-bin-serializer` or this library's `msgpack-log-v1`, are checked, written
 * to files (JSON lines or TSV, as Zeek writes them, rotated) and/or handed to a callback, and then
 * acknowledged to their writer over pub/sub when it asked (`log-write;seq=N` in frame 0, which Zeek
 * ignores), so the writer knows what is on disk. A batch seen twice (sent again after a lost
 * acknowledgment) is acknowledged again but written once.
 */

import type { BatchCursor } from "./_batch.ts";
import { ackRequest, LogFrame } from "./_frames.ts";
import { writeZeekLines } from "./_log-zeek-lines.ts";
import { LogFiles, type LogFilesOptions } from "./_logfiles.ts";
import { decodeBatch, decodeZeekBatch, LOG_FORMAT, type LogBatch, ZEEK_LOG_FORMAT } from "./logformat.ts";

/** Options of a logger: where records go. */
export interface LogReceiverOptions extends LogFilesOptions {
  /** Write files at all; `false` when only `sink` should get the records. @default {true} */
  files?: boolean;
  /** Called with every batch (and the sender's node id); a returned promise delays the acknowledgment. @default {none} */
  sink?: (batch: LogBatch, sender: string) => void | Promise<void>;
}

/** What the receiver needs from its node. */
export interface LogReceiverHooks {
  /** Acknowledges batches `seqs` to the writer with node id `sender`. */
  ack(sender: string, seqs: number[]): void;
  /** Counts and reports a malformed batch (once per kind). */
  malformed(kind: string, message: string): void;
  /** Reports a problem of the files once per `key` (the open-file limit met, records not written). @default {none} */
  report?(level: "warning" | "error", message: string, key: string): void;
}

/** The receiver's counters. */
export interface LogReceiverStats {
  /** Batches and records written. */
  logBatchesReceived: number;
  logRecordsReceived: number;
  /** Batches that arrived again and were not written twice. */
  logDuplicateBatches: number;
  /** Records received but not in the files: a file that would not open (even after closing others), a failed write. */
  logFailedRecords: number;
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const MSGPACK = encoder.encode(LOG_FORMAT);
const ZEEK = encoder.encode(ZEEK_LOG_FORMAT);
const REMEMBERED_PER_SENDER = 100_000;
/**
 * Acknowledgments go at most this often per logger (ms): each is an event through the broker, which
 * costs the logger, the broker and the writer far more than a record (measured: 0.1-0.6 ms of the
 * logger's CPU each); a writer has up to `maxInFlight` batches in flight meanwhile.
 */
const ACK_INTERVAL_MS = 10;

/**
 * The log receiving side of one node. Created by a logger node from its `logging` options.
 *
 * @example A logger that writes TSV and also hands every batch to a callback
 * ```ts
 * import { defineStream } from "./logformat.ts";
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const layout = {
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * } as const; // no logger node: the manager receives the logs
 * const any = "tcp://127.0.0.1:*"; // free ports
 * const sunk = Promise.withResolvers<string>();
 * const manager = new ClusterNode({
 *   name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any,
 *   logging: { format: "tsv", sink: (batch) => sunk.resolve(`${batch.path}: ${batch.records.length} record(s)`) },
 * });
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const worker = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * await worker.start();
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string" } });
 * worker.log(PING, { ts: Date.now() / 1000, peer: "worker-1" });
 * await worker.flushLogs(5000); // now, rather than after flushInterval
 * console.log(await sunk.promise); // "ping: 1 record(s)"
 * console.log(manager.logReceiver!.stats().logRecordsReceived); // 1
 * await worker.stop();
 * await manager.stop();
 * ```
 */
export class LogReceiver {
  readonly files: LogFiles | undefined;
  readonly #sink: LogReceiverOptions["sink"];
  readonly #hooks: LogReceiverHooks;
  readonly #seen = new Map<string, Set<number>>();
  /** Acknowledgments of batches not yet in the files, and of batches that are (to send). */
  readonly #acks = new Map<string, number[]>();
  readonly #ready = new Map<string, number[]>();
  #ackTimer: Timer | undefined;
  #ackedAt = Number.NEGATIVE_INFINITY;
  readonly #senders = new Set<string>();
  readonly #stats: Omit<LogReceiverStats, "logFailedRecords"> = {
    logBatchesReceived: 0,
    logRecordsReceived: 0,
    logDuplicateBatches: 0,
  };
  #flushScheduled = false;

  constructor(options: LogReceiverOptions, hooks: LogReceiverHooks) {
    const { files = true, sink, ...fileOptions } = options;
    if (sink !== undefined && typeof sink !== "function")
      throw new TypeError("Invalid log option 'sink': expected a function");
    this.files = files ? new LogFiles(fileOptions, hooks) : undefined;
    this.#sink = sink;
    this.#hooks = hooks;
  }

  /** Node ids of every writer that sent a batch. */
  get senders(): ReadonlySet<string> {
    return this.#senders;
  }

  /** The counters. */
  stats(): LogReceiverStats {
    return { ...this.#stats, logFailedRecords: this.files?.failedRecords ?? 0 };
  }

  /** A log message from the PULL socket (`["log-write", sender, format, payload]`). */
  handle(record: BatchCursor): void | Promise<void> {
    const sender = decoder.decode(record.frame(LogFrame.Sender));
    const zeek = record.frameEquals(LogFrame.Format, ZEEK);
    if (!zeek && !record.frameEquals(LogFrame.Format, MSGPACK)) {
      return this.#hooks.malformed(
        "log-format",
        `Got log message in format '${decoder.decode(record.frame(LogFrame.Format))}', but have deserializers '${ZEEK_LOG_FORMAT}' and '${LOG_FORMAT}'`,
      );
    }
    if (zeek && this.#sink === undefined && this.files !== undefined) {
      const done = this.#straightToFiles(record, sender);
      if (done) return;
    }
    let batch: LogBatch;
    try {
      batch = zeek
        ? decodeZeekBatch(record.bytes, record.start(LogFrame.Payload), record.end(LogFrame.Payload))
        : decodeBatch(record.bytes, record.start(LogFrame.Payload), record.end(LogFrame.Payload));
    } catch (err: unknown) {
      const format = zeek ? ZEEK_LOG_FORMAT : LOG_FORMAT;
      return this.#hooks.malformed(
        `log-decode-${format}`,
        `Failed to unserialize log message from ${sender} using '${format}': ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.#senders.add(sender);
    const seq =
      (record.end(LogFrame.Tag) - record.start(LogFrame.Tag) > 9
        ? ackRequest(record.frame(LogFrame.Tag))
        : undefined) ?? batch.seq;
    if (seq !== undefined && this.#remember(sender, seq)) {
      this.#stats.logDuplicateBatches++;
      return this.#ack(sender, seq);
    }
    const done = this.accept(batch, sender);
    if (seq === undefined) return done;
    return done ? done.then(() => this.#ack(sender, seq)) : this.#ack(sender, seq);
  }

  /**
   * A `zeek-bin-serializer` batch for the files only, formatted as it is read (no values made); false,
   * with nothing done, for a batch to decode first: a resend (it may be malformed as well, which
   * decoding tells), a malformed one, or one the files take only decoded.
   */
  #straightToFiles(record: BatchCursor, sender: string): boolean {
    const seq =
      record.end(LogFrame.Tag) - record.start(LogFrame.Tag) > 9 ? ackRequest(record.frame(LogFrame.Tag)) : undefined;
    if (seq !== undefined && this.#seen.get(sender)?.has(seq)) return false;
    const count = writeZeekLines(
      this.files!,
      record.bytes,
      record.start(LogFrame.Payload),
      record.end(LogFrame.Payload),
    );
    if (count === undefined) return false;
    this.#senders.add(sender);
    this.#stats.logBatchesReceived++;
    this.#stats.logRecordsReceived += count;
    this.#scheduleFlush();
    if (seq !== undefined) {
      this.#remember(sender, seq);
      this.#ack(sender, seq);
    }
    return true;
  }

  /** Writes a batch (from the network, or from this node's own writer). */
  accept(batch: LogBatch, sender: string): void | Promise<void> {
    this.#stats.logBatchesReceived++;
    this.#stats.logRecordsReceived += batch.records.length;
    this.files?.write(batch);
    this.#scheduleFlush();
    return this.#sink?.(batch, sender) ?? undefined;
  }

  /**
   * Writes what is buffered to the files; the acknowledgments that waited for it go now, or under load
   * with the next ones at most 10 ms after the last went.
   */
  flush(): void {
    this.#flushScheduled = false;
    this.files?.flush();
    for (const [sender, seqs] of this.#acks) {
      const ready = this.#ready.get(sender);
      if (ready === undefined) this.#ready.set(sender, seqs);
      else for (const seq of seqs) ready.push(seq);
    }
    this.#acks.clear();
    if (this.#ready.size === 0) return;
    const wait = this.#ackedAt + ACK_INTERVAL_MS - performance.now();
    if (wait <= 0) this.#sendAcks();
    else this.#ackTimer ??= setTimeout(this.#sendAcks, wait);
  }

  /** Flushes, acknowledges, and closes the files (rotating them if rotation is configured). */
  close(): void {
    this.flush();
    this.#sendAcks();
    this.files?.close();
  }

  // An acknowledgment is an event through the broker: under load, one per sender per few batches.
  readonly #sendAcks = (): void => {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    this.#ackedAt = performance.now();
    for (const [sender, seqs] of this.#ready) this.#hooks.ack(sender, seqs);
    this.#ready.clear();
  };

  // True if this batch was seen before (a resend).
  #remember(sender: string, seq: number): boolean {
    let seen = this.#seen.get(sender);
    if (!seen) this.#seen.set(sender, (seen = new Set()));
    if (seen.has(seq)) return true;
    seen.add(seq);
    if (seen.size > REMEMBERED_PER_SENDER) seen.delete(seen.values().next().value!);
    return false;
  }

  #ack(sender: string, seq: number): void {
    let seqs = this.#acks.get(sender);
    if (!seqs) this.#acks.set(sender, (seqs = []));
    seqs.push(seq);
    this.#scheduleFlush();
  }

  // Files are written and acknowledgments sent once per turn of the event loop, after a whole batch of
  // messages: one write(2) per file instead of one per batch.
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.flush());
  }
}
