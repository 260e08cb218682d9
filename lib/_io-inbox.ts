/**
 * @module Main's inbox: the batches the I/O Worker posts (and those main reads itself on its turns on
 * the XSUB, `_io-xsub-loan.ts`), processed a few ms at a time in order: events and log messages to
 * their handlers, subscription notices to theirs. Not part of the public API; `_io-thread.ts` owns it.
 */

import { BatchCursor, Kind } from "./_batch.ts";
import { type SharedState, Slot } from "./_channel.ts";
import { Notice } from "./_frames.ts";

/** How long main works through received messages before it lets timers and I/O run again. */
const SLICE_MS = 4;

/** Where received traffic goes (the part of `IoHandlers` the inbox calls). */
export interface InboxHandlers {
  notice(subscribe: boolean, topic: Uint8Array): void;
  event(record: BatchCursor): void;
  log(record: BatchCursor): void | Promise<void>;
}

/** Received batches, waiting and being processed. */
export class Inbox {
  /** Batches received and not yet processed in full; the first is being processed. */
  readonly #batches: BatchCursor[] = [];
  /** Called once every batch received so far has been processed. */
  readonly #whenProcessed: (() => void)[] = [];

  constructor(
    readonly state: SharedState,
    readonly handlers: InboxHandlers,
    /** Called whenever everything received has been processed. */
    readonly idle: () => void,
    /** Called when a slice ends with more to process: main is busy. */
    readonly busy: () => void,
    /** Called whenever log batches stopped waiting on main (`Slot.LogDepth` went down). */
    readonly logsTaken: () => void = () => {},
  ) {}

  /** Queues a batch (its events counted as waiting on main by whoever read them). */
  received(buffer: ArrayBuffer): void {
    this.#batches.push(new BatchCursor(buffer));
    if (this.#batches.length === 1) setImmediate(this.#process);
  }

  // Bun delivers a stream of worker messages (and waitAsync wake-ups) ahead of timers, so a busy
  // worker could starve them. Batches are queued here and processed from setImmediate, which lets
  // timers and I/O run between, and a few ms at a time: a batch holds thousands of messages, which can
  // each cost microseconds (malformed ones too), so a whole batch at once would hold up the event loop.
  // Each event leaves the onloop queue as it is processed, so the drops at `onloop_queue_hwm` stay exact.
  readonly #process = (): void => {
    const deadline = performance.now() + SLICE_MS;
    let events = 0;
    let logs = 0;
    try {
      for (let cursor = this.#batches[0]; cursor; cursor = this.#batches[0]) {
        while (cursor.next()) {
          if (cursor.kind === Kind.Event) {
            events++;
            this.handlers.event(cursor);
          } else if (cursor.kind === Kind.Log) {
            // A log batch counts as waiting until its sink is done with it: that is the logger's backpressure.
            const done = this.handlers.log(cursor);
            if (done) done.then(this.#logDone, this.#logDone);
            else logs++;
          } else
            this.handlers.notice(
              cursor.bytes[cursor.start(0)] === Notice.Subscribe,
              cursor.bytes.subarray(cursor.start(0) + 1, cursor.end(0)),
            );
          if (performance.now() >= deadline) return;
        }
        this.#batches.shift();
      }
    } finally {
      Atomics.sub(this.state.ints, Slot.OnloopDepth, events);
      if (logs > 0) {
        Atomics.sub(this.state.ints, Slot.LogDepth, logs);
        this.logsTaken();
      }
      if (this.#batches.length > 0) {
        this.busy();
        setImmediate(this.#process);
      } else {
        for (const resolve of this.#whenProcessed.splice(0)) resolve();
        this.idle();
      }
    }
  };

  readonly #logDone = (): void => {
    Atomics.sub(this.state.ints, Slot.LogDepth, 1);
    this.logsTaken();
  };

  /** Resolves once every batch received so far has been processed. */
  processed(): Promise<void> {
    if (this.#batches.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#whenProcessed.push(resolve));
  }
}
