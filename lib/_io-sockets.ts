/**
 * @module The sockets of a node's I/O Worker, created and configured with Zeek's options. Not part of
 * the public API; `_io-worker.ts` opens them.
 */

import { Counter, DATA_PAIR_HWM, type IoWorkerStart } from "./_channel.ts";
import { type Monitor, monitorEvents } from "./_io-monitors.ts";
import { type Context, type Socket, SocketOption } from "./_zmq.ts";
import { applyLimits } from "./_zmq-limits.ts";

/** Blocking sends of a BLOCK policy wait this long before serving the other sockets again. */
const BLOCK_WAIT_MS = 10;

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
  /** Socket monitors: handshake failures of the broker connections, disconnects of every network socket. */
  monitors: Monitor[];
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
  // The XPUB sends the events and receives subscriptions; the XSUB the other way round.
  applyLimits(xpub, "sends", o);
  const xsub = ctx.socket("XSUB");
  xsub.setOption(SocketOption.LINGER, 0);
  xsub.setOption(SocketOption.RCVHWM, o.xsubRcvhwm);
  xsub.setOption(SocketOption.RCVBUF, o.xsubRcvbuf);
  applyLimits(xsub, "receives", o);
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
    applyLimits(push, "sends", o);
    curveClient(push, cfg.curve);
  }
  let pull: Socket | undefined;
  if (cfg.logListen !== "") {
    pull = ctx.socket("PULL");
    pull.setOption(SocketOption.LINGER, 0);
    pull.setOption(SocketOption.RCVHWM, o.logRcvhwm);
    pull.setOption(SocketOption.RCVBUF, o.logRcvbuf);
    applyLimits(pull, "receives", o);
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
  // Handshake failures (CURVE on one side only, a wrong key) and disconnects are only visible to a
  // socket monitor. The loggers' handshakes are not watched: a PUSH to a wrong logger waits, as before.
  const monitors: Monitor[] = [];
  const watched: [Socket | undefined, string, string, Counter, boolean][] = [
    [xpub, "xpub", cfg.xpubEndpoint, Counter.XpubDisconnects, true],
    [xsub, "xsub", cfg.xsubEndpoint, Counter.XsubDisconnects, true],
    [push, "push", cfg.logConnect.join(","), Counter.PushDisconnects, false],
    [pull, "pull", cfg.logListen, Counter.PullDisconnects, false],
  ];
  for (const [socket, name, endpoint, disconnects, broker] of watched) {
    if (!socket || endpoint === "") continue; // a broker connection main makes itself
    const address = `${cfg.controlEndpoint}-monitor-${name}`;
    socket.monitor(address, monitorEvents(broker, broker));
    const monitor = ctx.socket("PAIR");
    monitor.setOption(SocketOption.LINGER, 0);
    monitor.setOption(SocketOption.RCVHWM, 0); // every event is read: none may be dropped uncounted
    monitor.connect(address);
    const connects = name === "xpub" ? Counter.XpubConnects : name === "xsub" ? Counter.XsubConnects : undefined;
    monitors.push({ monitor, socket, endpoint, disconnects, connects, reconnect: broker });
  }
  if (cfg.xpubEndpoint !== "") xpub.connect(cfg.xpubEndpoint);
  if (cfg.xsubEndpoint !== "") xsub.connect(cfg.xsubEndpoint);
  for (const endpoint of cfg.logConnect) push!.connect(endpoint);
  return { data, logs, control, xpub, xsub, push, pull, monitors };
}
