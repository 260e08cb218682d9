/**
 * @module A node's I/O Worker. It owns every socket of the node (XPUB and XSUB to the broker, the two
 * inproc PAIRs from the main thread) and sits in `zmq_poll`, so the main thread never waits on libzmq.
 *
 * - Publishes arrive on the data PAIR and go to the XPUB. At the HWM, DROP discards and counts
 *   (`xpub_drops`); BLOCK counts a block (`xpub_blocks`) and waits in a blocking send with a 10 ms
 *   timeout, reading the XSUB between tries, so incoming traffic keeps flowing while it waits.
 * - Events from the XSUB and subscription notices from the XPUB are copied into one batch, handed to
 *   main whenever the sockets run dry. Events beyond `onloop_queue_hwm` waiting on main are dropped
 *   (`onloop_drops`); with a HWM of 0 the worker stops reading the XSUB instead, so nothing is lost and
 *   memory stays bounded. Notices always pass.
 */

import {
  BatchWriter,
  bump,
  Counter,
  createSharedState,
  CTRL_ABORT,
  CTRL_XSUB_UPDATE,
  DATA_TERMINATE,
  type IoWorkerEvent,
  type IoWorkerStart,
  Kind,
  Slot,
  TERMINATE_CONTEXT,
} from "./channel.ts";
import { Context, DONTWAIT, ETERM, Message, Poller, POLLIN, SNDMORE, type Socket, SocketOption, ZmqError } from "./zmq.ts";

declare const self: Worker;

const BLOCK_WAIT_MS = 10;
const FLUSH_BYTES = 512 * 1024;
const TERMINATE = new TextEncoder().encode(DATA_TERMINATE);
const [DATA, CONTROL, XPUB, XSUB, MONITORS] = [0, 1, 2, 3, 4];
/** ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | _PROTOCOL | _AUTH */
const HANDSHAKE_FAILED = 0x0800 | 0x2000 | 0x4000;

function post(event: IoWorkerEvent, transfer?: ArrayBuffer[]): void {
  self.postMessage(event, transfer ? { transfer } : undefined);
}

let started: IoWorkerStart | undefined;

self.onmessage = (event: MessageEvent<IoWorkerStart | typeof TERMINATE_CONTEXT>) => {
  if (event.data === TERMINATE_CONTEXT) {
    // Main has closed its sockets: this thread is the last user and may wait out the linger.
    if (started) Context.terminate(started.context);
    post({ type: "terminated" });
    return;
  }
  started = event.data;
  run(started);
};

function run(cfg: IoWorkerStart): void {
  const state = createSharedState(cfg.shared);
  const ctx = Context.attach(cfg.context);
  const reported = new Set<string>();
  const report = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    post({ type: "report", key, message });
  };
  const debug = (text: string) => cfg.debug && console.error(`[zeromq] io thread ${cfg.nodeId}: ${text}`);
  let data: Socket, control: Socket, xpub: Socket, xsub: Socket;
  const monitors: [Socket, string][] = [];
  try {
    data = ctx.socket("PAIR");
    control = ctx.socket("PAIR");
    xpub = ctx.socket("XPUB");
    xsub = ctx.socket("XSUB");
    const o = cfg.socketOptions;
    xpub.setOption(SocketOption.LINGER, o.lingerMs);
    xpub.setOption(SocketOption.XPUB_NODROP, o.xpubNodrop);
    xpub.setOption(SocketOption.XPUB_VERBOSE, 1);
    xpub.setOption(SocketOption.SNDHWM, o.xpubSndhwm);
    xpub.setOption(SocketOption.SNDBUF, o.xpubSndbuf);
    xpub.setOption(SocketOption.SNDTIMEO, BLOCK_WAIT_MS);
    xsub.setOption(SocketOption.LINGER, 0);
    xsub.setOption(SocketOption.RCVHWM, o.xsubRcvhwm);
    xsub.setOption(SocketOption.RCVBUF, o.xsubRcvbuf);
    for (const s of [xpub, xsub]) {
      if (!cfg.curve) continue;
      s.setOption(SocketOption.CURVE_SERVERKEY, cfg.curve.serverKey);
      s.setOption(SocketOption.CURVE_PUBLICKEY, cfg.curve.publicKey);
      s.setOption(SocketOption.CURVE_SECRETKEY, cfg.curve.secretKey);
    }
    control.setOption(SocketOption.RCVHWM, 0);
    data.connect(cfg.dataEndpoint);
    control.connect(cfg.controlEndpoint);
    // Handshake failures (CURVE on one side only, a wrong key) are only visible to a socket monitor.
    for (const [socket, name, endpoint] of [[xpub, "xpub", cfg.xpubEndpoint], [xsub, "xsub", cfg.xsubEndpoint]] as const) {
      const address = `${cfg.controlEndpoint}-monitor-${name}`;
      socket.monitor(address, HANDSHAKE_FAILED);
      const monitor = ctx.socket("PAIR");
      monitor.setOption(SocketOption.LINGER, 0);
      monitor.connect(address);
      monitors.push([monitor, endpoint]);
    }
    xpub.connect(cfg.xpubEndpoint);
    xsub.connect(cfg.xsubEndpoint);
  } catch (err: unknown) {
    ctx.close();
    post({ type: "failed", message: err instanceof Error ? err.message : String(err) });
    return;
  }
  post({ type: "ready" });
  debug(`started, XPUB -> ${cfg.xpubEndpoint}, XSUB -> ${cfg.xsubEndpoint}`);

  const poller = new Poller([
    { socket: data, events: POLLIN },
    { socket: control, events: POLLIN },
    { socket: xpub, events: POLLIN },
    { socket: xsub, events: POLLIN },
    ...monitors.map(([socket]) => ({ socket, events: POLLIN })),
  ]);
  let msg = new Message();
  let held = new Message(); // the first frame of a publish waiting for XPUB room (BLOCK)
  const batch = new BatchWriter();
  const idBytes = new TextEncoder().encode(cfg.nodeId);
  const limit = cfg.pollMaxMessages || Infinity;
  const hwm = cfg.onloopQueueHwm;
  const flushEvents = hwm > 0 ? Math.max(1, Math.min(8192, Math.floor(hwm / 2))) : 8192;
  let blocked = false;
  let xsubPaused = false;
  let terminating = false;
  let aborted = false;

  const flush = () => {
    if (batch.size === 0) return;
    const { buffer, events } = batch.take();
    Atomics.add(state.ints, Slot.OnloopDepth, events);
    post({ type: "batch", buffer, events }, [buffer]);
  };
  const waitingOnMain = () => Atomics.load(state.ints, Slot.OnloopDepth) + batch.events;
  // The first frame of a publish is in `msg` and has more frames behind it.
  const discardRest = () => {
    while (msg.receive(data, DONTWAIT) && msg.more);
  };
  // Frames after the first never hit the HWM: libzmq checks it once per message.
  const forwardRest = () => {
    for (;;) {
      if (!msg.receive(data, DONTWAIT)) return report("inproc-partial", "inproc: error: publish ended early");
      const more = msg.more;
      if (!msg.sendTo(xpub, more ? SNDMORE : 0)) report("xpub-partial", "xpub: error: could not send the rest of a message");
      if (!more) return;
    }
  };

  const readData = (): boolean => {
    if (!msg.receive(data, DONTWAIT)) return false;
    if (!msg.more) {
      if (msg.equals(TERMINATE)) {
        terminating = true;
      } else {
        bump(state, Counter.MsgErrors);
        report("inproc", "inproc: error: expected a publish or terminate");
      }
      return true;
    }
    // On EAGAIN, ZMQ_EVENTS processes libzmq's throttled "room again" commands before we decide.
    if (msg.sendTo(xpub, DONTWAIT | SNDMORE) || (xpub.events(), msg.sendTo(xpub, DONTWAIT | SNDMORE))) {
      forwardRest();
    } else if (cfg.overflowPolicy === "DROP") {
      bump(state, Counter.XpubDrops);
      report("xpub-drop", "xpub: warn: dropped a message due to hwm");
      discardRest();
    } else {
      bump(state, Counter.XpubBlocks);
      [held, msg] = [msg, held];
      blocked = true;
    }
    return true;
  };

  const tryUnblock = () => {
    // Blocking send with SNDTIMEO: libzmq sleeps until the pipe has room, or 10 ms pass.
    if (!held.sendTo(xpub, SNDMORE)) return;
    [held, msg] = [msg, held];
    blocked = false;
    forwardRest();
  };

  const readControl = () => {
    if (!msg.receive(control, DONTWAIT)) return false;
    const tag = msg.byteAt(0);
    const frames = msg.more && msg.receive(control, DONTWAIT) ? msg : undefined;
    if (tag === CTRL_XSUB_UPDATE && frames) xsub.send([frames.bytes()], DONTWAIT);
    else if (tag === CTRL_ABORT) aborted = true;
    return true;
  };

  const readNotice = (): boolean => {
    let size = msg.receiveSize(xpub, DONTWAIT);
    if (size < 0) return false;
    batch.begin(Kind.Notice);
    let parts = 0;
    do {
      if (parts++ === 0) batch.frame(msg, size);
    } while (msg.more && (size = msg.receiveSize(xpub, DONTWAIT)) >= 0);
    const first = parts === 1 && msg.size > 0 ? msg.byteAt(0) : -1;
    if (parts !== 1) {
      batch.rollback();
      bump(state, Counter.MsgErrors);
      report("xpub-parts", `xpub: error: expected 1 part, have ${parts}!`);
    } else if (first !== 0 && first !== 1) batch.rollback(); // not a (un)subscription: ignored, as in Zeek
    else batch.commit();
    return true;
  };

  const readEvent = (): boolean => {
    let size = msg.receiveSize(xsub, DONTWAIT);
    if (size < 0) return false;
    batch.begin(Kind.Event);
    let parts = 0;
    let fromSelf = false;
    for (;;) {
      if (parts < 4) batch.frame(msg, size);
      if (parts === 1) fromSelf = batch.lastFrameEquals(idBytes);
      parts++;
      if (!msg.more || (size = msg.receiveSize(xsub, DONTWAIT)) < 0) break;
    }
    if (parts !== 4) {
      batch.rollback();
      bump(state, Counter.MsgErrors);
      report("xsub-parts", `xsub: error: expected 4 parts, have ${parts}!`);
    } else if (fromSelf) {
      batch.rollback();
    } else if (hwm > 0 && waitingOnMain() >= hwm) {
      batch.rollback();
      bump(state, Counter.OnloopDrops);
      report("onloop-drop", "warn: dropped a message due to onloop queue full");
    } else {
      batch.commit();
    }
    return true;
  };

  // Monitor messages: [u16 event, u32 value] in host byte order, then the endpoint (Zeek's format).
  const readMonitor = (index: number) => {
    const [socket, endpoint] = monitors[index]!;
    const frames = socket.recv(DONTWAIT);
    if (!frames || frames.length !== 2 || frames[0]!.length < 6) return;
    const view = new DataView(frames[0]!.buffer, frames[0]!.byteOffset, 6);
    const [eventId, value] = [view.getUint16(0, true), view.getUint32(2, true)];
    post({ type: "handshake-failed", message: `ZeroMQ: Handshake for socket ${endpoint} failed: event=0x${eventId.toString(16)} value=${value}` });
  };

  const drainSocket = (read: () => boolean) => {
    for (let n = 0; n < limit && read(); n++);
  };

  // One loop turn; anything unexpected is reported and the loop goes on, except the context ending.
  const turn = () => {
    if (blocked) tryUnblock(); // waits up to 10 ms inside libzmq
    // Never drop: with a HWM of 0, stop reading the XSUB while main is this far behind, and libzmq
    // pushes back to the broker; resume once main catches up.
    const pause = hwm === 0 && waitingOnMain() >= cfg.onloopBackpressureAt;
    if (pause !== xsubPaused) poller.setEvents(XSUB, (xsubPaused = pause) ? 0 : POLLIN);
    const ready = poller.wait(blocked || batch.size > 0 ? 0 : xsubPaused ? 1 : -1);
    if (cfg.debug) debug(`poll: ${ready} ready, blocked=${blocked}, paused=${xsubPaused}`);
    if (ready === 0) {
      flush(); // the sockets ran dry: hand the batch over before sleeping
      return;
    }
    if (poller.revents(CONTROL) & POLLIN) drainSocket(readControl);
    if (poller.revents(XPUB) & POLLIN) drainSocket(readNotice);
    if (!xsubPaused && poller.revents(XSUB) & POLLIN) drainSocket(readEvent);
    monitors.forEach((_, i) => poller.revents(MONITORS + i) & POLLIN && readMonitor(i));
    if (!blocked && poller.revents(DATA) & POLLIN) {
      for (let n = 0; n < limit && !blocked && !terminating && readData(); n++);
      if (Atomics.exchange(state.ints, Slot.WantDrain, 0) === 1) post({ type: "drain" });
    }
    if (batch.size >= FLUSH_BYTES || batch.events >= flushEvents) flush();
  };

  for (;;) {
    try {
      if (aborted || (terminating && !blocked)) break;
      turn();
    } catch (err: unknown) {
      if (err instanceof ZmqError && err.errno === ETERM) break;
      bump(state, Counter.MsgErrors);
      report(`io-error-${err instanceof Error ? err.message : ""}`, `io thread: error: ${err instanceof Error ? err.message : String(err)}`);
      batch.rollback();
    }
  }
  try {
    flush();
    if (aborted) {
      // Whatever had not reached the XPUB is lost: count it.
      let lost = blocked ? 1 : 0;
      while (msg.receive(data, DONTWAIT)) {
        if (!msg.more) continue; // the terminate marker
        lost++;
        discardRest();
      }
      if (lost > 0) {
        bump(state, Counter.XpubDrops, lost);
        report("abort-drops", `dropped ${lost} publishes that were still waiting at shutdown`);
      }
    }
  } catch (err: unknown) {
    report("io-failed", `io thread failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  debug(aborted ? "aborted" : "terminating");
  poller.close();
  msg.close();
  held.close();
  for (const [monitor] of monitors) monitor.close();
  xsub.close();
  xpub.close(); // keeps its linger: queued publishes still go out
  ctx.close();
  post({ type: "closed" });
}
