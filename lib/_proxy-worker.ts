/**
 * @module The Worker that runs the central broker: it binds the XSUB and XPUB sockets in the context
 * created by `proxy.ts`, reports the resolved endpoints, then sits in `zmq_proxy_steerable` (or, without
 * NODROP, in its own loop that counts drops: `_proxy-forward.ts`) until the control socket says
 * `TERMINATE` or the context is shut down. Not part of the public API.
 */

import { forwardCounted } from "./_proxy-forward.ts";
import { Context, type ContextHandle, proxySteerable, type Socket, SocketOption, ZmqError } from "./_zmq.ts";
import { applyLimits, DISCONNECT_EVENTS, type SocketLimits, subscriptionLimit } from "./_zmq-limits.ts";
import { ClusterError } from "./errors.ts";

/** What `proxy.ts` posts to start the broker. */
export interface ProxyWorkerStart {
  /** The broker's context. */
  context: ContextHandle;
  /** XSUB bind endpoint (nodes' XPUBs connect here). */
  xsub: string;
  /** XPUB bind endpoint (nodes' XSUBs connect here). */
  xpub: string;
  /** `ZMQ_XPUB_NODROP` on the XPUB. */
  xpubNodrop: boolean;
  /** The inproc endpoint of the REP control socket. */
  control: string;
  /** CURVE server secret key (Z85), or empty for no encryption. */
  curveSecretKey: string;
  /** Print thread events to stderr. */
  debug: boolean;
  /** `maxMessageSize` (the XSUB) and the heartbeats (both sockets). */
  limits: SocketLimits;
  /** The XPUB's `ZMQ_MAXMSGSIZE` comes from this: it receives nothing but subscriptions. */
  maxTopicLength: number;
  /** A BigInt64Array's memory: [0] counts the overflows without NODROP (see `_proxy-forward.ts`). */
  overflows: SharedArrayBuffer;
  /** Socket monitors (disconnects) bind `<monitor>-xsub` and `<monitor>-xpub`. */
  monitor: string;
  /** HWMs and kernel buffers of the XSUB and XPUB (`listenXsubRcvhwm`, …; -1: the OS default buffer). */
  queues: { xsubRcvhwm: number; xsubRcvbuf: number; xpubSndhwm: number; xpubSndbuf: number };
}

/** What the worker posts back. Every event but `bound` is posted after the worker closed its sockets. */
export type ProxyWorkerEvent =
  | { type: "bound"; xsub: string; xpub: string }
  | { type: "bind-failed"; code: string; message: string }
  | { type: "stopped"; reason: "terminated" | "context-terminated" | "error"; message?: string };

declare const self: Worker;

function debug(enabled: boolean, text: string): void {
  if (enabled) console.error(`[zeromq] proxy thread: ${text}`);
}

/** Binds, or returns the failure to report once the sockets are closed. */
function bindFailure(socket: Socket, endpoint: string): ProxyWorkerEvent | undefined {
  try {
    socket.bind(endpoint);
    return undefined;
  } catch (err: unknown) {
    const code = err instanceof ClusterError ? err.code : "PROXY_BIND_FAILED";
    return { type: "bind-failed", code, message: err instanceof Error ? err.message : String(err) };
  }
}

self.onmessage = (event: MessageEvent<ProxyWorkerStart>) => {
  const start = event.data;
  const post = (e: ProxyWorkerEvent) => self.postMessage(e);
  const ctx = Context.attach(start.context);
  try {
    const xsub = ctx.socket("XSUB");
    const xpub = ctx.socket("XPUB");
    const control = ctx.socket("REP");
    for (const s of [xsub, xpub, control]) s.setOption(SocketOption.LINGER, 0);
    // VERBOSER passes every subscribe and unsubscribe up to the XSUB side, duplicates included, which
    // the nodes' discovery needs (Zeek sets the same since 7.2).
    xpub.setOption(SocketOption.XPUB_VERBOSER, 1);
    xpub.setOption(SocketOption.XPUB_NODROP, start.xpubNodrop);
    // What may wait in the broker: at saturation a kernel buffer left to grow holds a second of events.
    xsub.setOption(SocketOption.RCVHWM, start.queues.xsubRcvhwm);
    xsub.setOption(SocketOption.RCVBUF, start.queues.xsubRcvbuf);
    xpub.setOption(SocketOption.SNDHWM, start.queues.xpubSndhwm);
    xpub.setOption(SocketOption.SNDBUF, start.queues.xpubSndbuf);
    // The XSUB receives the events; the XPUB sends them and receives only subscriptions, which libzmq
    // keeps one trie node per byte of: a subscription beyond maxTopicLength disconnects its sender.
    applyLimits(xsub, "receives", start.limits);
    applyLimits(xpub, "sends", { ...start.limits, maxMessageSize: subscriptionLimit(start.maxTopicLength) });
    xsub.monitor(`${start.monitor}-xsub`, DISCONNECT_EVENTS);
    xpub.monitor(`${start.monitor}-xpub`, DISCONNECT_EVENTS);
    if (start.curveSecretKey) {
      for (const s of [xsub, xpub]) {
        s.setOption(SocketOption.CURVE_SERVER, 1);
        s.setOption(SocketOption.CURVE_SECRETKEY, start.curveSecretKey);
        s.setOption(SocketOption.ZAP_DOMAIN, "zeek-cluster");
      }
    }
    const failure = bindFailure(xsub, start.xsub) ?? bindFailure(xpub, start.xpub);
    if (failure) {
      // Close before reporting: the owner terminates the context as soon as it hears back.
      ctx.close();
      post(failure);
      return;
    }
    control.bind(start.control);
    post({ type: "bound", xsub: xsub.lastEndpoint, xpub: xpub.lastEndpoint });
    debug(start.debug, `forwarding ${xsub.lastEndpoint} (XSUB) <-> ${xpub.lastEndpoint} (XPUB)`);
    const reason = start.xpubNodrop
      ? proxySteerable(xsub, xpub, null, control)
      : forwardCounted(xsub, xpub, control, new BigInt64Array(start.overflows));
    debug(start.debug, `stopped (${reason})`);
    ctx.close();
    post({ type: "stopped", reason });
  } catch (err: unknown) {
    ctx.close();
    const message = err instanceof ZmqError || err instanceof Error ? err.message : String(err);
    post({ type: "stopped", reason: "error", message });
  }
};
