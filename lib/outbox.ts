/**
 * @module The main thread's queues towards its I/O Worker. Publishes are packed into batches, one
 * inproc message for many events, so the main thread makes one libzmq call per batch instead of four
 * per event; log batches go one message each. When the worker is behind (its PAIR is full) they wait
 * here, bounded under DROP. Not part of the public API; `io-thread.ts` owns them.
 */

import { PUBLISH_BATCH, type SharedState } from "./channel.ts";
import { DONTWAIT, type Socket } from "./zmq.ts";

/** What a queue did with a message. */
export type SendResult = "sent" | "queued" | "dropped";

/** Flush a publish batch at once when it reaches this size; otherwise at the end of the current task. */
const BATCH_BYTES = 32 * 1024;

/** Copies `from[0, length)` to `to` at `at`; small copies in a loop, which beats making a view. */
function copy(from: Uint8Array, length: number, to: Uint8Array, at: number): void {
  if (length > 64) return to.set(length === from.length ? from : from.subarray(0, length), at);
  for (let i = 0; i < length; i++) to[at + i] = from[i]!;
}

/** Sends `bytes` on the PAIR, or says the worker is behind. */
function trySend(socket: Socket, frames: readonly Uint8Array[], state: SharedState, wantDrain: number): boolean {
  if (socket.send(frames, DONTWAIT)) return true;
  // Full: ask for a wake-up, then try again, so that a worker emptying the PAIR meanwhile sees the flag.
  Atomics.store(state.ints, wantDrain, 1);
  // zmq_send processes the worker's "room again" notices at most once a millisecond; reading
  // ZMQ_EVENTS processes them now. Without this a stale EAGAIN could wait for a wake-up forever.
  socket.events();
  return socket.send(frames, DONTWAIT);
}

/** Log batches: one multipart message each, queued here while the worker's PAIR is full. */
export class Outbox {
  socket: Socket | undefined;
  pending: Uint8Array[][] = [];
  /** Batches waiting here beyond which a new one is dropped (DROP; the writer counts it). */
  dropLimit: number = Infinity;
  #drained: (() => void)[] = [];

  constructor(readonly state: SharedState, readonly wantDrain: number) {}

  send(frames: Uint8Array[], now: boolean): SendResult {
    if (now && this.pending.length === 0 && this.socket?.send(frames, DONTWAIT)) return "sent";
    if (this.pending.length >= this.dropLimit) return "dropped";
    this.pending.push(frames);
    if (now) this.flush();
    return "queued";
  }

  flush(): void {
    const socket = this.socket;
    if (!socket) return;
    while (this.pending.length > 0) {
      if (!trySend(socket, this.pending[0]!, this.state, this.wantDrain)) return;
      this.pending.shift();
    }
    Atomics.store(this.state.ints, this.wantDrain, 0);
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  drain(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}

/**
 * Publishes, packed into batches: `[u8 PUBLISH_BATCH]`, then per event `[u16 topic length][topic]
 * [u32 payload length][payload]`, little-endian. The worker adds the sender and format frames.
 */
export class PublishOutbox {
  socket: Socket | undefined;
  /** Batches the PAIR did not take yet: `buf[0, length)`, with their event counts. */
  readonly pending: { buf: Uint8Array; length: number; events: number }[] = [];
  /** Batch buffers to reuse: a publisher held back by BLOCK would otherwise make garbage at full speed. */
  readonly #spare: Uint8Array[] = [];
  localDrops = 0;
  #pendingEvents = 0;
  #buf: Uint8Array = new Uint8Array(BATCH_BYTES * 2);
  #view: DataView = new DataView(this.#buf.buffer);
  #pos = 1;
  #events = 0;
  #scheduled = false;
  #live = false;
  #drained: (() => void)[] = [];
  readonly #flushSoon = () => {
    this.#scheduled = false;
    if (this.#live) this.flush();
  };

  /** Events waiting here beyond which a new one is dropped (DROP: `xpubSndhwm`). */
  dropLimit: number = Infinity;

  constructor(readonly state: SharedState, readonly wantDrain: number) {
    this.#buf[0] = PUBLISH_BATCH;
  }

  /** Events waiting here (in the open batch or in batches the PAIR did not take). */
  get waiting(): number {
    return this.#pendingEvents + this.#events;
  }

  /**
   * Adds an event whose payload is `payload[0, length)`. `"sent"`: it goes out with the current batch;
   * `"queued"`: the worker is behind and it waits (BLOCK: await {@linkcode drain}); `"dropped"`: under
   * DROP the queue was at its limit.
   * With `now` false (the node is not running yet) it waits for {@linkcode flush}.
   */
  publish(topic: Uint8Array, payload: Uint8Array, length: number, now: boolean): SendResult {
    if (this.waiting >= this.dropLimit) {
      this.localDrops++;
      return "dropped";
    }
    const need = 6 + topic.length + length;
    if (this.#pos + need > this.#buf.length) {
      if (this.#events > 0) this.#close();
      if (need + 1 > this.#buf.length) this.#grow(need + 1);
    }
    const view = this.#view;
    view.setUint16(this.#pos, topic.length, true);
    copy(topic, topic.length, this.#buf, this.#pos + 2);
    this.#pos += 2 + topic.length;
    view.setUint32(this.#pos, length, true);
    copy(payload, length, this.#buf, this.#pos + 4);
    this.#pos += 4 + length;
    this.#events++;
    this.#live = now;
    if (!now) return "queued";
    if (this.#pos >= BATCH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
    return this.pending.length === 0 ? "sent" : "queued";
  }

  #grow(size: number): void {
    const grown = new Uint8Array(Math.max(size, this.#buf.length * 2));
    grown.set(this.#buf.subarray(0, this.#pos));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Ends the open batch: onto the PAIR if it takes it (libzmq copies it), else into `pending`. */
  #close(): void {
    const sent = this.pending.length === 0 && this.socket && trySend(this.socket, [this.#buf.subarray(0, this.#pos)], this.state, this.wantDrain);
    if (!sent) {
      this.pending.push({ buf: this.#buf, length: this.#pos, events: this.#events });
      this.#pendingEvents += this.#events;
      this.#useBuffer(this.#spare.pop() ?? new Uint8Array(BATCH_BYTES * 2));
    } else if (this.#buf.length > BATCH_BYTES * 8) {
      this.#useBuffer(new Uint8Array(BATCH_BYTES * 2)); // after one huge event, let the big buffer go
    }
    this.#pos = 1;
    this.#events = 0;
  }

  #useBuffer(buf: Uint8Array): void {
    this.#buf = buf;
    this.#buf[0] = PUBLISH_BATCH;
    this.#view = new DataView(buf.buffer);
  }

  /** Hands everything waiting to the worker, as far as its PAIR takes it. */
  flush(): void {
    this.#live = true;
    const socket = this.socket;
    if (!socket) return;
    while (this.pending.length > 0) {
      const { buf, length } = this.pending[0]!;
      if (!trySend(socket, [buf.subarray(0, length)], this.state, this.wantDrain)) return;
      this.#pendingEvents -= this.pending.shift()!.events;
      if (buf.length === BATCH_BYTES * 2 && this.#spare.length < 4) this.#spare.push(buf);
    }
    if (this.#events > 0) this.#close();
    if (this.pending.length > 0) return;
    Atomics.store(this.state.ints, this.wantDrain, 0);
    for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once every event waiting here has been handed to the worker. */
  drain(): Promise<void> {
    if (this.#events > 0 && this.#live) this.flush();
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Forgets everything waiting (at shutdown) and returns how many events that was. */
  discard(): number {
    const lost = this.waiting;
    this.pending.length = 0;
    this.#pendingEvents = 0;
    this.#pos = 1;
    this.#events = 0;
    return lost;
  }
}
