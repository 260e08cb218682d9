/**
 * @module Writing logs on a cluster node (Zeek's `Log::write` on a non-logger): records are checked
 * against their stream, batched per stream and path, and PUSHed to the loggers, which ZeroMQ
 * load-balances. Unlike Zeek, nothing is lost uncounted: loggers of this library acknowledge the
 * batches they have written, batches a stopped or dead logger never wrote are sent again, and whatever
 * is dropped (DROP) or never acknowledged is counted, in records and batches. Zeek loggers never
 * acknowledge: once one of them is among the loggers, batches go without an acknowledgment request,
 * are never sent again (Zeek would write them twice), and are counted as unacknowledged.
 */

export type { SendResult } from "./_io-thread.ts";

import { within } from "./_deadline.ts";
import { OpenBatches } from "./_log-batches.ts";
import { encodeBatch, type LogFields, type LogRecord, type LogStream, recordValues } from "./logformat.ts";

export type { LogTransport, LogWriterOptions, LogWriterStats } from "./_logpush-types.ts";

import type { LogTransport, LogWriterOptions, LogWriterStats, Pending } from "./_logpush-types.ts";

/**
 * Batches, sends and accounts for the log records of one node. Created by the node; use
 * `node.log(stream, record)`.
 *
 * @example Writing through a node, waiting when the loggers fall behind
 * ```ts
 * import { defineStream } from "./logformat.ts";
 * import { ClusterNode } from "./pubsub.ts";
 *
 * const layout = {
 *   nodes: { manager: { type: "manager", ip: "127.0.0.1", port: 27762 }, "worker-1": { type: "worker", ip: "127.0.0.1" } },
 * } as const;
 * const any = "tcp://127.0.0.1:*"; // free ports
 * const manager = new ClusterNode({ name: "manager", layout, listenXsubEndpoint: any, listenXpubEndpoint: any, listenLogEndpoint: any });
 * await manager.start();
 * const { xsub, xpub } = manager.broker!.endpoints!;
 * const node = new ClusterNode({ name: "worker-1", layout, connectXpubEndpoint: xsub, connectXsubEndpoint: xpub, connectLogEndpoints: [manager.logEndpoint] });
 * await node.start();
 *
 * const PING = defineStream({ id: "Ping::LOG", path: "ping", fields: { ts: "time", peer: "string" } });
 * for (let i = 0; i < 10_000; i++) {
 *   if (!node.log(PING, { ts: new Date(), peer: `10.0.0.${i % 256}` })) await node.logWriter!.drain(); // BLOCK: records are held back
 * }
 * console.log(await node.flushLogs(5000)); // true: the logger has written them all
 * console.log(node.logWriter!.stats().logLostRecords); // 0
 * await node.stop();
 * await manager.stop();
 * ```
 */
export class LogWriter {
  readonly #transport: LogTransport;
  readonly #o: Required<LogWriterOptions>;
  /** The batches being filled, per stream and path. */
  readonly #batches: OpenBatches;
  readonly #queue: Pending[] = [];
  readonly #inFlight = new Map<number, Pending>();
  readonly #waiters: { ready: () => boolean; resolve: () => void }[] = [];
  readonly #stats: LogWriterStats = LogWriter.emptyStats();
  #sealedSinceTick = false;
  /** Loggers known not to acknowledge (they came up without saying they do). */
  readonly #silentLoggers = new Set<string>();
  /** Loggers that came up and have not said yet whether they acknowledge: nothing is sent again meanwhile. */
  readonly #undecided = new Set<string>();
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
      if (!Number.isInteger(this.#o[key]) || this.#o[key] < 1)
        throw new RangeError(`Invalid log option '${key}': expected a positive integer, got ${this.#o[key]}`);
    }
    for (const key of ["flushInterval", "resendAfter"] as const) {
      if (!Number.isInteger(this.#o[key]) || this.#o[key] < 0)
        throw new RangeError(`Invalid log option '${key}': expected a non-negative integer of ms, got ${this.#o[key]}`);
    }
    if (this.#o.overflowPolicy !== "BLOCK" && this.#o.overflowPolicy !== "DROP") {
      throw new RangeError(
        `Invalid log option 'overflowPolicy': expected "BLOCK" or "DROP", got '${this.#o.overflowPolicy}'`,
      );
    }
    const local = transport.local !== undefined;
    this.#batches = new OpenBatches(transport.encode ?? encodeBatch, local, this.#o.maxInFlight, (key) =>
      this.#seal(key),
    );
  }

  /** All counters at zero. */
  static emptyStats(): LogWriterStats {
    return {
      logRecordsWritten: 0,
      logBatchesSent: 0,
      logBatchesAcked: 0,
      logBatchesResent: 0,
      logDroppedRecords: 0,
      logDroppedBatches: 0,
      logLostRecords: 0,
      logLostBatches: 0,
      logUnackedRecords: 0,
      logUnackedBatches: 0,
    };
  }

  /** The options in effect. */
  get options(): Readonly<Required<LogWriterOptions>> {
    return this.#o;
  }

  /** Whether batches now go with an acknowledgment request. */
  get acknowledging(): boolean {
    return this.#o.acknowledge && this.#silentLoggers.size === 0;
  }

  /**
   * A logger came up; `acknowledges` says whether it will. Once one that does not is among the
   * loggers, batches in flight are no longer waited for (they count as unacknowledged, and are never
   * sent again: that logger may have written them) and new ones go without a request.
   */
  loggerUp(name: string, acknowledges: boolean): void {
    this.#undecided.delete(name);
    if (acknowledges) {
      if (this.#silentLoggers.delete(name)) this.#pump();
      return;
    }
    if (this.#silentLoggers.has(name)) return;
    this.#silentLoggers.add(name);
    this.#transport.report(
      `log: logger '${name}' does not acknowledge (a Zeek logger?): log batches go without acknowledgment requests and are counted as unacknowledged`,
      `log-silent-${name}`,
    );
    for (const p of this.#inFlight.values()) this.#count("unacked", p.records);
    this.#inFlight.clear();
    this.#pump();
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
  write<F extends LogFields>(stream: LogStream<F>, record: LogRecord<F>, path: string = stream.path): boolean {
    if (this.#closed) {
      recordValues(stream, record);
      // The node is stopping (a handler still ran, or a timer fired): the record cannot go anywhere.
      this.#stats.logDroppedRecords++;
      this.#transport.report(
        `log: warn: dropped records written after the writer closed (stream '${stream.id}')`,
        "log-closed",
      );
      return false;
    }
    const count = this.#batches.add(stream, record, path);
    this.#stats.logRecordsWritten++;
    if (count >= this.#o.writeBufferSize) this.#seal(this.#batches.lastKey);
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
    for (const key of this.#batches.keys()) this.#seal(key);
    const upTo = this.#seq;
    const done = this.acknowledging ? this.#until(() => this.#lowestPending() > upTo) : this.drain();
    return timeoutMs === undefined ? done.then(() => true) : within(done, timeoutMs);
  }

  /** A logger acknowledged batches. */
  onAck(seqs: readonly number[]): void {
    for (const seq of seqs) {
      const p = this.#inFlight.get(seq);
      if (p === undefined) continue;
      this.#inFlight.delete(seq);
      this.#stats.logBatchesAcked++;
      // Acknowledged after its only send: libzmq copied it before the logger could have it, nothing holds it.
      if (p.spare !== undefined) this.#batches.reuse(p.spare);
    }
    this.#pump();
  }

  /** Batches the transport dropped, as [seq, records] (seq 0: sent without an acknowledgment request). */
  onDropped(batches: readonly [number, number][]): void {
    for (const [seq, records] of batches) {
      if (seq !== 0 && !this.#inFlight.delete(seq)) continue; // already accounted for
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
    if (lost.length > 0)
      this.#transport.report(`${lost.length} log batches were never acknowledged by a logger`, "log-lost");
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #seal(key: string): void {
    const seq = this.#seq + 1;
    // msgpack-log-v1 carries the request in the payload too (frame 0 carries it for every format).
    const sealed = this.#batches.take(key, this.acknowledging ? seq : undefined);
    if (sealed === undefined) return;
    this.#seq = seq;
    if (sealed.batch !== undefined) {
      this.#transport.local!(sealed.batch);
      this.#stats.logBatchesSent++;
      return;
    }
    this.#sealedSinceTick = true;
    const { records, payload, spare } = sealed;
    this.#queue.push({ seq, records, payload: payload!, spare, sentAt: 0 });
    this.#pump();
  }

  #pump(): void {
    const ack = this.acknowledging;
    while (this.#queue.length > 0 && (!ack || this.#inFlight.size < this.#o.maxInFlight)) {
      const p = this.#queue.shift()!;
      const result = this.#transport.send(p.records, ack ? p.seq : 0, p.payload);
      if (result === "dropped") {
        this.#count("dropped", p.records);
        continue;
      }
      this.#stats.logBatchesSent++;
      p.sentAt = performance.now();
      if (ack) this.#inFlight.set(p.seq, p);
      else this.#count("unacked", p.records);
    }
    // DROP never waits: whatever cannot be sent because too much is in flight goes now.
    if (this.#o.overflowPolicy === "DROP") for (const p of this.#queue.splice(0)) this.#count("dropped", p.records);
    this.#wake();
  }

  /**
   * A logger came up that has not said yet whether it acknowledges: until {@linkcode loggerUp} decides,
   * nothing is sent again (to a Zeek logger, a resend would write records twice).
   */
  loggerUndecided(name: string): void {
    this.#undecided.add(name);
  }

  #resend(which: (p: Pending) => boolean): void {
    if (this.#undecided.size > 0) return;
    for (const p of this.#inFlight.values()) {
      if (!which(p)) continue;
      p.sentAt = performance.now();
      p.spare = undefined; // the transport may hold it after the first send is acknowledged
      this.#stats.logBatchesResent++;
      if (this.#transport.send(p.records, p.seq, p.payload) === "dropped") {
        this.#inFlight.delete(p.seq);
        this.#count("dropped", p.records);
      }
    }
    this.#wake();
  }

  #tick(): void {
    if (!this.#sealedSinceTick) this.#batches.idle();
    this.#sealedSinceTick = false;
    for (const key of this.#batches.keys()) this.#seal(key);
    const cutoff = performance.now() - this.#o.resendAfter;
    if (this.#o.resendAfter > 0) this.#resend((p) => p.sentAt < cutoff);
  }

  #count(kind: "dropped" | "lost" | "unacked", records: number): void {
    if (kind === "dropped") {
      this.#stats.logDroppedBatches++;
      this.#stats.logDroppedRecords += records;
      this.#transport.report(`log: warn: dropped a batch (${this.#o.overflowPolicy})`, "log-drop");
    } else if (kind === "lost") {
      this.#stats.logLostBatches++;
      this.#stats.logLostRecords += records;
    } else {
      this.#stats.logUnackedBatches++;
      this.#stats.logUnackedRecords += records;
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
