/**
 * @module The main thread's own sends on the node's XPUB: an event published while nothing of main's
 * waits in the I/O Worker goes out from `publish()` itself, one hop between threads fewer than through
 * the data PAIR and the worker (about 100 µs of latency at low rates, see docs/performance.md), and the
 * worker's CPU for it is saved. The two threads take turns on the XPUB under `Slot.XpubLock`; main
 * only ever tries the lock, and whatever it cannot send at once (the worker has the XPUB, or the XPUB
 * is at its HWM) takes the worker's path as before, which keeps the order and the overflow policy.
 * Not part of the public API; `_io-thread.ts` owns it.
 */

import { type SharedState, tryLockXpub, unlockXpub } from "./_channel.ts";
import { Control } from "./_frames.ts";
import { DONTWAIT, POLLIN, SNDMORE, type Socket } from "./_zmq.ts";

const XPUB_CHECK = new Uint8Array([Control.XpubCheck]);

/** Main's side of the shared XPUB. */
export class DirectXpub {
  #closed = false;
  #checkScheduled = false;
  /** Events sent this way. */
  sent = 0;

  constructor(
    /** The worker's XPUB, borrowed (`Socket.borrow`). */
    readonly xpub: Socket,
    /** The control PAIR to the worker, for `XpubCheck`. */
    readonly control: Socket,
    readonly state: SharedState,
    /** This node's id and format: frames 1 and 2 of every event. */
    readonly sender: Uint8Array,
    readonly format: Uint8Array,
  ) {}

  /**
   * Sends `[topic, sender, format, payload[0, length)]` if the XPUB is free and takes it now; `false`
   * (nothing sent) otherwise. The caller made sure nothing it published earlier still waits.
   */
  trySend(topic: Uint8Array, payload: Uint8Array, length: number): boolean {
    if (this.#closed || !tryLockXpub(this.state)) return false;
    try {
      const x = this.xpub;
      // Only the first frame can meet the HWM. On EAGAIN the worker's path takes the event (and looks
      // again, after libzmq's throttled "room again" commands): no second try here, which under DROP
      // at saturation would cost every event two more calls.
      if (!x.sendFrame(topic, DONTWAIT | SNDMORE)) return false;
      x.sendFrame(this.sender, SNDMORE);
      x.sendFrame(this.format, SNDMORE);
      x.sendPrefix(payload, length, 0);
      this.sent++;
    } finally {
      unlockXpub(this.state);
    }
    if (!this.#checkScheduled) {
      this.#checkScheduled = true;
      queueMicrotask(this.#check);
    }
    return true;
  }

  /**
   * After a run of sends: they may have taken the XPUB's ZMQ_FD signal (libzmq processes commands in
   * `zmq_send`) while subscriptions wait, and the worker sleeps on that descriptor. If the worker has
   * the XPUB now it looks before it sleeps; otherwise tell it when something waits.
   */
  readonly #check = (): void => {
    this.#checkScheduled = false;
    if (this.#closed || !tryLockXpub(this.state)) return;
    let waiting: boolean;
    try {
      waiting = (this.xpub.events() & POLLIN) !== 0;
    } finally {
      unlockXpub(this.state);
    }
    if (waiting) this.control.send([XPUB_CHECK], DONTWAIT);
  };

  /** Stops using the XPUB (before the worker is told to stop, which then keeps it). */
  close(): void {
    this.#closed = true;
    this.xpub.close(); // borrowed: only forgotten here
  }
}
