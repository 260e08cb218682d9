/**
 * @module The Worker that answers ZAP (RFC 27) requests for a CURVE server context: it accepts CURVE
 * clients whose public key is in the allowed set and rejects everyone else, as Zeek's ZAP thread does.
 * Not part of the public API; `_zap.ts` starts and stops it.
 */

import { Context, type ContextHandle, POLLIN, Poller, SocketOption } from "./_zmq.ts";
import { z85Decode } from "./curve.ts";

/** What `_zap.ts` posts to start the handler. */
export interface ZapWorkerStart {
  /** The server's context. */
  context: ContextHandle;
  /** Allowed client public keys, Z85. */
  allowedKeys: string[];
  /** inproc endpoint of the PAIR that carries the stop request. */
  control: string;
}

/** What the worker posts back: `ready` once bound, `stopped` after closing its sockets. */
export type ZapWorkerEvent = { type: "ready" } | { type: "stopped" } | { type: "failed"; message: string };

/** The fixed endpoint libzmq sends ZAP requests to. */
export const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

declare const self: Worker;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

self.onmessage = (event: MessageEvent<ZapWorkerStart>) => {
  const start = event.data;
  const allowed = start.allowedKeys.map(z85Decode);
  const ctx = Context.attach(start.context);
  try {
    const rep = ctx.socket("REP");
    const control = ctx.socket("PAIR");
    rep.setOption(SocketOption.LINGER, 0);
    control.setOption(SocketOption.LINGER, 0);
    rep.bind(ZAP_ENDPOINT);
    control.bind(start.control);
    self.postMessage({ type: "ready" } satisfies ZapWorkerEvent);
    const poller = new Poller([
      { socket: rep, events: POLLIN },
      { socket: control, events: POLLIN },
    ]);
    for (;;) {
      poller.wait(-1);
      if (poller.revents(1) & POLLIN) break;
      if (!(poller.revents(0) & POLLIN)) continue;
      const request = rep.recv();
      if (!request) continue;
      const [version, requestId, , , , mechanism, key] = request;
      const ok =
        request.length >= 7 &&
        new TextDecoder().decode(mechanism) === "CURVE" &&
        allowed.some((k) => sameBytes(k, key ?? new Uint8Array()));
      rep.send([
        version ?? "1.0",
        requestId ?? "",
        ok ? "200" : "400",
        ok ? "OK" : "Invalid client public key",
        "",
        "",
      ]);
    }
    poller.close();
    ctx.close();
    self.postMessage({ type: "stopped" } satisfies ZapWorkerEvent);
  } catch (err: unknown) {
    ctx.close();
    self.postMessage({
      type: "failed",
      message: err instanceof Error ? err.message : String(err),
    } satisfies ZapWorkerEvent);
  }
};
