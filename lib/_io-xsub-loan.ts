/**
 * @module Main's turns on the node's XSUB. While main has nothing to process it waits for the I/O
 * Worker to lend it the XSUB (`Atomics.waitAsync` on `Slot.XsubOwner`); when events arrive the worker
 * lends it instead of reading them, and main reads what waits with its own {@linkcode MessageReader}
 * (the same checks), processes the batch next (from setImmediate, as the worker's batches) and then
 * gives the socket back. An event arriving at an idle node so skips the worker's copy and `postMessage`,
 * a wake-up of main that costs more than an `Atomics.notify` (docs/performance.md); a busy node's
 * events take the worker's path as before. Not part of the public API; `_io-thread.ts` owns it.
 */

import { type SharedState, Slot, XsubOwner } from "./_channel.ts";
import { Control } from "./_frames.ts";
import type { MessageReader } from "./_io-reader.ts";
import { DONTWAIT, type Socket } from "./_zmq.ts";

const XSUB_BACK = new Uint8Array([Control.XsubBack]);

/** Main's side of the lent XSUB. */
export class XsubLoan {
  #waiting = false;
  #closed = false;
  /**
   * Main keeps the XSUB while it processes what it read, unless that takes longer than a slice: the
   * worker, woken by `XsubBack`, would otherwise compete for the CPU with the handlers (and their
   * replies) on a small machine; a busy main gives it back at once (`release`), so that the worker
   * reads ahead into the onloop queue, with its HWM, as without the loan.
   */
  #holding = false;
  /** Events main read this way. */
  read = 0;

  constructor(
    /** The worker's XSUB, borrowed (`Socket.borrow`). */
    readonly xsub: Socket,
    /** The control PAIR to the worker, for `XsubBack`. */
    readonly control: Socket,
    readonly state: SharedState,
    readonly reader: MessageReader,
    /** Messages main reads per turn at most. */
    readonly limit: number,
    /** Takes a batch main read (its events already counted as waiting on main), to process it next. */
    readonly deliver: (buffer: ArrayBuffer) => void,
    readonly report: (message: string) => void,
  ) {}

  /** Main is busy (a slice of processing ended with more to do): the worker may read the XSUB. */
  release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    this.#giveBack();
  }

  /** Main has nothing to process: wait to be lent the XSUB (once; again after each turn). */
  wait(): void {
    this.release();
    if (this.#closed || this.#waiting) return;
    const ints = this.state.ints;
    if (Atomics.compareExchange(ints, Slot.XsubOwner, XsubOwner.Worker, XsubOwner.MainWaiting) !== XsubOwner.Worker) {
      return;
    }
    this.#waiting = true;
    this.#await();
  }

  #await(): void {
    const result = Atomics.waitAsync(this.state.ints, Slot.XsubOwner, XsubOwner.MainWaiting);
    // Lent before waiting began: still a task of its own (the caller may be processing a batch), after
    // timers and I/O (a stream of microtasks would starve them).
    if (result.async) void result.value.then(this.#lent);
    else setImmediate(this.#lent);
  }

  readonly #lent = (): void => {
    // Bun's waitAsync also resolves "ok" without a notify meant for this wait (seen under load): only
    // the owner slot says whether the XSUB is main's now.
    const owner = Atomics.load(this.state.ints, Slot.XsubOwner);
    if (owner === XsubOwner.MainWaiting && !this.#closed) return this.#await();
    this.#waiting = false;
    if (owner !== XsubOwner.Main) return void (owner === XsubOwner.Worker && this.wait());
    if (this.#closed) return this.#giveBack();
    const { reader } = this;
    try {
      for (let n = 0; n < this.limit && reader.readEvent(this.xsub); n++);
    } catch (err: unknown) {
      reader.batch.rollback();
      this.report(`io: error: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      reader.countDrops();
    }
    if (reader.batch.size === 0) {
      this.#giveBack();
      return this.wait();
    }
    this.#holding = true;
    const taken = reader.batch.take();
    this.read += taken.events;
    Atomics.add(this.state.ints, Slot.OnloopDepth, taken.events);
    this.deliver(taken.buffer);
  };

  #giveBack(): void {
    Atomics.store(this.state.ints, Slot.XsubOwner, XsubOwner.Worker);
    if (!this.control.closed) this.control.send([XSUB_BACK], DONTWAIT);
  }

  /** Stops waiting for turns (before the worker is told to stop); the worker keeps the XSUB. */
  close(): void {
    this.#closed = true;
    const ints = this.state.ints;
    if (this.#holding) this.#giveBack();
    this.#holding = false;
    if (
      Atomics.compareExchange(ints, Slot.XsubOwner, XsubOwner.MainWaiting, XsubOwner.Worker) === XsubOwner.MainWaiting
    ) {
      Atomics.notify(ints, Slot.XsubOwner); // ends the pending wait
    }
    this.reader.close();
    this.xsub.close(); // borrowed: only forgotten here
  }
}
