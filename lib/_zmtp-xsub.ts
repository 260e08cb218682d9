/**
 * @module A node's subscriber connection to the broker's XPUB spoken by main itself (`xsubEngine:
 * "bun"`): ZMTP 3.0 on Bun's own socket (`_zmtp-connection.ts`), so the kernel wakes the main thread
 * when events arrive, with no libzmq thread and no I/O Worker on the way. It does what the node's
 * libzmq XSUB does for it: its subscriptions (sent again on every new connection), `PING`s carrying
 * `heartbeatTtl`, reconnects, `maxMessageSize`, and the checks and counters of `_io-reader.ts` (frame
 * counts, topic lengths, its own events, `onloop_queue_hwm`). Not part of the public API.
 */

import { MessageRecords } from "./_batch.ts";
import { bump, Counter, type SharedState, Slot } from "./_channel.ts";
import { MESSAGE_FRAMES, Notice } from "./_frames.ts";
import { XsubProblem } from "./_io-reader.ts";
import { frame, MessageFrames } from "./_zmtp.ts";
import { ZmtpConnection } from "./_zmtp-connection.ts";
import type { ZeroMQConfig } from "./config.ts";

/** The options the connection follows. */
export type ZmtpXsubConfig = Pick<
  ZeroMQConfig,
  | "connectXsubEndpoint"
  | "maxTopicLength"
  | "maxMessageSize"
  | "onloopQueueHwm"
  | "xsubRcvhwm"
  | "heartbeatIvl"
  | "heartbeatTtl"
>;

/** Where the connection's results go. */
export interface ZmtpXsubSinks {
  /** Takes a batch of event records (its events already counted as waiting on main). */
  received(buffer: ArrayBuffer): void;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
  handshakeFailed(message: string): void;
}

/** Socket types a subscriber may talk to. */
const PUBLISHERS: ReadonlySet<string> = new Set(["XPUB", "PUB"]);

/** The node's subscriber connection, run by main. */
export class ZmtpXsub extends ZmtpConnection {
  readonly #c: ZmtpXsubConfig;
  readonly #state: SharedState;
  /** This node's id: its own events, which the broker echoes, are skipped. */
  readonly #id: Uint8Array;
  readonly #sinks: ZmtpXsubSinks;
  /** Subscriptions (prefix bytes as latin1 text) and how often each was made, as libzmq's XSUB keeps them. */
  readonly #subscriptions = new Map<string, number>();
  readonly #records = new MessageRecords();
  readonly #frames = new MessageFrames();

  constructor(c: ZmtpXsubConfig, state: SharedState, id: Uint8Array, sinks: ZmtpXsubSinks) {
    super({
      endpoint: c.connectXsubEndpoint,
      socketType: "XSUB",
      peerTypes: PUBLISHERS,
      maxFrameSize: c.maxMessageSize,
      heartbeatIvl: c.heartbeatIvl,
      heartbeatTtl: c.heartbeatTtl,
      state,
      connects: Counter.XsubConnects,
      disconnects: Counter.XsubDisconnects,
      report: sinks.report,
      handshakeFailed: sinks.handshakeFailed,
    });
    [this.#c, this.#state, this.#id, this.#sinks] = [c, state, id, sinks];
  }

  /** Subscribes (`0x01prefix`) or unsubscribes (`0x00prefix`), as a node's XSUB does. */
  update(notice: Uint8Array): void {
    if (notice.length === 0) return;
    const key = Buffer.from(notice.buffer, notice.byteOffset + 1, notice.length - 1).toString("latin1");
    const count = this.#subscriptions.get(key) ?? 0;
    if (notice[0] === Notice.Subscribe) {
      this.#subscriptions.set(key, count + 1);
    } else {
      if (count === 0) return;
      if (count > 1) return void this.#subscriptions.set(key, count - 1);
      this.#subscriptions.delete(key);
    }
    if (!this.ready) return;
    this.write(frame(0, notice));
    this.beat();
  }

  protected onReady(): void {
    for (const key of this.#subscriptions.keys()) this.write(frame(0, noticeBytes(key)));
  }

  protected onFrame(buf: Uint8Array, start: number, end: number, more: boolean): void {
    this.#frames.add(buf, start, end);
    if (!more) this.#message();
  }

  protected onChunkEnd(): void {
    this.#handOver();
    this.#frames.keep(); // a message cut short keeps its frames as copies: the bytes under them are reused
  }

  protected onLost(): void {
    this.#frames.reset();
  }

  /** One whole message: checked as `_io-reader.ts` checks the worker's, then kept for main. */
  #message(): void {
    const c = this.#c;
    const frames = this.#frames;
    const { parts, from, starts, ends } = frames;
    frames.reset();
    if (parts !== MESSAGE_FRAMES) return this.#malformed("xsub-parts", XsubProblem.parts(parts));
    if (frames.size(0) > c.maxTopicLength) return this.#malformed("xsub-topic", XsubProblem.topic(c.maxTopicLength));
    if (equalAt(from[1]!, starts[1]!, ends[1]!, this.#id)) return;
    const hwm = c.onloopQueueHwm;
    if (hwm > 0 && Atomics.load(this.#state.ints, Slot.OnloopDepth) + this.#records.events >= hwm) {
      bump(this.#state, Counter.OnloopDrops);
      return this.#sinks.report("onloop-drop", XsubProblem.onloopDrop);
    }
    this.#records.addFrames(from, starts, ends);
  }

  #malformed(key: string, message: string): void {
    bump(this.#state, Counter.MsgErrors);
    this.#sinks.report(key, message);
  }

  #handOver(): void {
    const events = this.#records.events;
    if (events === 0) return;
    const depth = Atomics.add(this.#state.ints, Slot.OnloopDepth, events) + events;
    this.#sinks.received(this.#records.take());
    // With onloopQueueHwm 0 nothing is dropped: reading stops at 10 × xsubRcvhwm waiting, as the worker's does.
    if (this.#c.onloopQueueHwm === 0 && depth >= 10 * this.#c.xsubRcvhwm) this.pause();
  }
}

const noticeBytes = (key: string) => Buffer.concat([Buffer.of(Notice.Subscribe), Buffer.from(key, "latin1")]);

/** Whether `a[start, end)` equals `b`. */
function equalAt(a: Uint8Array, start: number, end: number, b: Uint8Array): boolean {
  if (end - start !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[start + i] !== b[i]) return false;
  return true;
}
