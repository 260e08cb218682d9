/**
 * @module Writing logs on a cluster node (Zeek's `Log::write` on a non-logger): records are checked
 * against their stream, batched per stream and path, and PUSHed to the loggers, which ZeroMQ
 * load-balances. Unlike Zeek, nothing is lost uncounted: loggers acknowledge the batches they have
 * written, batches a stopped or dead logger never wrote are sent again, and whatever is dropped
 * (DROP) or never acknowledged is counted, in records and batches.
 */

import type { SendResult } from "./outbox.ts";

export type { SendResult } from "./outbox.ts";
import { encodeBatch, type LogBatch, type LogStream, recordValues } from "./logformat.ts";

/** Options of the log writer (Zeek's `Log::` settings, and what this library adds). */
export interface LogWriterOptions {
  /** Records buffered per stream and path before a batch goes out (`Log::write_buffer_size`). @default {1000} */
  writeBufferSize?: number;
  /** Every this many ms, buffered records go out (`Log::flush_interval`); 0 only by size and flush(). @default {1000} */
  flushInterval?: number;
  /** When no logger can take a batch: wait (`BLOCK`; `write()` returns false, await `drain()`) or drop it, counted. @default {"BLOCK"} */
  overflowPolicy?: "BLOCK" | "DROP";
  /** Loggers acknowledge written batches; unacknowledged ones are sent again and counted as lost at close. @default {true} */
  acknowledge?: boolean;
  /** Batches sent and not yet acknowledged, beyond which the writer waits (BLOCK) or drops (DROP). @default {64} */
  maxInFlight?: number;
  /** Send a batch again when it has not been acknowledged for this many ms. @default {30000} */
  resendAfter?: number;
}

/** What the writer needs from its node. */
export interface LogTransport {
  /** Sends batch `seq` to the loggers. */
  send(records: number, seq: number, payload: Uint8Array): SendResult;
  /** Resolves once everything handed to `send` has left for the I/O thread. */
  drain(): Promise<void>;
  /** Reports a problem once per `key`. */
  report(message: string, key: string): void;
  /** On a node that is itself a logger: takes a batch directly, no network involved. */
  local?: (batch: LogBatch) => void;
}

/** The writer's counters. */
export interface LogWriterStats {
  /** Records accepted by `write()`. */
  logRecordsWritten: number;
  /** Batches handed to the transport (first sends only). */
  logBatchesSent: number;
  /** Batches acknowledged by a logger. */
  logBatchesAcked: number;
  /** Batches sent again because a logger stopped, died, or did not answer in time. */
  logBatchesResent: number;
  /** Records and batches dropped under DROP (or with no logger to send to). */
  logDroppedRecords: number;
  logDroppedBatches: number;
  /** Records and batches sent but never acknowledged by the time the writer closed. */
  logLostRecords: number;
  logLostBatches: number;
}

interface Pending {
  seq: number;
  records: number;
  payload: Uint8Array;
  sentAt: number;
}

/**
 * Batches, sends and accounts for the log records of one node. Created by the node; use
 * `node.log(stream, record)`.
 *
 * @example Writing through a node, waiting when the loggers fall behind
 * ```ts ignore
 * import { defineStream } from "./logformat.ts";
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string" } });
 * for (const peer of peers) {
 *   if (!node.log(PING, { ts: new Date(), peer })) await node.logWriter!.drain(); // BLOCK: records are held back
 * }
 * await node.flushLogs(5000);
 * console.log(node.logWriter!.stats().logLostRecords); // 0
 * ```
 */
export class LogWriter {
  readonly #transport: LogTransport;
  readonly #o: Required<LogWriterOptions>;
  readonly #buffers = new Map<string, { stream: LogStream; path: string; records: unknown[][] }>();
  readonly #queue: Pending[] = [];
  readonly #inFlight = new Map<number, Pending>();
  readonly #waiters: { ready: () => boolean; resolve: () => void }[] = [];
  readonly #stats: LogWriterStats = LogWriter.emptyStats();
  #seq = 0;
  #timer: Timer | undefined;
  #closed = false;

  constructor(transport: LogTransport, options: LogWriterOptions = {}) {
    this.#transport = transport;
    this.#o = {
      writeBufferSize: options.writeBufferSize ?? 1000,
      flushInterval: options.flushInterval ?? 1000,
      overflowPolicy: options.overflowPolicy ?? "BLOCK",
      acknowledge: options.acknowledge ?? true,
      maxInFlight: options.maxInFlight ?? 64,
      resendAfter: options.resendAfter ?? 30_000,
    };
    for (const key of ["writeBufferSize", "maxInFlight"] as const) {
      if (!Number.isInteger(this.#o[key]) || this.#o[key] < 1) throw new RangeError(`Invalid log option '${key}': expected a positive integer, got ${this.#o[key]}`);
    }
    for (const key of ["flushInterval", "resendAfter"] as const) {
      if (!Number.isInteger(this.#o[key]) || this.#o[key] < 0) throw new RangeError(`Invalid log option '${key}': expected a non-negative integer of ms, got ${this.#o[key]}`);
    }
    if (this.#o.overflowPolicy !== "BLOCK" && this.#o.overflowPolicy !== "DROP") {
      throw new RangeError(`Invalid log option 'overflowPolicy': expected "BLOCK" or "DROP", got '${this.#o.overflowPolicy}'`);
    }
  }

  /** All counters at zero. */
  static emptyStats(): LogWriterStats {
    return {
      logRecordsWritten: 0, logBatchesSent: 0, logBatchesAcked: 0, logBatchesResent: 0,
      logDroppedRecords: 0, logDroppedBatches: 0, logLostRecords: 0, logLostBatches: 0,
    };
  }

  /** The options in effect. */
  get options(): Readonly<Required<LogWriterOptions>> {
    return this.#o;
  }

  /** Starts the flush timer; batches made before are sent now. */
  start(): void {
    const every = this.#o.flushInterval || Math.min(1000, this.#o.resendAfter || 1000);
    this.#timer ??= setInterval(() => this.#tick(), every).unref();
    this.#pump();
  }

  /**
   * Checks a record and buffers it. Returns `false` when the writer is holding records back (BLOCK:
   * await {@linkcode drain} before writing more); under DROP, what cannot be sent is dropped and counted.
   * After {@linkcode close} (the node is stopping) records are dropped and counted, with one warning.
   *
   * @throws {TypeError} a record that does not match the stream, naming the stream and the field; nothing is sent.
   */
  write(stream: LogStream, record: Record<string, unknown>, path: string = stream.path): boolean {
    const values = recordValues(stream, record);
    if (this.#closed) {
      // The node is stopping (a handler still ran, or a timer fired): the record cannot go anywhere.
      this.#stats.logDroppedRecords++;
      this.#transport.report(`log: warn: dropped records written after the writer closed (stream '${stream.id}')`, "log-closed");
      return false;
    }
    const key = `${stream.id}\0${path}`;
    let buffer = this.#buffers.get(key);
    if (!buffer) this.#buffers.set(key, (buffer = { stream, path, records: [] }));
    buffer.records.push(values);
    this.#stats.logRecordsWritten++;
    if (buffer.records.length >= this.#o.writeBufferSize) this.#seal(key);
    return this.#queue.length === 0;
  }

  #until(ready: () => boolean): Promise<void> {
    return ready() ? Promise.resolve() : new Promise((resolve) => this.#waiters.push({ ready, resolve }));
  }

  /** Resolves once no records wait locally: all handed to the I/O thread (not yet acknowledged). */
  async drain(): Promise<void> {
    await this.#until(() => this.#queue.length === 0);
    await this.#transport.drain();
  }

  /**
   * Sends everything buffered and resolves with `true` once it is acknowledged by a logger (written
   * to its files) or dropped and counted; without acknowledgments, once handed to the I/O thread. With
   * `timeoutMs`, resolves with `false` if that takes longer (the records stay in flight).
   */
  async flush(timeoutMs?: number): Promise<boolean> {
    for (const key of [...this.#buffers.keys()]) this.#seal(key);
    const upTo = this.#seq;
    const done = this.#o.acknowledge ? this.#until(() => this.#lowestPending() > upTo) : this.drain();
    if (timeoutMs === undefined) return done.then(() => true);
    let timer: Timer | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([done.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  /** A logger acknowledged batches. */
  onAck(seqs: readonly number[]): void {
    for (const seq of seqs) if (this.#inFlight.delete(seq)) this.#stats.logBatchesAcked++;
    this.#pump();
  }

  /** Batches the transport dropped, as [seq, records]. */
  onDropped(batches: readonly [number, number][]): void {
    for (const [seq, records] of batches) {
      if (this.#o.acknowledge && !this.#inFlight.delete(seq)) continue; // already accounted for
      this.#count("dropped", records);
    }
    this.#pump();
  }

  /**
   * A logger stopped cleanly (`log_stopped`): it acknowledged everything it wrote first, so every batch
   * still unacknowledged did not reach a logger's files and is sent again.
   */
  onLoggerStopped(): void {
    this.#resend(() => true);
  }

  /** A logger went away without saying so: after a second, what was sent before is sent again. */
  onLoggerDown(): void {
    const downAt = performance.now();
    setTimeout(() => this.#resend((p) => p.sentAt < downAt), 1000).unref?.();
  }

  /** The counters. */
  stats(): LogWriterStats {
    return { ...this.#stats };
  }

  /**
   * Sends what is buffered and waits up to `graceMs` for it to be acknowledged; what is then still
   * queued is counted as dropped, what was sent and never acknowledged as lost.
   */
  async close(graceMs: number): Promise<void> {
    if (this.#closed) return;
    const done = this.flush(graceMs);
    this.#closed = true;
    await done;
    clearInterval(this.#timer);
    for (const p of this.#queue.splice(0)) this.#count("dropped", p.records);
    const lost = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const p of lost) this.#count("lost", p.records);
    if (lost.length > 0) this.#transport.report(`${lost.length} log batches were never acknowledged by a logger`, "log-lost");
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #seal(key: string): void {
    const buffer = this.#buffers.get(key);
    if (!buffer || buffer.records.length === 0) return;
    this.#buffers.delete(key);
    const seq = ++this.#seq;
    const batch: LogBatch = { stream: buffer.stream.id, path: buffer.path, fields: [...buffer.stream.fields], records: buffer.records };
    if (this.#transport.local) {
      this.#transport.local(batch);
      this.#stats.logBatchesSent++;
      return;
    }
    if (this.#o.acknowledge) batch.seq = seq;
    this.#queue.push({ seq, records: buffer.records.length, payload: encodeBatch(batch), sentAt: 0 });
    this.#pump();
  }

  #pump(): void {
    const ack = this.#o.acknowledge;
    while (this.#queue.length > 0 && (!ack || this.#inFlight.size < this.#o.maxInFlight)) {
      const p = this.#queue.shift()!;
      const result = this.#transport.send(p.records, p.seq, p.payload);
      if (result === "dropped") {
        this.#count("dropped", p.records);
        continue;
      }
      this.#stats.logBatchesSent++;
      p.sentAt = performance.now();
      if (ack) this.#inFlight.set(p.seq, p);
    }
    // DROP never waits: whatever cannot be sent because too much is in flight goes now.
    if (this.#o.overflowPolicy === "DROP") for (const p of this.#queue.splice(0)) this.#count("dropped", p.records);
    this.#wake();
  }

  #resend(which: (p: Pending) => boolean): void {
    for (const p of this.#inFlight.values()) {
      if (!which(p)) continue;
      p.sentAt = performance.now();
      this.#stats.logBatchesResent++;
      if (this.#transport.send(p.records, p.seq, p.payload) === "dropped") {
        this.#inFlight.delete(p.seq);
        this.#count("dropped", p.records);
      }
    }
    this.#wake();
  }

  #tick(): void {
    for (const key of [...this.#buffers.keys()]) this.#seal(key);
    const cutoff = performance.now() - this.#o.resendAfter;
    if (this.#o.acknowledge && this.#o.resendAfter > 0) this.#resend((p) => p.sentAt < cutoff);
  }

  #count(kind: "dropped" | "lost", records: number): void {
    if (kind === "dropped") {
      this.#stats.logDroppedBatches++;
      this.#stats.logDroppedRecords += records;
      this.#transport.report(`log: warn: dropped a batch (${this.#o.overflowPolicy})`, "log-drop");
    } else {
      this.#stats.logLostBatches++;
      this.#stats.logLostRecords += records;
    }
  }

  #lowestPending(): number {
    let low = this.#queue[0]?.seq ?? Infinity;
    for (const seq of this.#inFlight.keys()) low = Math.min(low, seq);
    return low;
  }

  #wake(): void {
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i]!.ready()) this.#waiters.splice(i, 1)[0]!.resolve();
    }
  }
}
