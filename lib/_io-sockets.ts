/**
 * @module The sockets of a node's I/O Worker, created and configured with Zeek's options. Not part of
 * the public API; `_io-worker.ts` opens them.
 */

import { DATA_PAIR_HWM, type IoWorkerStart } from "./_channel.ts";
import { type Context, type Socket, SocketOption } from "./_zmq.ts";

/** Blocking sends of a BLOCK policy wait this long before serving the other sockets again. */
const BLOCK_WAIT_MS = 10;
/** ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | _PROTOCOL | _AUTH */
const HANDSHAKE_FAILED = 0x0800 | 0x2000 | 0x4000;

/** Every socket of the worker. */
export interface WorkerSockets {
  /** Publishes from main. */
  data: Socket;
  /** Log batches from main. */
  logs: Socket;
  /** Subscription changes and stop requests from main. */
  control: Socket;
  xpub: Socket;
  xsub: Socket;
  /** To the loggers, if there are logger endpoints. */
  push: Socket | undefined;
  /** Log writes from other nodes, on a logger. */
  pull: Socket | undefined;
  /** Socket monitors watching the broker connections for handshake failures, with their endpoint. */
  monitors: [Socket, string][];
}

function curveClient(socket: Socket, curve: IoWorkerStart["curve"]): void {
  if (!curve) return;
  socket.setOption(SocketOption.CURVE_SERVERKEY, curve.serverKey);
  socket.setOption(SocketOption.CURVE_PUBLICKEY, curve.publicKey);
  socket.setOption(SocketOption.CURVE_SECRETKEY, curve.secretKey);
}

/** Creates, configures, binds and connects the worker's sockets. Throws on a bind or connect failure. */
export function openSockets(ctx: Context, cfg: IoWorkerStart): WorkerSockets {
  const o = cfg.socketOptions;
  const data = ctx.socket("PAIR");
  const logs = ctx.socket("PAIR");
  const control = ctx.socket("PAIR");
  control.setOption(SocketOption.RCVHWM, 0);
  data.setOption(SocketOption.RCVHWM, DATA_PAIR_HWM);
  const xpub = ctx.socket("XPUB");
  xpub.setOption(SocketOption.LINGER, o.lingerMs);
  xpub.setOption(SocketOption.XPUB_NODROP, o.xpubNodrop);
  xpub.setOption(SocketOption.XPUB_VERBOSE, 1);
  xpub.setOption(SocketOption.SNDHWM, o.xpubSndhwm);
  xpub.setOption(SocketOption.SNDBUF, o.xpubSndbuf);
  xpub.setOption(SocketOption.SNDTIMEO, BLOCK_WAIT_MS);
  const xsub = ctx.socket("XSUB");
  xsub.setOption(SocketOption.LINGER, 0);
  xsub.setOption(SocketOption.RCVHWM, o.xsubRcvhwm);
  xsub.setOption(SocketOption.RCVBUF, o.xsubRcvbuf);
  curveClient(xpub, cfg.curve);
  curveClient(xsub, cfg.curve);
  let push: Socket | undefined;
  if (cfg.logConnect.length > 0) {
    push = ctx.socket("PUSH");
    push.setOption(SocketOption.LINGER, o.lingerMs);
    push.setOption(SocketOption.SNDHWM, o.logSndhwm);
    push.setOption(SocketOption.SNDBUF, o.logSndbuf);
    push.setOption(SocketOption.IMMEDIATE, o.logImmediate);
    push.setOption(SocketOption.SNDTIMEO, BLOCK_WAIT_MS);
    curveClient(push, cfg.curve);
  }
  let pull: Socket | undefined;
  if (cfg.logListen !== "") {
    pull = ctx.socket("PULL");
    pull.setOption(SocketOption.LINGER, 0);
    pull.setOption(SocketOption.RCVHWM, o.logRcvhwm);
    pull.setOption(SocketOption.RCVBUF, o.logRcvbuf);
    if (cfg.curveServerKey) {
      pull.setOption(SocketOption.CURVE_SERVER, 1);
      pull.setOption(SocketOption.CURVE_SECRETKEY, cfg.curveServerKey);
      pull.setOption(SocketOption.ZAP_DOMAIN, "zeek-cluster");
    }
    pull.bind(cfg.logListen);
  }
  data.connect(cfg.dataEndpoint);
  logs.connect(cfg.logEndpoint);
  control.connect(cfg.controlEndpoint);
  // Handshake failures (CURVE on one side only, a wrong key) are only visible to a socket monitor.
  const monitors: [Socket, string][] = [];
  for (const [socket, name, endpoint] of [
    [xpub, "xpub", cfg.xpubEndpoint],
    [xsub, "xsub", cfg.xsubEndpoint],
  ] as const) {
    const address = `${cfg.controlEndpoint}-monitor-${name}`;
    socket.monitor(address, HANDSHAKE_FAILED);
    const monitor = ctx.socket("PAIR");
    monitor.setOption(SocketOption.LINGER, 0);
    monitor.connect(address);
    monitors.push([monitor, endpoint]);
  }
  xpub.connect(cfg.xpubEndpoint);
  xsub.connect(cfg.xsubEndpoint);
  for (const endpoint of cfg.logConnect) push!.connect(endpoint);
  return { data, logs, control, xpub, xsub, push, pull, monitors };
}
