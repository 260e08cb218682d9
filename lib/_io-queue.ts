/**
 * @module The main thread's queues towards its I/O Worker, one class for both PAIRs: what the worker's
 * PAIR takes goes at once (libzmq copies it), what it does not take yet waits here, and `drain()`
 * resolves once nothing waits. Publishes are packed into batches first (`_frames.ts`), one inproc
 * message for many events. Not part of the public API; `_io-thread.ts` owns them.
 */

import { type SendResult, type SharedState, Slot } from "./_channel.ts";
import { PublishBatch, readLogHeader } from "./_frames.ts";
import { DONTWAIT, type Socket } from "./_zmq.ts";

/** Hand a publish batch over at once when it reaches this size; otherwise at the end of the current task. */
const BATCH_BYTES = 32 * 1024;
/** Messages for the worker on one PAIR: sent at once while it keeps up, queued here while it is behind. */
export class PairQueue {
  socket: Socket | undefined;
  /** What waits, with how many events (or batches) each holds and what to do once it went out. */
  readonly pending: { frames: Uint8Array[]; weight: number; sent: (() => unknown) | undefined }[] = [];
  /** The sum of the weights of what waits. */
  waiting = 0;
  /** Messages the PAIR took, mod 2^32 as an Int32 (compared with the worker's `Slot.BatchesDone`). */
  handed = 0;
  #drained: (() => void)[] = [];

  constructor(
    readonly state: SharedState,
    readonly wantDrain: number,
  ) {}

  /** Sends now if nothing waits and the PAIR takes it (libzmq copies it: the caller keeps the bytes). */
  sendNow(frames: readonly Uint8Array[]): boolean {
    return this.pending.length === 0 && this.socket !== undefined && this.#trySend(frames);
  }

  /** Queues; `sent` runs once it went out. */
  push(frames: Uint8Array[], weight: number, sent?: () => unknown): void {
    this.pending.push({ frames, weight, sent });
    this.waiting += weight;
  }

  #trySend(frames: readonly Uint8Array[]): boolean {
    const socket = this.socket!;
    if (socket.send(frames, DONTWAIT)) return this.#took();
    // Full: ask for a wake-up, then try again, so that a worker emptying the PAIR meanwhile sees the flag.
    Atomics.store(this.state.ints, this.wantDrain, 1);
    // zmq_send processes the worker's "room again" notices at most once a millisecond; reading
    // ZMQ_EVENTS processes them now. Without this a stale EAGAIN could wait for a wake-up forever.
    socket.events();
    return socket.send(frames, DONTWAIT) && this.#took();
  }

  #took(): true {
    this.handed = (this.handed + 1) | 0;
    return true;
  }

  /** Hands over what waits as far as the PAIR takes it; `true` once nothing waits. */
  flush(): boolean {
    if (!this.socket) return false;
    while (this.pending.length > 0) {
      if (!this.#trySend(this.pending[0]!.frames)) return false;
      const done = this.pending.shift()!;
      this.waiting -= done.weight;
      done.sent?.();
    }
    Atomics.store(this.state.ints, this.wantDrain, 0);
    for (const resolve of this.#drained.splice(0)) resolve();
    return true;
  }

  /** Resolves once nothing waits. */
  drain(): Promise<void> {
    return this.pending.length === 0 ? Promise.resolve() : new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Forgets what waits (at shutdown) and returns it. */
  discard(): { frames: Uint8Array[]; weight: number }[] {
    this.waiting = 0;
    return this.pending.splice(0);
  }

  /** Discards what waits, as log batches (`logHeader` first): their `[seq, records]`. */
  discardLogs(): [number, number][] {
    return this.discard().map(({ frames }): [number, number] => {
      const { records, seq } = readLogHeader(frames[0]!);
      return [seq, records];
    });
  }
}

/** Publishes, packed into batches on the data PAIR. */
export class Publishes {
  readonly queue: PairQueue;
  /** Events waiting beyond which a new one is dropped (DROP: `xpubSndhwm`). */
  dropLimit: number = Infinity;
  localDrops = 0;
  #batch = new PublishBatch(new Uint8Array(BATCH_BYTES * 2));
  /** Batch buffers to reuse: a publisher held back by BLOCK would otherwise make garbage at full speed. */
  readonly #spare: Uint8Array[] = [];
  #drained: (() => void)[] = [];
  #scheduled = false;
  #live = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    if (this.#live) this.flush();
  };

  constructor(state: SharedState) {
    this.queue = new PairQueue(state, Slot.WantDrain);
  }

  /**
   * Whether nothing published waits, here or in the worker (every batch handed over is done): a new
   * event may then go out on the XPUB from main without overtaking one.
   */
  get idle(): boolean {
    return (
      this.queue.pending.length === 0 &&
      this.#batch.events === 0 &&
      Atomics.load(this.queue.state.ints, Slot.BatchesDone) === this.queue.handed
    );
  }

  /** Events waiting here (in the open batch or in batches the PAIR did not take). */
  get waiting(): number {
    return this.queue.waiting + this.#batch.events;
  }

  /**
   * Under DROP, whether a new event cannot be queued: the local queue is at `dropLimit`, or the worker
   * holds an event the XPUB did not take. It is then counted as dropped; the caller skips encoding it.
   */
  full(): boolean {
    if (this.dropLimit === Infinity) return false;
    if (this.waiting < this.dropLimit && Atomics.load(this.queue.state.ints, Slot.XpubFull) === 0) return false;
    this.localDrops++;
    return true;
  }

  /** Adds an event (payload `payload[0, length)`); with `now` false it waits for {@linkcode flush}. */
  publish(topic: Uint8Array, payload: Uint8Array, length: number, now: boolean): SendResult {
    if (this.waiting >= this.dropLimit) return (this.localDrops++, "dropped");
    const size = PublishBatch.size(topic.length, length);
    if (!this.#batch.fits(size)) {
      if (this.#batch.events > 0) this.#close();
      if (!this.#batch.fits(size)) this.#batch.reset(new Uint8Array(Math.max(size + 1, BATCH_BYTES * 2)));
    }
    this.#batch.add(topic, payload, length);
    this.#live = now;
    if (!now) return "queued";
    if (this.#batch.length >= BATCH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushSoon);
    }
    return this.queue.pending.length === 0 ? "sent" : "queued";
  }

  /** Ends the open batch: onto the PAIR if it takes it, else it waits in its buffer. */
  #close(): void {
    const { bytes, length, events } = this.#batch;
    const standard = bytes.length === BATCH_BYTES * 2;
    if (this.queue.sendNow([bytes.subarray(0, length)])) {
      // libzmq copied it: the buffer is free again (after one huge event, a standard one takes over).
      return this.#batch.reset(standard ? bytes : new Uint8Array(BATCH_BYTES * 2));
    }
    this.queue.push(
      [bytes.subarray(0, length)],
      events,
      () => standard && this.#spare.length < 4 && this.#spare.push(bytes),
    );
    this.#batch.reset(this.#spare.pop() ?? new Uint8Array(BATCH_BYTES * 2));
  }

  /** Hands everything waiting to the worker, as far as its PAIR takes it. */
  flush(): void {
    this.#live = true;
    if (!this.queue.flush()) return;
    if (this.#batch.events > 0) this.#close();
    if (this.queue.pending.length === 0) for (const resolve of this.#drained.splice(0)) resolve();
  }

  /** Resolves once every event waiting here has been handed to the worker. */
  drain(): Promise<void> {
    if (this.#batch.events > 0 && this.#live) this.flush();
    if (this.waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Forgets everything waiting (at shutdown) and returns how many events that was. */
  discard(): number {
    const lost = this.waiting;
    this.queue.discard();
    this.#batch.reset();
    return lost;
  }
}
