/**
 * @module `zmq_poll` over a fixed set of sockets, built on the native calls of `_zmq.ts`, which
 * re-exports it. Its items are `zmq_pollitem_t` structs in a {@linkcode NativeBuffer}.
 */

import { type NativeBuffer, type PollEntry, poll, pollItems, ZmqError, zmqErrno } from "./_zmq.ts";
import { EINTR, LITTLE_ENDIAN, POLLITEM_EVENTS, POLLITEM_SIZE } from "./_zmq-constants.ts";
import { ClusterError } from "./errors.ts";

/**
 * A reusable `zmq_poll` item array in C memory.
 *
 * @example Waiting for input
 * ```ts
 * import { Context, Poller, POLLIN } from "./_zmq.ts";
 *
 * const ctx = new Context();
 * const pull = ctx.socket("PULL");
 * pull.bind("inproc://poll-example");
 * const poller = new Poller([{ socket: pull, events: POLLIN }]);
 * console.log(poller.wait(10)); // 0: nothing arrived within 10 ms
 * poller.close();
 * ctx.close();
 * ```
 */
export class Poller {
  readonly #items: NativeBuffer;
  readonly #count: number;

  /**
   * @param entries The sockets (or plain file descriptors, such as a socket's `ZMQ_FD` that another
   * thread uses the socket of) and the `POLLIN`/`POLLOUT` bits to wait for.
   */
  constructor(entries: readonly PollEntry[]) {
    this.#items = pollItems(entries);
    this.#count = entries.length;
  }

  /** Changes the events waited for on item `index`. */
  setEvents(index: number, events: number): void {
    this.#items.setInt16(index * POLLITEM_SIZE + POLLITEM_EVENTS, events, LITTLE_ENDIAN);
  }

  /** Waits up to `timeoutMs` (-1: forever) and returns how many items are ready (0 on timeout or EINTR). */
  wait(timeoutMs: number): number {
    if (this.#items.closed) throw new ClusterError("POLLER_CLOSED", "The poller is closed");
    const rc = poll(this.#items, this.#count, timeoutMs);
    if (rc >= 0) return rc;
    const errno = zmqErrno();
    if (errno === EINTR) return 0;
    throw new ZmqError(errno, "zmq_poll failed");
  }

  /** The events that item `index` reported in the last {@linkcode wait}. */
  revents(index: number): number {
    return this.#items.getInt16(index * POLLITEM_SIZE + POLLITEM_EVENTS + 2, LITTLE_ENDIAN);
  }

  /** Frees the C memory. Idempotent. */
  close(): void {
    this.#items.close();
  }
}
