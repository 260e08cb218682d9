/**
 * @module The broker's own forwarding loop, used instead of `zmq_proxy_steerable` when the broker runs
 * without `listenXpubNodrop`, so that what it drops is seen. Not part of the public API.
 *
 * libzmq's XPUB without NODROP (`xpub.cpp`, `dist.cpp` in 4.3.5) writes a message to every matching
 * subscriber pipe that has room and silently skips the full ones; nothing tells the sender. With
 * NODROP, a send to a full matching pipe fails with `EAGAIN` instead and writes nothing. So the loop
 * keeps NODROP on and sends with `DONTWAIT`. On `EAGAIN` it first waits up to `OVERFLOW_WAIT_MS` for
 * room (a subscriber that is only momentarily full loses nothing); then it turns NODROP off for that
 * one message (every subscriber with room gets it, the full ones miss it), turns it back on, and counts
 * one overflow.
 *
 * What libzmq does next is invisible to any caller: a pipe that refused a write leaves the
 * distributor's eligible set until its reader has drained it to half its HWM (`dist_t::write`,
 * `dist_t::match`, `pipe_t::read`), and the messages meanwhile skip that subscriber without an error.
 * Which of them matched it is not knowable either. So the count is of overflows, each of which lost at
 * least one message for some subscriber: a lower bound of the drops that is 0 exactly when nothing
 * was dropped.
 */

import { DONTWAIT, ETERM, Message, POLLIN, Poller, SNDMORE, type Socket, SocketOption, ZmqError } from "./_zmq.ts";

/** Messages forwarded per socket before the loop looks at the other sockets (zmq_proxy's burst). */
const BURST = 1000;
/** How long a message waits for a full subscriber before it is dropped for it. */
export const OVERFLOW_WAIT_MS = 10;
const encoder = new TextEncoder();

/** The 8 counters of `STATISTICS`, as zmq_proxy keeps them: frames and bytes, per side and direction. */
class Statistics {
  readonly values: number[] = [0, 0, 0, 0, 0, 0, 0, 0];

  /** Frames and bytes received on one side (0: frontend, 4: backend) and sent on the other. */
  count(from: 0 | 4, to: 0 | 4, size: number): void {
    const v = this.values;
    v[from]!++;
    v[from + 1]! += size;
    v[to + 2]!++;
    v[to + 3]! += size;
  }

  /** The reply to `STATISTICS`: 8 frames of a host-order u64 each. */
  frames(): Uint8Array[] {
    return this.values.map((n) => new Uint8Array(new BigUint64Array([BigInt(n)]).buffer));
  }
}

/**
 * Forwards XSUB → XPUB (events) and XPUB → XSUB (subscriptions) until the control socket (a REP)
 * receives `TERMINATE` or the context is shut down. `STATISTICS` is answered as zmq_proxy does; every
 * other command gets an empty reply. Overflows are added to `overflows[0]`.
 */
export function forwardCounted(
  xsub: Socket,
  xpub: Socket,
  control: Socket,
  overflows: BigInt64Array,
): "terminated" | "context-terminated" {
  const poller = new Poller([
    { socket: control, events: POLLIN },
    { socket: xpub, events: POLLIN },
    { socket: xsub, events: POLLIN },
  ]);
  const msg = new Message();
  const stats = new Statistics();
  xpub.setOption(SocketOption.XPUB_NODROP, 1);
  xpub.setOption(SocketOption.SNDTIMEO, OVERFLOW_WAIT_MS);

  /** Moves the rest of a multipart message whose first frame went out (or was dropped). */
  const rest = (from: Socket, to: Socket, sides: [0 | 4, 0 | 4]) => {
    while (msg.more) {
      const size = msg.receiveSize(from, 0); // the whole message is there once its first frame is
      stats.count(sides[0], sides[1], size);
      msg.sendTo(to, msg.more ? SNDMORE : 0);
    }
  };

  /** One event XSUB → XPUB; `false` if none waited. */
  const event = (): boolean => {
    const size = msg.receiveSize(xsub, DONTWAIT);
    if (size < 0) return false;
    stats.count(0, 4, size);
    const flags = msg.more ? SNDMORE : 0;
    // A matching subscriber is full: wait a little (SNDTIMEO), then deliver to the others and count it.
    if (!msg.sendTo(xpub, flags | DONTWAIT) && !msg.sendTo(xpub, flags)) {
      xpub.setOption(SocketOption.XPUB_NODROP, 0);
      try {
        msg.sendTo(xpub, flags | DONTWAIT);
      } finally {
        xpub.setOption(SocketOption.XPUB_NODROP, 1);
      }
      Atomics.add(overflows, 0, 1n);
    }
    rest(xsub, xpub, [0, 4]);
    return true;
  };

  /** One subscription XPUB → XSUB (an XSUB send never blocks); `false` if none waited. */
  const subscription = (): boolean => {
    const size = msg.receiveSize(xpub, DONTWAIT);
    if (size < 0) return false;
    stats.count(4, 0, size);
    msg.sendTo(xsub, msg.more ? SNDMORE : 0);
    rest(xpub, xsub, [4, 0]);
    return true;
  };

  /** Answers one command; `true` on TERMINATE. */
  const command = (): boolean => {
    const frames = control.recv(DONTWAIT);
    if (!frames) return false;
    const name = new TextDecoder().decode(frames[0]);
    control.send(name === "STATISTICS" ? stats.frames() : [encoder.encode("")]);
    return name === "TERMINATE";
  };

  try {
    for (;;) {
      poller.wait(-1);
      if (poller.revents(0) & POLLIN && command()) return "terminated";
      if (poller.revents(1) & POLLIN) for (let n = 0; n < BURST && subscription(); n++);
      if (poller.revents(2) & POLLIN) for (let n = 0; n < BURST && event(); n++);
    }
  } catch (err: unknown) {
    if (err instanceof ZmqError && err.errno === ETERM) return "context-terminated";
    throw err;
  } finally {
    poller.close();
    msg.close();
  }
}
