/**
 * @module A node's log connections to the loggers' PULL sockets spoken by main itself (`pushEngine:
 * "bun"`): one ZMTP connection per endpoint on Bun's own sockets (`_zmtp-connection.ts`). A log batch
 * goes out as Zeek's four frames in two writes (the frames before the payload, then the payload as
 * the writer made it): no inproc PAIR, no I/O Worker, no libzmq copy. As a PUSH does, batches go round
 * robin to the connections whose kernel buffer has room; while none has, up to `logSndhwm` batches
 * wait here (BLOCK: the writer awaits `drainLogs()` and more may wait; DROP: beyond, dropped). A batch that had not gone out in full when
 * its connection broke, or is still here at stop, is reported dropped with its sequence number, as the
 * worker's outlet reports them. Not part of the public API.
 */

import { bump, Counter, type SendResult, type SharedState } from "./_channel.ts";
import { within } from "./_deadline.ts";
import { logWriteTag } from "./_frames.ts";
import { FrameFlag, frameHeaderSize, putFrameHeader } from "./_zmtp.ts";
import { ZmtpConnection } from "./_zmtp-connection.ts";
import type { ZeroMQConfig } from "./config.ts";

/** The options the connections follow. */
export type ZmtpPushConfig = Pick<ZeroMQConfig, "connectLogEndpoints" | "maxMessageSize" | "logSndhwm">;

/** Where the connections' results go. */
export interface ZmtpPushSinks {
  /** Log batches, as [seq, records], that were dropped before reaching a logger. */
  logDropped(batches: [number, number][]): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

/** A batch framed for the wire: the first three frames and the payload's header, then the payload. */
interface Batch {
  head: Uint8Array;
  payload: Uint8Array;
  /** `[seq, records]`, as the writer's accounting knows the batch. */
  id: [number, number];
}

const PULLERS: ReadonlySet<string> = new Set(["PULL"]);

/** One logger's connection. */
class PushConnection extends ZmtpConnection {
  constructor(
    endpoint: string,
    c: ZmtpPushConfig,
    state: SharedState,
    sinks: ZmtpPushSinks,
    readonly owner: ZmtpPush,
  ) {
    super({
      endpoint,
      socketType: "PUSH",
      peerTypes: PULLERS,
      maxFrameSize: c.maxMessageSize,
      heartbeatIvl: 0, // the side that receives the bulk sends the PINGs (see heartbeatIvl)
      heartbeatTtl: 0,
      state,
      connects: undefined,
      disconnects: Counter.PushDisconnects,
      report: sinks.report,
      handshakeFailed: sinks.handshakeFailed,
    });
  }

  /** Batches handed to the socket and not yet taken by the kernel in full. */
  get inFlight(): number {
    return this.outbox.waitingEvents;
  }

  /** Whether the kernel took everything written so far (a new batch would not wait behind another). */
  get writable(): boolean {
    return this.outbox.empty;
  }

  send(batch: Batch): void {
    this.write(batch.head);
    this.write(batch.payload, 1, batch.id);
  }

  protected onReady(): void {
    this.owner.pump();
  }

  protected override onDrained(): void {
    this.owner.pump();
  }

  protected onFrame(): void {} // a PULL sends nothing
  protected onChunkEnd(): void {}

  protected onLost(_unsent: number, tags: unknown[]): void {
    this.owner.lost(tags as [number, number][]);
  }
}

/** The node's log connections, run by main. */
export class ZmtpPush {
  readonly #c: ZmtpPushConfig;
  readonly #state: SharedState;
  readonly #sinks: ZmtpPushSinks;
  readonly #sender: Uint8Array;
  readonly #conns: PushConnection[];
  /** Batches waiting for a connection with room, in order. */
  #queue: Batch[] = [];
  #next = 0;
  #drained: (() => void)[] = [];

  constructor(c: ZmtpPushConfig, state: SharedState, sender: Uint8Array, sinks: ZmtpPushSinks) {
    [this.#c, this.#state, this.#sender, this.#sinks] = [c, state, sender, sinks];
    this.#conns = c.connectLogEndpoints.map((ep) => new PushConnection(ep, c, state, sinks, this));
  }

  /** Connects to every logger, and keeps connecting until {@linkcode close}. */
  start(): void {
    for (const conn of this.#conns) conn.start();
  }

  /** Batches waiting here or handed to a socket and not yet taken by the kernel. */
  get waiting(): number {
    return this.#queue.length + this.#conns.reduce((n, conn) => n + conn.inFlight, 0);
  }

  /**
   * Sends log batch `seq` of `records` records (`format`, `payload`) to the next logger with room.
   * `"queued"`: none had room (BLOCK: await {@linkcode drain}) or `now` is false (it waits for
   * {@linkcode pump}); `"dropped"`: under DROP none had room (the caller counts it).
   */
  send(
    records: number,
    seq: number,
    format: Uint8Array,
    payload: Uint8Array,
    now: boolean,
    policy: "BLOCK" | "DROP",
  ): SendResult {
    const conn = now && this.#queue.length === 0 ? this.#room() : undefined;
    const hwm = this.#c.logSndhwm;
    if (!conn && policy === "DROP" && hwm > 0 && this.#queue.length >= hwm) return "dropped";
    const batch = this.#frame(records, seq, format, payload);
    if (conn) {
      conn.send(batch);
      return "sent";
    }
    // The writer's buffer waits here as it is (as in the libzmq path's queue): it reuses it only once
    // the batch is acknowledged, which no batch still here can be.
    this.#queue.push(batch);
    if (now) bump(this.#state, Counter.LogBlocks);
    return "queued";
  }

  /** Sends what waits here to the connections with room. */
  pump(): void {
    for (let conn = this.#room(); conn && this.#queue.length > 0; conn = this.#room()) {
      conn.send(this.#queue.shift()!);
    }
    if (this.waiting === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once nothing waits here or in the sockets' outboxes. */
  drain(): Promise<void> {
    this.pump();
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** A connection broke: the batches it had not sent in full are reported dropped. */
  lost(batches: [number, number][]): void {
    if (batches.length > 0) this.#sinks.logDropped(batches);
    this.pump();
  }

  /** Sends what waits for up to `ms`, then closes; what is left is reported dropped. */
  async closeWithin(ms: number): Promise<void> {
    if (this.waiting > 0) await within(this.drain(), ms);
    const left = this.#queue.map((b) => b.id);
    this.#queue = [];
    for (const conn of this.#conns) conn.close(); // reports what its outbox held (lost)
    if (left.length > 0) this.#sinks.logDropped(left);
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** The next connection, round robin, that is ready and whose kernel buffer took all it was given. */
  #room(): PushConnection | undefined {
    for (let k = 0; k < this.#conns.length; k++) {
      const conn = this.#conns[(this.#next + k) % this.#conns.length]!;
      if (conn.ready && conn.writable) {
        this.#next = (this.#next + k + 1) % this.#conns.length;
        return conn;
      }
    }
    return undefined;
  }

  /** Zeek's frames: `log-write` (with `;seq=<n>` when an acknowledgment is asked), sender, format, payload. */
  #frame(records: number, seq: number, format: Uint8Array, payload: Uint8Array): Batch {
    const frames = [logWriteTag(seq), this.#sender, format];
    let bytes = frameHeaderSize(payload.length);
    for (const f of frames) bytes += frameHeaderSize(f.length) + f.length;
    const head = new Uint8Array(bytes);
    let at = 0;
    for (const f of frames) {
      at = putFrameHeader(head, at, FrameFlag.More, f.length);
      head.set(f, at);
      at += f.length;
    }
    putFrameHeader(head, at, 0, payload.length);
    return { head, payload, id: [seq, records] };
  }
}
