/**
 * @module Reading what arrives on a node's sockets into a batch (`_batch.ts`), with every check made
 * before anything reaches the handlers: frame counts, lengths (a topic or node id beyond
 * `maxTopicLength`), the node's own events, and the onloop queue's HWM. The I/O Worker reads its
 * sockets with one; main reads the XSUB with one of its own while the worker lends it the socket
 * (`_io-xsub-loan.ts`). Not part of the public API.
 */

import { type BatchWriter, Kind } from "./_batch.ts";
import { bump, Counter, type SharedState, Slot } from "./_channel.ts";
import { EventFrame, LogFrame, MESSAGE_FRAMES, Notice } from "./_frames.ts";
import { DONTWAIT, Message, type Socket } from "./_zmq.ts";

/** What a malformed subscription from the broker is reported as (by this reader or main's XPUB engine). */
export const XpubProblem = {
  parts: (parts: number): string => `xpub: error: expected 1 part, have ${parts}!`,
  subscription: (max: number): string => `xpub: error: a subscription longer than maxTopicLength (${max} bytes)`,
} as const;

/** What a malformed or dropped event from the broker is reported as (by either reader of the XSUB's traffic). */
export const XsubProblem = {
  parts: (parts: number): string => `xsub: error: expected 4 parts, have ${parts}!`,
  topic: (max: number): string => `xsub: error: a topic longer than maxTopicLength (${max} bytes)`,
  onloopDrop: "warn: dropped a message due to onloop queue full",
} as const;

// A topic (or a node id, which goes into topics) beyond maxTopicLength is malformed and never reaches
// main: libzmq keeps a trie node per byte of a subscription, and main would keep the text.
/** What a malformed log message from a writer is reported as (by this reader or a logger's PULL engine). */
export const LogProblem = {
  parts: (parts: number): string => `log: error: expected 4 parts, have ${parts}!`,
  sender: (max: number): string => `log: error: a sender id longer than maxTopicLength (${max} bytes)`,
} as const;

/** What a reader needs to know of its node. */
export interface ReaderOptions {
  state: SharedState;
  /** This node's id: its own events, which the broker echoes, are skipped. */
  idBytes: Uint8Array;
  maxTopicLength: number;
  /** `onloop_queue_hwm`: events waiting for main beyond which new ones are dropped (0: never). */
  onloopHwm: number;
  /** Reports a problem once per key. */
  report(key: string, message: string): void;
}

/** Reads multipart messages into a batch, one socket kind per method. */
export class MessageReader {
  readonly #msg = new Message();
  /** Set by `#readInto` when a frame was longer than its limit: nothing of the message was kept. */
  #oversized = false;
  /** Onloop drops not yet added to the shared counter (a BigInt add costs: the caller adds them up). */
  onloopDrops = 0;

  constructor(
    readonly batch: BatchWriter,
    readonly o: ReaderOptions,
  ) {}

  /** Events waiting for main: handed over and not processed yet, plus those in this batch. */
  waitingOnMain(): number {
    return Atomics.load(this.o.state.ints, Slot.OnloopDepth) + this.batch.events;
  }

  /**
   * Copies one multipart message into the batch; returns its frame count, or -1 if none waited. Frame
   * `limited` may hold `limit` bytes: beyond, the message is read to its end but nothing is copied.
   */
  #readInto(socket: Socket, kind: Kind, maxFrames: number, limited: number, limit: number): number {
    const { batch } = this;
    const msg = this.#msg;
    let size = msg.receiveSize(socket, DONTWAIT);
    if (size < 0) return -1;
    batch.begin(kind);
    this.#oversized = false;
    let parts = 0;
    for (;;) {
      if (parts === limited && size > limit) {
        this.#oversized = true;
        batch.rollback();
      }
      if (parts < maxFrames && !this.#oversized) batch.frame(msg, size);
      parts++;
      if (!msg.more || (size = msg.receiveSize(socket, DONTWAIT)) < 0) return parts;
    }
  }

  #malformed(key: string, message: string): void {
    this.batch.rollback();
    bump(this.o.state, Counter.MsgErrors);
    this.o.report(key, message);
  }

  /** One subscription notice from the XPUB; `false` if none waited. */
  readNotice(xpub: Socket): boolean {
    const parts = this.#readInto(xpub, Kind.Notice, 1, 0, this.o.maxTopicLength + 1);
    if (parts < 0) return false;
    const first = this.batch.firstByte(0);
    if (parts !== 1) this.#malformed("xpub-parts", XpubProblem.parts(parts));
    else if (this.#oversized) this.#malformed("xpub-topic", XpubProblem.subscription(this.o.maxTopicLength));
    else if (first !== Notice.Unsubscribe && first !== Notice.Subscribe)
      this.batch.rollback(); // not a (un)subscription: ignored, as in Zeek
    else this.batch.commit();
    return true;
  }

  /** One event from the XSUB; `false` if none waited. */
  readEvent(xsub: Socket): boolean {
    const { batch, o } = this;
    // An event main has no room for is dropped: its format and payload are not even copied.
    const full = o.onloopHwm > 0 && this.waitingOnMain() >= o.onloopHwm;
    const parts = this.#readInto(xsub, Kind.Event, full ? 2 : MESSAGE_FRAMES, EventFrame.Topic, o.maxTopicLength);
    if (parts < 0) return false;
    const fromSelf = batch.frameEquals(EventFrame.Sender, o.idBytes);
    if (parts !== MESSAGE_FRAMES) {
      this.#malformed("xsub-parts", XsubProblem.parts(parts));
    } else if (this.#oversized) {
      this.#malformed("xsub-topic", XsubProblem.topic(o.maxTopicLength));
    } else if (fromSelf) {
      batch.rollback();
    } else if (full) {
      batch.rollback();
      this.onloopDrops++;
      o.report("onloop-drop", XsubProblem.onloopDrop);
    } else {
      batch.commit();
    }
    return true;
  }

  /** One log message from the PULL; `false` if none waited. */
  readLog(pull: Socket): boolean {
    const parts = this.#readInto(pull, Kind.Log, MESSAGE_FRAMES, LogFrame.Sender, this.o.maxTopicLength);
    if (parts < 0) return false;
    if (parts !== MESSAGE_FRAMES) this.#malformed("log-parts", LogProblem.parts(parts));
    else if (this.#oversized) this.#malformed("log-sender", LogProblem.sender(this.o.maxTopicLength));
    else this.batch.commit();
    return true;
  }

  /** Adds the onloop drops counted so far to the shared counter. */
  countDrops(): void {
    if (this.onloopDrops > 0) bump(this.o.state, Counter.OnloopDrops, this.onloopDrops);
    this.onloopDrops = 0;
  }

  /** Frees the message and the batch's C memory. */
  close(): void {
    this.#msg.close();
    this.batch.close();
  }
}
